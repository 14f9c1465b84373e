"""SMS keywords that carriers require (CTIA): STOP-type opt-outs, START-type opt-ins and HELP."""

from __future__ import annotations

import re
from typing import Literal

Keyword = Literal["stop", "start", "help"]

# Twilio's and the US/Canadian carriers' standard keyword lists; only a message that
# is exactly the keyword counts ("stop" inside a sentence is a question, not an opt-out).
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "opt out", "revoke"})
START_WORDS = frozenset({"start", "unstop", "subscribe"})
HELP_WORDS = frozenset({"help", "info"})


def keyword(text: str | None) -> Keyword | None:
    """Which SMS keyword the whole message is, if any (case and punctuation ignored)."""
    said = " ".join(re.sub(r"[^\w\s]", " ", (text or "").casefold()).split())
    if said in STOP_WORDS:
        return "stop"
    if said in START_WORDS:
        return "start"
    if said in HELP_WORDS:
        return "help"
    return None
