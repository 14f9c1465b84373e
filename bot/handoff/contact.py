"""Validate the contact a visitor leaves for a clinician callback.

A clinician can only call back if the number or address is usable, so we accept
one phone number or one email address and reject anything else (typos with
letters, two contacts, fragments) instead of storing something unreachable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ContactKind = Literal["phone", "email"]

MAX_EMAIL_LENGTH = 254
_MASK = "\u2022\u2022\u2022"  # "•••"

# Dot-atom local part (no leading, trailing or doubled dots) and a DNS domain
# with an alphabetic TLD: strict enough to catch typos, loose enough for real addresses.
_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_PHONE_CHARS = re.compile(r"[0-9 ().\-]+")
_SEPARATORS = " .-"


@dataclass(frozen=True)
class Contact:
    """A validated contact: ``+<digits>`` / local digits for phones, lowercased domain for emails."""

    kind: ContactKind
    value: str


def parse_contact(text: str) -> Contact | None:
    """Return the single phone number or email address in ``text``, or None if it is not exactly one."""
    text = text.strip().rstrip(".,;").strip()
    if not text:
        return None
    if "@" in text:
        return _parse_email(text)
    return _parse_phone(text)


def _parse_email(text: str) -> Contact | None:
    if len(text) > MAX_EMAIL_LENGTH:
        return None
    match = _EMAIL.fullmatch(text)
    if not match or len(match["local"]) > 64:
        return None
    return Contact("email", f"{match['local']}@{match['domain'].lower()}")


def _parse_phone(text: str) -> Contact | None:
    international = text.startswith(("+", "00"))
    body = text[1:] if text.startswith("+") else text
    # "+44 (0) 20 ..." writes the national trunk prefix that callers from abroad drop.
    if international:
        body = re.sub(r"\s*\(0\)\s*", " ", body, count=1)
    if not _PHONE_CHARS.fullmatch(body) or not _well_formed(body):
        return None
    digits = re.sub(r"\D", "", body)
    if international and text.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:  # "0000000" is filler, not a number
        return None
    if international:
        return Contact("phone", f"+{digits}")
    if len(digits) == 10 and digits[0] in "23456789":
        return Contact("phone", f"+1{digits}")
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":
        return Contact("phone", f"+{digits}")
    return Contact("phone", digits)


def _well_formed(body: str) -> bool:
    """Separators only between digit groups, at most one parenthesised group of digits."""
    if body.count("(") > 1 or body.count("(") != body.count(")"):
        return False
    if "(" in body and not re.search(r"\(\d+\)", body):
        return False
    flat = body.replace("(", "").replace(")", "").strip()
    if not flat or flat[0] in _SEPARATORS or flat[-1] in _SEPARATORS:
        return False
    return not re.search(r"[ .\-]{2,}", flat.replace(" - ", "-"))


def mask(contact: Contact) -> str:
    """Show enough of a contact for a visitor to recognise it without exposing it on screen."""
    if contact.kind == "email":
        local, _, domain = contact.value.partition("@")
        return f"{local[:1]}{_MASK}@{domain}"
    value = contact.value
    last4 = value[-4:]
    if value.startswith("+1") and len(value) == 12:
        return f"+1 {_MASK} {_MASK} {last4}"
    prefix = "+" if value.startswith("+") else ""
    return f"{prefix}{_MASK} {_MASK} {last4}"


MAX_NAME_WORDS = 5
MAX_NAME_LENGTH = 80
# Letters of any script, with the marks names use: "Mary-Jane O'Neil", "Dr. Ng", "José".
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-][^\W\d_]*)*$")
_NOT_NAMES = {
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "ok",
    "okay",
    "sure",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "help",
    "stop",
    "cancel",
    "idk",
    "what",
    "why",
    "me",
    "myself",
    "skip",
}


def looks_like_name(text: str) -> bool:
    """Whether a reply to "What name should the clinician ask for?" is a name.

    Not a sentence, not a phone number or email, not a yes/no: those are answered or asked
    again rather than saved. Symptoms and conditions never get here: the safety screen
    decides those first (actions/handoff.py).
    """
    name = " ".join(text.split())
    words = name.lower().replace(".", " ").split()
    if not name or len(name) > MAX_NAME_LENGTH or not words or len(words) > MAX_NAME_WORDS:
        return False
    if not _NAME.match(name) or all(w in _NOT_NAMES for w in words):
        return False
    return not (len(words) >= 3 and name.endswith("."))
