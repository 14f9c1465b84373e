"""Dry-needling safety assistant: knowledge base, answer composition and clinic settings.

Everything here is pure Python with no Rasa server dependency so that it can be
unit-tested directly; the rasa_sdk actions in ``actions/`` are thin wrappers.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
