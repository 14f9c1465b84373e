"""rasa_sdk custom actions. Each reads the tracker, calls a pure function in ``bot``, and dispatches."""
