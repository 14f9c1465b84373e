"""Dry-needling safety assistant.

Packages by concern and by the process that loads them (README, "Architecture"):
``nlu``, ``safety`` and ``channels`` run in the Rasa server; ``content`` and ``handoff``
in the action server (``actions/`` are thin wrappers over them); ``persistence`` in
both; ``tools`` and the CLIs from the command line. ``config`` is every setting.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
