"""Where data lives: one database-URL resolver, the tracker store, SMS opt-outs, retention."""
