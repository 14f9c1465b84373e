"""What the assistant says: the clinic's documents, the topic map, passage search and replies (action server; pure)."""
