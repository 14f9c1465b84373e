"""What the clinic learns from its conversations: insights (counts and rates) and the questions the assistant could not answer.

Read from the tracker store (Rasa's ``events`` table, SQLite or PostgreSQL) using the reply kinds each
bot reply carries in its custom payload, never by matching texts. Shown in the staff console
(``bot/console/insights.py``, ``bot/console/unanswered.py``).
"""
