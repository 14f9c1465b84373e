"""Parse the clinic's Markdown documents into citable passages.

A passage is one paragraph or one bullet of a section. Its id is built from the
document id, the section heading and the bullet label (or the paragraph's
position), so ids stay stable when the clinic edits text elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_BULLET = re.compile(r"^[-*]\s+(?:\*\*(.+?):\*\*|([^:]{2,60}):)\s+(.*\S)\s*$")
# A sentence ends with . ! or ? followed by whitespace and a capital letter or quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"'])")


def slugify(text: str) -> str:
    """Lowercase ASCII slug used in passage ids."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def split_sentences(text: str) -> tuple[str, ...]:
    """Split clean prose into sentences (the documents have no abbreviations)."""
    return tuple(s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip())


@dataclass(frozen=True)
class Passage:
    """One paragraph or bullet, the unit the assistant quotes and cites."""

    id: str
    document_id: str
    document_title: str
    section_title: str
    label: str | None
    text: str

    @property
    def sentences(self) -> tuple[str, ...]:
        return split_sentences(self.text)

    @property
    def citation(self) -> dict[str, str]:
        return {"document": self.document_title, "section": self.section_title}


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    publisher: str
    passages: tuple[Passage, ...]


def parse_document(markdown: str, fallback_id: str = "doc") -> Document:
    """Turn one Markdown document (with YAML front matter) into passages."""
    meta: dict = {}
    match = _FRONT_MATTER.match(markdown)
    if match:
        meta = yaml.safe_load(match.group(1)) or {}
        markdown = markdown[match.end() :]
    doc_id = str(meta.get("id") or fallback_id)
    title = str(meta.get("title") or doc_id)
    section_title = str(meta.get("lead_section") or "Introduction")
    section_slug = slugify(meta["lead_section"]) if meta.get("lead_section") else "intro"
    passages: list[Passage] = []
    paragraph_no = 0
    used_ids: set[str] = set()

    def add(label: str | None, text: str) -> None:
        nonlocal paragraph_no
        if label:
            local = slugify(label)
        else:
            paragraph_no += 1
            local = f"p{paragraph_no}"
        pid = f"{doc_id}/{section_slug}/{local}"
        if pid in used_ids:
            raise ValueError(f"duplicate passage id {pid!r}: bullet labels must be unique per section")
        used_ids.add(pid)
        passages.append(Passage(pid, doc_id, title, section_title, label, text))

    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            add(None, " ".join(buffer))
            buffer.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            section_title = heading.group(2)
            section_slug = slugify(section_title)
            paragraph_no = 0
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            add((bullet.group(1) or bullet.group(2)).strip(), bullet.group(3))
            continue
        buffer.append(line)
    flush()
    return Document(doc_id, title, str(meta.get("publisher", "")), tuple(passages))


def load_documents(directory: Path) -> list[Document]:
    """Load every ``*.md`` document in a directory, sorted by file name."""
    docs = [parse_document(p.read_text(encoding="utf-8"), p.stem) for p in sorted(directory.glob("*.md"))]
    ids = [d.id for d in docs]
    if len(ids) != len(set(ids)):
        raise ValueError(f"document ids must be unique, got {ids}")
    return docs
