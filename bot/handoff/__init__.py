"""Clinician handoffs: contact validation, the form's replies, the durable store with its outbox, the staff CLI."""
