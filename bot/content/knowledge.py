"""Knowledge base: the clinic's passages, the topic map, and answer composition.

Every sentence the assistant says about dry needling is produced here from a
passage, verbatim or trimmed at sentence boundaries, so a test can prove that
the assistant never says anything the documents do not.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR
from bot.content.documents import Document, Passage, load_documents

MAX_FOCUSED_VALUES = 2  # a question naming many side effects still gets a short answer


@dataclass(frozen=True)
class Item:
    """A reference from the topic map to (part of) a passage."""

    passage_id: str
    sentences: tuple[int, ...] | None = None  # 1-based; None = whole passage
    label_only: bool = False


@dataclass(frozen=True)
class Topic:
    intent: str
    title: str
    items: tuple[Item, ...]
    related: tuple[str, ...]
    seek_help: bool = False  # append when to get emergency care (side effects, risks)


@dataclass(frozen=True)
class FocusedAnswer:
    """Answer for one entity value, e.g. side_effect=bruising."""

    topic: str
    items: tuple[Item, ...] | None


@dataclass(frozen=True)
class Segment:
    passage: Passage
    text: str  # the kept sentences, verbatim
    label_only: bool = False

    def render(self) -> str:
        if self.passage.label:
            return f"• {self.passage.label}" if self.label_only else f"• {self.passage.label}: {self.text}"
        return self.text


@dataclass(frozen=True)
class Answer:
    topic: str
    segments: tuple[Segment, ...]
    related: tuple[str, ...] = field(default=())

    @property
    def sources(self) -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []
        for seg in self.segments:
            if seg.passage.citation not in seen:
                seen.append(seg.passage.citation)
        return seen

    @property
    def body(self) -> str:
        out = ""
        for i, seg in enumerate(self.segments):
            if i:
                both_bullets = seg.passage.label and self.segments[i - 1].passage.label
                out += "\n" if both_bullets else "\n\n"
            out += seg.render()
        return out

    @property
    def payload(self) -> dict:
        return {"topic": self.topic, "passages": list(dict.fromkeys(seg.passage.id for seg in self.segments)), "sources": self.sources}


def _parse_items(raw: list, where: str) -> tuple[Item, ...]:
    items = []
    for entry in raw or []:
        if isinstance(entry, str):
            items.append(Item(entry))
        elif isinstance(entry, dict) and "passage" in entry:
            sentences = entry.get("sentences")
            items.append(
                Item(
                    str(entry["passage"]),
                    tuple(int(n) for n in sentences) if sentences else None,
                    bool(entry.get("label_only", False)),
                )
            )
        else:
            raise ValueError(f"{where}: cannot read answer item {entry!r}")
    return tuple(items)


class KnowledgeBase:
    """Passages plus the topic map; composes answers for intents and entities."""

    def __init__(self, documents: list[Document], topic_map: dict) -> None:
        self.documents = documents
        self.passages: dict[str, Passage] = {p.id: p for d in documents for p in d.passages}
        self.topics: dict[str, Topic] = {}
        for intent, spec in (topic_map.get("topics") or {}).items():
            self.topics[intent] = Topic(
                intent,
                str(spec["title"]),
                _parse_items(spec.get("answer"), intent),
                tuple(spec.get("related") or ()),
                bool(spec.get("seek_help", False)),
            )
        self.focused: dict[tuple[str, str], FocusedAnswer] = {}
        for entity, values in (topic_map.get("entities") or {}).items():
            for value, spec in (values or {}).items():
                items = _parse_items(spec["answer"], f"{entity}={value}") if spec.get("answer") else None
                self.focused[(entity, str(value))] = FocusedAnswer(str(spec["topic"]), items)
        errors = self.check()
        if errors:
            raise ValueError("topic map is invalid:\n  " + "\n  ".join(errors))

    # -- validation ---------------------------------------------------------
    def check(self) -> list[str]:
        """Every reference must point at an existing passage, sentence and topic."""
        errors: list[str] = []

        def check_items(items: tuple[Item, ...], where: str) -> None:
            for item in items:
                passage = self.passages.get(item.passage_id)
                if passage is None:
                    errors.append(f"{where}: unknown passage {item.passage_id!r}")
                    continue
                for n in item.sentences or ():
                    if not 1 <= n <= len(passage.sentences):
                        errors.append(f"{where}: {item.passage_id} has no sentence {n}")
                if item.label_only and not passage.label:
                    errors.append(f"{where}: label_only on {item.passage_id}, which has no label")

        for topic in self.topics.values():
            if not topic.items:
                errors.append(f"{topic.intent}: empty answer")
            check_items(topic.items, topic.intent)
            errors += [f"{topic.intent}: related intent {r!r} is not a topic" for r in topic.related if r not in self.topics]
        for (entity, value), focused in self.focused.items():
            if focused.topic not in self.topics:
                errors.append(f"{entity}={value}: topic {focused.topic!r} is not a topic")
            check_items(focused.items or (), f"{entity}={value}")
        return errors

    # -- composition --------------------------------------------------------
    def title(self, intent: str) -> str:
        return self.topics[intent].title

    def topics_of_passage(self, passage_id: str) -> list[str]:
        return [t.intent for t in self.topics.values() if any(i.passage_id == passage_id for i in t.items)]

    def segments(self, items: tuple[Item, ...]) -> tuple[Segment, ...]:
        """Resolve items into segments, merging repeats and dropping repeated sentences."""
        merged: dict[str, Item] = {}
        for item in items:
            prev = merged.get(item.passage_id)
            if prev is None:
                merged[item.passage_id] = item
            elif prev.sentences is not None:
                union = None if item.sentences is None else tuple(sorted(set(prev.sentences) | set(item.sentences)))
                merged[item.passage_id] = Item(item.passage_id, union, prev.label_only and item.label_only)
        out: list[Segment] = []
        said: set[str] = set()
        for item in merged.values():
            passage = self.passages[item.passage_id]
            numbers = item.sentences or range(1, len(passage.sentences) + 1)
            kept = [passage.sentences[n - 1] for n in numbers if passage.sentences[n - 1] not in said]
            said.update(kept)
            if item.label_only:
                out.append(Segment(passage, "", True))
            elif kept:
                out.append(Segment(passage, " ".join(kept)))
        return tuple(out)

    def answer(self, intent: str, entities: list[tuple[str, str]] | None = None) -> Answer | None:
        """Answer a knowledge intent, focused on the named side effects or groups if any.

        Returns None when the intent is not a knowledge topic.
        """
        focused = [self.focused[e] for e in dict.fromkeys(entities or []) if e in self.focused][:MAX_FOCUSED_VALUES]
        if focused:
            topic = self.topics[focused[0].topic]
            items: tuple[Item, ...] = ()
            for f in focused:
                items += f.items if f.items is not None else self.topics[f.topic].items
            related = tuple(dict.fromkeys((topic.intent, *topic.related)))[:3]
            return Answer(topic.intent, self.segments(items), related)
        asked = self.topics.get(intent)
        if asked is None:
            return None
        return Answer(asked.intent, self.segments(asked.items), asked.related)

    def passage_answer(self, passage_id: str) -> Answer:
        """Answer with one whole passage (used by document search)."""
        topics = self.topics_of_passage(passage_id)
        topic = topics[0] if topics else "document_search"
        related = tuple(dict.fromkeys(topics + [r for t in topics for r in self.topics[t].related]))[:3]
        return Answer(topic, self.segments((Item(passage_id),)), related)


def load_knowledge_base(data_dir: Path = DATA_DIR) -> KnowledgeBase:
    topic_map = yaml.safe_load((data_dir / "topics.yml").read_text(encoding="utf-8")) or {}
    return KnowledgeBase(load_documents(data_dir / "documents"), topic_map)


@lru_cache(maxsize=1)
def get_knowledge_base() -> KnowledgeBase:
    """Process-wide knowledge base, loaded once when the action server starts."""
    return load_knowledge_base()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inspect and check the knowledge base.")
    parser.add_argument("--passages", action="store_true", help="list passage ids")
    parser.add_argument("--answer", metavar="INTENT", help="print the answer for an intent")
    parser.add_argument("--check", action="store_true", help="validate documents and topic map")
    args = parser.parse_args(argv)
    try:
        kb = load_knowledge_base()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.passages:
        for pid, passage in kb.passages.items():
            print(f"{pid}  ({len(passage.sentences)} sentences)")
    if args.answer:
        answer = kb.answer(args.answer)
        print(answer.body if answer else f"{args.answer} is not a knowledge topic")
    if args.check:
        print(f"OK: {len(kb.passages)} passages, {len(kb.topics)} topics, {len(kb.focused)} focused answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
