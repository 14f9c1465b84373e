"""Replies for channels without buttons (SMS, WhatsApp): numbered options, splitting, choosing.

Pure functions, so the channel connectors stay thin and every rule here is unit-tested.
"""

from __future__ import annotations

import re
import unicodedata

from bot.content.messages import message

Button = dict[str, str]

_NUMBER = re.compile(r"^\s*(?:option\s*|number\s*|no\.?\s*|#\s*)?(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# Characters outside the GSM-7 alphabet force a whole SMS into UCS-2 (70 instead of
# 160 characters per segment); the documents use typographic quotes and dashes.
_GSM_REPLACEMENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
    "\u00b7": "-",
}


def options_block(buttons: list[Button]) -> str:
    """The buttons as a numbered list the visitor can answer with a number."""
    if not buttons:
        return ""
    lines = [f"{n}. {b['title']}" for n, b in enumerate(buttons, start=1)]
    return message("numbered_options") + "\n" + "\n".join(lines)


def numbered(text: str, buttons: list[Button]) -> str:
    """The text followed by its numbered options."""
    block = options_block(buttons)
    return f"{text}\n\n{block}" if block and text else (block or text)


def plain_parts(text: str, buttons: list[Button], limit: int) -> list[str]:
    """Messages of at most ``limit`` characters; the numbered options stay together in the last one."""
    parts = split_message(text, limit)
    block = options_block(buttons)
    if not block:
        return parts
    if parts and len(parts[-1]) + 2 + len(block) <= limit:
        parts[-1] = f"{parts[-1]}\n\n{block}"
        return parts
    return parts + split_message(block, limit)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def resolve_choice(text: str, buttons: list[Button]) -> str | None:
    """The payload of the option a reply picks: its number ("2", "2.", "option 2") or its title's words."""
    if not buttons or not text:
        return None
    number = _NUMBER.match(text)
    if number:
        index = int(number.group(1))
        return buttons[index - 1]["payload"] if 1 <= index <= len(buttons) else None
    said = _normalise(text)
    for button in buttons:
        if said and said == _normalise(button["title"]):
            return button["payload"]
    return None


def split_message(text: str, limit: int) -> list[str]:
    """Split into parts of at most ``limit`` characters at paragraph, line, sentence or word breaks."""
    if limit < 20:
        raise ValueError("limit must be at least 20 characters")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for piece, joiner in _pieces(text, limit):
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[tuple[str, str]]:
    """Pieces no longer than ``limit``, each with the separator that joined it to the one before."""
    out: list[tuple[str, str]] = []
    for paragraph in text.split("\n\n"):
        for line_no, line in enumerate(paragraph.split("\n")):
            for chunk_no, chunk in enumerate(_fit(line, limit)):
                if not out:
                    joiner = ""
                elif chunk_no:
                    joiner = " "
                else:
                    joiner = "\n" if line_no else "\n\n"
                out.append((chunk, joiner))
    return out


def _fit(line: str, limit: int) -> list[str]:
    """A line as sentences, and over-long sentences as word runs, each within ``limit``."""
    if len(line) <= limit:
        return [line]
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(line):
        if len(sentence) <= limit:
            chunks.append(sentence)
            continue
        words, current = sentence.split(" "), ""
        for word in words:
            while len(word) > limit:  # a "word" longer than a message (a URL): cut it
                if current:
                    chunks.append(current)
                    current = ""
                chunks.append(word[:limit])
                word = word[limit:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = word
        if current:
            chunks.append(current)
    return chunks


def sms_safe(text: str) -> str:
    """Replace typographic characters with GSM-7 ones so an SMS isn't sent as costly UCS-2."""
    return "".join(_GSM_REPLACEMENTS.get(ch, ch) for ch in text)


def source_line(sources: list[dict[str, str]]) -> str:
    """The answer's sources as one short line, for channels that cannot show citations."""
    cites = "; ".join(f"{s.get('document', '')} – {s.get('section', '')}" for s in sources)
    return ("Sources: " if len(sources) > 1 else "Source: ") + cites if sources else ""


def text_with_sources(message: dict) -> str:
    """A reply's text with its sources (sent as data, in ``custom``) added as the last line."""
    text = message.get("text") or ""
    custom = message.get("custom")
    sources = [s for s in custom.get("sources") or [] if isinstance(s, dict)] if isinstance(custom, dict) else []
    line = source_line(sources)
    return f"{text}\n\n{line}" if text and line else text
