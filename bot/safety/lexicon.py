"""The condition and red-flag lexicons in ``data/lexicon/`` (plain data, no NLP)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR

LEXICON = DATA_DIR / "lexicon" / "conditions.yml"
RED_FLAGS = DATA_DIR / "lexicon" / "red_flags.yml"
CONTEXT = DATA_DIR / "lexicon" / "context.yml"
HARMLESS = DATA_DIR / "lexicon" / "harmless.yml"


@dataclass(frozen=True)
class ConditionGroup:
    """A lexicon group: a condition to disclose, or a red-flag symptom (kind)."""

    key: str
    label: str
    covered: bool
    answer: tuple[str, str] | None
    terms: tuple[str, ...]
    patient_even_if_family: bool = False
    max_child_age: int | None = None
    kind: str = "condition"  # or "red_flag"
    chronic: bool = False  # a past date does not make it historical, only a resolution cue
    near: tuple[Near, ...] = ()  # word pairs a few words apart ("scared stiff of the needles")
    explained_by: tuple[str, ...] = ()  # red flags: conditions that explain the symptom (numb feet from neuropathy)
    softened_by: tuple[str, ...] = ()  # red flags: conditions that may explain the symptom; the learned reading alone asks instead
    systemic: tuple[str, ...] = ()  # red flags: words of a whole-body sign no local condition explains ("fever")
    chronic_as: str | None = None  # red flags: the condition months or years of the symptom are (numb for years: neurological)
    habitual_as: str | None = None  # red flags: the condition the symptom is when it happens every time at needles (needle phobia)
    habitual_needs_fear: bool = False  # ...only with a fear word ("scared", "panic"): "every time I breathe in" is no habit
    dated_by_message: bool = False  # a distant date or a past cue anywhere in the message makes it history
    patterns: tuple[tuple[dict, ...], ...] = ()  # spaCy token patterns for phrasings with numbers ("I'm 9 weeks", "in year 2")
    patterns_not_followed_by: frozenset[str] = frozenset()  # a pattern match followed by one of these is not a mention
    not_read_in: re.Pattern[str] | None = None  # a sentence the learned reader must not read as this group ("my baby is 3 months")
    site_specific: bool = False  # matters only where the needles go: the same condition elsewhere on the body is not a disclosure


@dataclass(frozen=True)
class Near:
    """A mention made of one word from ``first`` and one from ``second``, at most ``within`` words apart, either order."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    within: int = 3


def load_groups(path: Path = LEXICON, kind: str = "condition") -> dict[str, ConditionGroup]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    groups = {}
    for key, spec in raw.items():
        answer = (str(spec["answer"][0]), str(spec["answer"][1])) if spec.get("answer") else None
        groups[key] = ConditionGroup(
            key=key,
            label=str(spec["label"]),
            covered=bool(spec.get("covered")),
            answer=answer,
            terms=tuple(str(t).lower() for t in spec.get("terms") or ()),
            patient_even_if_family=bool(spec.get("patient_even_if_family")),
            max_child_age=spec.get("max_child_age"),
            chronic=bool(spec.get("chronic")),
            near=tuple(
                Near(tuple(str(w).lower() for w in n["first"]), tuple(str(w).lower() for w in n["second"]), int(n.get("within", 3)))
                for n in spec.get("near") or ()
            ),
            kind=kind,
            explained_by=tuple(str(c) for c in spec.get("explained_by") or ()),
            softened_by=tuple(str(c) for c in spec.get("softened_by") or ()),
            systemic=tuple(str(w).lower() for w in spec.get("systemic") or ()),
            chronic_as=spec.get("chronic_as"),
            habitual_as=spec.get("habitual_as"),
            habitual_needs_fear=bool(spec.get("habitual_needs_fear")),
            dated_by_message=bool(spec.get("dated_by_message")),
            patterns_not_followed_by=frozenset(str(w).lower() for w in spec.get("patterns_not_followed_by") or ()),
            patterns=tuple(tuple(dict(token) for token in pattern) for pattern in spec.get("patterns") or ()),
            site_specific=bool(spec.get("site_specific")),
            not_read_in=re.compile(str(spec["not_read_in"])) if spec.get("not_read_in") else None,
        )
    return groups


@lru_cache(maxsize=1)
def all_groups() -> dict[str, ConditionGroup]:
    """Conditions and red flags by key (for labels and answers in replies)."""
    return {**load_groups(), **load_groups(RED_FLAGS, kind="red_flag")}


@lru_cache(maxsize=1)
def question_words(path: Path = CONTEXT) -> frozenset[str]:
    """Words that open a question (data/lexicon/context.yml), for the detector and the handoff form."""
    return frozenset(str(w).lower() for w in yaml.safe_load(path.read_text(encoding="utf-8"))["question_words"])


@lru_cache(maxsize=1)
def stop_words(path: Path = CONTEXT) -> tuple[str, ...]:
    """Phrases that end the handoff form (data/lexicon/context.yml)."""
    return tuple(str(w).lower() for w in yaml.safe_load(path.read_text(encoding="utf-8"))["stop_words"])
