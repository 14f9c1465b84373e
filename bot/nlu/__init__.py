"""Rasa NLU plugins loaded by the Rasa server: text cleaning and the spaCy pipeline builder."""
