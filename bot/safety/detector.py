"""Detect conditions a visitor discloses, and whether the disclosure is about them, now.

Target rules come from ``data/lexicon/conditions.yml`` and ConText cues from
``data/lexicon/context.yml`` (on top of medspaCy's defaults). Each mention gets a
role: ``patient`` (affirmed, about the visitor or the patient they speak for, now),
``negated``, ``other_person``, ``hypothetical`` or ``historical``. Only ``patient``
mentions lead to a clinician handoff.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import spacy
import yaml
from loguru import logger as _loguru

from bot.nlu.spacy_pipeline import DEFAULT_PATH as SPACY_PATH
from bot.safety.lexicon import CONTEXT, HARMLESS, RED_FLAGS, ConditionGroup, Near, load_groups, question_words
from bot.safety.spelling import Speller, load_common_words

_loguru.disable("PyRuSH")  # it logs every sentence's tokens at DEBUG: patient text must not reach logs
_loguru.disable("medspacy")

import medspacy  # noqa: E402,F401  (registers the medspaCy pipeline factories)
from medspacy.context import ConTextRule  # noqa: E402
from medspacy.ner import TargetRule  # noqa: E402

ROLES = ("patient", "negated", "other_person", "hypothetical", "historical")
_CATEGORY = {
    "negated": "NEGATED_EXISTENCE",
    "other_person": "FAMILY",
    "hypothetical": "HYPOTHETICAL",
    "historical": "HISTORICAL",
    "resolved": "RESOLVED",
    "generic": "GENERIC",
    "current": "CURRENT",
    "proxy": "PROXY",
    "occupation": "OCCUPATION",
}
_DIRECTION = {"forward": "FORWARD", "backward": "BACKWARD", "bidirectional": "BIDIRECTIONAL"}
# Besides the question words: openers of a question without its verb ("any risks if...", "safe with...").
_QUESTION_OPENERS_EXTRA = {"any", "safe"}
# An auxiliary opening a sentence asks, whatever follows ("do blood thinners matter?"); "can"/"could" do not
# always ("can barely talk"), so they need a subject after them (_QUESTION_SUBJECTS).
_AUXILIARIES = {"do", "does", "did", "is", "are", "should", "would", "will"}
_QUESTION_SUBJECTS = {
    "i",
    "you",
    "u",
    "he",
    "she",
    "it",
    "we",
    "they",
    "dry",
    "needling",
    "this",
    "that",
    "the",
    "a",
    "an",
    "my",
    "your",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "people",
    "there",
    "if",
    "about",
    "to",
    "do",
    "does",
    "is",
    "are",
    "can",
    "should",
    "would",
    "happens",
    "kind",
    "sort",
    "type",
    "age",
}
_FRAGMENT_OPENERS = {
    "on",
    "currently",
    "also",
    "just",
    "still",
    "been",
    "taking",
    "hi",
    "hey",
    "hello",
    "ok",
    "so",
    "well",
    "and",
    "but",
    "btw",
    "fyi",
    "have",
    "got",
}
# Units after a number that is not a child's age ("she's 5 months pregnant", "he's 6 foot").
_NOT_A_CHILD_AGE = "weeks week months month days day hours minutes feet foot ft kg kgs lbs stone pounds percent % am pm times".split()
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve".split()


@dataclass(frozen=True)
class Mention:
    group: str
    text: str
    start: int
    end: int
    role: str
    source: str = "lexicon"  # or "learned": a sentence the condition-topic detector read (bot/safety/condition_topics.py)


# A message and the character spans of its sentences in, for each sentence its most likely condition group (None:
# none, or not surely): the learned reader's answer.
TopicReader = Callable[[str, list[tuple[int, int]]], Sequence[str | None]]


def _age_patterns(max_age: int) -> list[list[dict]]:
    """Token patterns for a young child: "my 6 year old", "my son is 8", "my daughter (7)"."""
    ages = [str(n) for n in range(1, max_age + 1)] + _NUMBER_WORDS[:max_age]
    ages += [f"{n}yo" for n in range(1, max_age + 1)] + [f"{n}y" for n in range(1, max_age + 1)]
    relatives = [
        "son",
        "daughter",
        "kid",
        "child",
        "boy",
        "girl",
        "little",
        "youngest",
        "oldest",
        "grandson",
        "granddaughter",
        "nephew",
        "niece",
        "twins",
        "stepson",
        "stepdaughter",
        "anak",
        "pamangkin",
        "apo",
        "pickney",
        "kiddo",
        "bub",
        "bubba",
        "munchkin",
        "bairn",
        "wean",
    ]
    age = {"LOWER": {"IN": ages}}
    year = {"LOWER": {"IN": ["year", "years", "yr", "yrs", "yo", "y", "month", "months"]}, "OP": "?"}
    pronoun = {"LOWER": {"IN": ["she's", "he's", "shes", "hes", "she", "he"]}}
    hyphen = {"LOWER": "-", "OP": "?"}
    # "he's 5", "she is only 4 years old": not "she's 5 months pregnant" or "he's 6 foot".
    age_only: list[dict] = [
        {"LOWER": {"IN": ["he", "she", "they", "i", "im"]}},
        {"LOWER": {"IN": ["'s", "’s", "s", "is", "are", "'re", "’re", "'m", "’m", "am", "m"]}, "OP": "?"},
        {"LOWER": {"IN": ["only", "just", "turned", "turn", "turns", "turning"]}, "OP": "?"},
        {"LOWER": {"IN": ["turned", "turning"]}, "OP": "?"},  # "she's just turned 10"
        age,
    ]
    # "kiddo is 8", "bub is 18 months" (a baby: ``_a_baby``), without "my"
    nickname: list[dict] = [
        {"LOWER": {"IN": ["kiddo", "kid", "bub", "bubba", "munchkin", "bairn", "wean"]}},
        {"LOWER": {"IN": ["is", "'s", "’s", "s"]}},
        {"LOWER": {"IN": ["only", "just", "nearly", "almost"]}, "OP": "?"},
        age,
    ]
    return [
        nickname,
        age_only,
        [{"LOWER": {"IN": ["aged", "age"]}}, age],
        [{"LOWER": {"IN": ["tiene", "tem"]}}, age, {"LOWER": {"IN": ["años", "anos", "anos", "year", "years"]}}],  # "mi hijo tiene 9 años"
        # "do you treat 5 yr olds?", "for 6 year olds" (not "my tattoo is 8 years old")
        [age, {"LOWER": {"IN": ["year", "years", "yr", "yrs"]}}, {"LOWER": "olds"}],
        # "our 8 year old", "for a 6 year old", "a 9-year-old"
        [
            {"LOWER": {"IN": ["our", "a", "an"]}},
            age,
            hyphen,
            {"LOWER": {"IN": ["year", "years", "yr", "yrs", "y"]}},
            {"LOWER": {"IN": ["old", "-"]}},
        ],
        [{"LOWER": "my"}, age, hyphen, year, {"LOWER": {"IN": ["old", "-"]}, "OP": "?"}],
        # "do you needle kids? mine is 10": the visitor's own child
        [
            {"LOWER": {"IN": ["mine", "ours"]}},
            {"LOWER": {"IN": ["is", "'s", "’s", "s", "are"]}},
            {"LOWER": {"IN": ["only", "just", "turned", "nearly", "almost"]}, "OP": "?"},
            age,
        ],
        [{"LOWER": "my"}, {"LOWER": {"IN": relatives}}, {"IS_PUNCT": True, "OP": "?"}, pronoun, {"LOWER": "is", "OP": "?"}, age],
        # "for my pamangkin po, 7 years old", "(6 yrs old)": an age set off after the person it describes
        [{"IS_PUNCT": True}, age, {"LOWER": {"IN": ["year", "years", "yr", "yrs"]}}, {"LOWER": "old"}],
        # "primary 3" (Scotland, Ireland: the school year of a child of about 7)
        [
            {"LOWER": {"NOT_IN": ["my", "the", "our", "a", "your"]}},
            {"LOWER": "primary"},
            {"LOWER": {"IN": ["1", "2", "3", "4", "5", "6", "7"]}},
        ],
        [
            {"LOWER": {"IN": ["my", "mi", "our", "the"]}},
            {"LOWER": {"IN": ["baby", "little", "lil", "wee", "youngest", "eldest", "middle", "foster", "adopted", "step"]}, "OP": "?"},
            {"LOWER": {"IN": relatives}},
            {"LOWER": {"IN": ["is", "who", "'s", "(", ",", "has", "have", "having", "are"]}, "OP": "?"},
            {"LOWER": {"IN": ["is", "just", "only", "turned", "turning", "nearly", "almost"]}, "OP": "?"},
            age,
        ],
    ]


_TREATMENT_WORDS = ["needling", "needled", "needlings"]


def _near_patterns(near: Near) -> list[list[dict]]:
    """Token patterns for a word of each list with up to ``within`` words between them, in either order,
    on the words as written (NORM: the speller's corrections) and on their lemmas ("passes", "blacked", "jabs")."""
    gap: list[dict] = [{"TEXT": {"NOT_IN": [".", "?", "!"]}, "OP": "?"}] * near.within  # within one sentence
    patterns = []
    # On LEMMA the listed words are the base forms: "passes", "fainted" match "pass", "faint"; "bigger" (lemma "big")
    # matches only if "big" itself is listed.
    for attr, first_words, second_words in (("NORM", near.first, near.second), ("LEMMA", near.first, near.second)):
        # The treatment itself ("needling", "needled": lemma "needle") is not a needle word of a phobia.
        # "a bit yellow": "bit" (lemma "bite") as in "a bit" is not a bite.
        not_words = _TREATMENT_WORDS + (["bit"] if attr == "LEMMA" else [])
        first: dict = {attr: {"IN": sorted(first_words)}, "LOWER": {"NOT_IN": not_words}}
        second: dict = {attr: {"IN": sorted(second_words)}, "LOWER": {"NOT_IN": not_words}}
        patterns += [[first, *gap, second], [second, *gap, first]]
    return patterns


def _with_other_persons(group) -> list[str]:
    """A red flag's terms, and those said with "my" also with "his", "her", "their", "your" ("can't catch his breath"):
    an emergency is an emergency, whoever has it."""
    terms = list(group.terms)
    if group.kind != "red_flag":
        return terms
    known = set(terms)
    for term in group.terms:
        if re.search(r"\bmy\b", term):
            for pronoun in ("his", "her", "their", "your"):
                variant = re.sub(r"\bmy\b", pronoun, term)
                if variant not in known:
                    known.add(variant)
                    terms.append(variant)
    return terms


def _phrases(words) -> re.Pattern[str]:
    """A whole-word regex for any of the phrases (apostrophes: straight or curly)."""
    alternatives = sorted((re.escape(str(w).lower()).replace("'", "['’]?") for w in words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b") if alternatives else re.compile(r"(?!x)x")


def _phrases_or_pattern(words, pattern: str | None) -> re.Pattern[str]:
    """The phrases, or a regex for the phrasings a list cannot hold ("since the glute needling", "20+ min now")."""
    phrases = _phrases(words)
    return re.compile(f"{phrases.pattern}|{pattern}") if pattern else phrases


def _context_rules(path: Path = CONTEXT) -> tuple[list[ConTextRule], set[str]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules: list[ConTextRule] = []
    # One rule per cue, category and groups: a cue listed both before and after a mention ("stopped taking warfarin",
    # "the bleeding stopped") reaches both ways; two rules would leave medspaCy to keep one of them, by their order.
    specs: dict[tuple[str, str, frozenset[str]], tuple[str, int | None]] = {}
    for role, category in _CATEGORY.items():
        for entry in raw.get(role) or []:
            cues = entry["cue"] if isinstance(entry["cue"], list) else [entry["cue"]]
            # A cue for some groups only (``only``): habitual occasions ("at blood tests") and needle phobia.
            only = frozenset(str(k).upper() for k in entry.get("only") or ())
            direction, scope = _DIRECTION[entry.get("direction", "forward")], entry.get("scope")
            for cue in cues:
                key = (str(cue), category, only)
                if key in specs and specs[key][0] != direction:
                    other_scope = specs[key][1]
                    scope = None if scope is None or other_scope is None else max(scope, other_scope)
                    specs[key] = ("BIDIRECTIONAL", scope)
                elif key not in specs:
                    specs[key] = (direction, scope)
    for (cue, category, only), (direction, scope) in specs.items():
        rules.append(ConTextRule(cue, category, direction=direction, max_scope=scope, allowed_types=set(only) or None))
    # "my partners on humira", "my brothers chemo": a person word with an "s" for the missing apostrophe.
    literals = {rule.literal.lower() for rule in rules}
    for entry in raw.get("other_person") or []:
        for cue in entry["cue"]:
            word = str(cue).lower()
            if " " not in word and not word.endswith("s") and word + "s" not in literals:
                rules.append(
                    ConTextRule(word + "s", "FAMILY", direction=_DIRECTION[entry.get("direction", "forward")], max_scope=entry.get("scope"))
                )
    for cue in raw.get("pseudo") or []:
        rules.append(ConTextRule(str(cue), "PSEUDO", direction="PSEUDO"))
    # "I can't lie flat without getting breathless": "without" after "can't" says it happens, not that it does not.
    cannot = [
        {"LOWER": {"IN": ["ca", "can", "could", "cant", "cannot", "couldnt"]}},
        {"LOWER": {"IN": ["n't", "not", "’t"]}, "OP": "?"},
        {"IS_ALPHA": True, "OP": "?"},
        {"IS_ALPHA": True, "OP": "?"},
        {"IS_ALPHA": True, "OP": "?"},
        {"LOWER": "without"},
    ]
    rules.append(ConTextRule("can't ... without", "PSEUDO", direction="PSEUDO", pattern=cannot))
    for cue in raw.get("terminate") or []:
        rules.append(ConTextRule(str(cue), "TERMINATE", direction="TERMINATE"))
    # "I'm an oncology nurse": "a/an", at most one word, an occupation; what follows is about the people they work with.
    nouns = [str(w).lower() for w in raw.get("occupation_nouns") or []]
    if nouns:
        pattern = [{"LOWER": {"IN": ["a", "an"]}}, {"IS_ALPHA": True, "OP": "?"}, {"LOWER": {"IN": nouns}}]
        rules.append(ConTextRule("a/an + occupation", "OCCUPATION", direction="FORWARD", max_scope=6, pattern=pattern))
    # "when I was 7": a stage of life that is over. "Anticoagulants, no." / "pregnant - nope": an answer that negates.
    age = {"LIKE_NUM": True}
    # "am I pregnant? I am not.", "blood thinners - I'm not.": an answer that negates what it follows.
    rules.append(
        ConTextRule(
            "i am not.",
            "NEGATED_EXISTENCE",
            direction="BACKWARD",
            max_scope=8,
            pattern=[
                {"LOWER": {"IN": ["i", "im", "i'm", "i’m"]}},
                {"LOWER": {"IN": ["am", "'m", "’m", "m"]}, "OP": "?"},
                {"LOWER": "not"},
                {"IS_PUNCT": True},
            ],
        )
    )
    rules.append(
        ConTextRule(
            "when i was <age>",
            "RESOLVED",
            direction="BIDIRECTIONAL",
            max_scope=10,
            pattern=[{"LOWER": "when"}, {"LOWER": {"IN": ["i", "she", "he"]}}, {"LOWER": "was"}, age],
        )
    )
    # "just finished round 4 of 6 of chemo", "week 3 of 5 of radiotherapy": a course still under way.
    rules.append(
        ConTextRule(
            "<n> of <m>",
            "CURRENT",
            direction="BIDIRECTIONAL",
            max_scope=8,
            pattern=[
                {"LOWER": {"IN": ["round", "rounds", "cycle", "cycles", "course", "week", "infusion", "dose", "session"]}},
                age,
                {"LOWER": {"IN": ["of", "out", "/"]}},
                {"LOWER": "of", "OP": "?"},
                age,
            ],
        )
    )
    rules.append(
        ConTextRule(
            "no + full stop",
            "NEGATED_EXISTENCE",
            direction="BACKWARD",
            max_scope=3,
            pattern=[{"LOWER": {"IN": ["no", "nope", "nah", "never"]}}, {"IS_PUNCT": True}],
        )
    )
    # "booking for my knee": booking for a body part is booking for oneself, not for another person.
    body = [str(w).lower() for w in raw.get("body_parts") or []]
    if body:
        rules.append(
            ConTextRule(
                "booking for my <body part>",
                "PSEUDO",
                direction="PSEUDO",
                pattern=[
                    {"LOWER": {"IN": ["booking", "book", "booked", "appointment"]}},
                    {"LOWER": "for"},
                    {"LOWER": {"IN": ["my", "the", "a"]}},
                    {"IS_ALPHA": True, "OP": "?"},
                    {"LOWER": {"IN": body + [b + "s" for b in body]}},
                ],
            )
        )
    # "book my mum in", "bringing our son", "booked in my dad": a booking verb, then a family word.
    family = sorted(family_words(raw))
    verbs = [str(v).lower() for v in raw.get("proxy_verbs") or []]
    if family and verbs:
        pattern = [
            {"LOWER": {"IN": verbs}},
            {"LOWER": "in", "OP": "?"},
            {"LOWER": {"IN": ["my", "our"]}},
            {"LOWER": {"IN": _PERSON_ADJECTIVES}, "OP": "?"},  # "booking in my teenage son"
            {"LOWER": {"IN": family}},
        ]
        rules.append(ConTextRule("booking verb + family member", "PROXY", direction="BIDIRECTIONAL", max_scope=30, pattern=pattern))
        # "for my wife: she takes methotrexate", "re my dad - he's on warfarin": a heading naming the patient.
        heading = [
            {"LOWER": {"IN": ["for", "re"]}},
            {"LOWER": {"IN": ["my", "our"]}},
            {"LOWER": {"IN": family}},
            {"TEXT": {"IN": [":", "-", "–"]}},
        ]
        rules.append(ConTextRule("for my <family member>:", "PROXY", direction="BIDIRECTIONAL", max_scope=30, pattern=heading))
    return rules, {str(w).lower() for w in raw.get("first_person") or []}


_PERSON_ADJECTIVES = [
    "teenage",
    "teen",
    "little",
    "young",
    "younger",
    "elderly",
    "old",
    "youngest",
    "eldest",
    "oldest",
    "foster",
    "adult",
    "grown",
    "step",
    "wee",
    "lil",
]


def family_words(raw: dict) -> frozenset[str]:
    """The one-word other-person cues of context.yml ("mum", "daughter", "partner")."""
    return frozenset(str(w).lower() for entry in raw.get("other_person") or [] for w in entry["cue"] if " " not in str(w))


def _cues(doc) -> list:
    """The cues that modify: medspaCy also lists its terminators ("but", "still", "because", "since") as modifiers with
    a category (NEGATED_EXISTENCE, HYPOTHETICAL), which would read "still peeling" as a negation."""
    return [m for m in doc._.context_graph.modifiers if m.direction not in ("TERMINATE", "PSEUDO")]


def _books_for_someone(doc) -> bool:
    return any(m.category == "PROXY" for m in _cues(doc))


SOMEONE = "someone"  # booked for a person the message does not name
_BOOKING_WORDS = (
    "booking",
    "booked",
    "book",
    "writing",
    "asking",
    "messaging",
    "enquiring",
    "bringing",
    "contacting",
    "looking",
    "wondering",
    "hoping",
)

_RESOLVED_SUBJECTS = {"it", "it's", "its", "that", "that's", "this", "they", "they're", "those", "all", "everything", "which", "'s",
    "has", "have", "had", "is", "was", "were", "been", "now", "totally", "completely", "fully", "long", "since", "then", "i",
    "i've", "'ve", "ive", "got", "are", "be"}  # fmt: skip


def _own_state_after(span, modifier) -> bool:
    """Between an occupation cue and the mention, "and" starts the visitor's own state ("and 20 weeks", "and I'm")."""
    doc = span.doc
    for token in doc[modifier.modifier_span[1] : span.start]:
        if token.lower_ == "and" and token.i + 1 < len(doc) and span.start - token.i <= 4:
            following = doc[token.i + 1]
            if following.like_num or following.lower_ in ("i", "im", "i'm", "i’m", "currently", "also", "now", "recently"):
                return True
    return False


def _own_clinician(span, modifier) -> bool:
    """ "my lymphoedema therapist", "her diabetes nurse": the patient's own clinician for the condition, not a job."""
    return modifier.modifier_span[0] >= span.end and span.start > 0 and span.doc[span.start - 1].lower_ in ("my", "her", "his", "our")


def _own_after_cue(span, modifier) -> bool:
    """ "my therapist is working on my needle phobia": "my" right after the cue makes it the visitor's own."""
    end = modifier.modifier_span[1]
    return end < span.start and span.doc[end].lower_ == "my"


def _says_i(span) -> bool:
    """The mention is the visitor speaking of themselves ("im 11 and my knee hurts")."""
    return span[0].lower_ in ("i", "im", "i'm", "i’m") or (
        span.start > 0 and span.doc[span.start - 1].lower_ in ("i", "im", "i'm", "i’m", "'m", "am")
    )


def _after_but(span, modifier) -> bool | None:
    """For a cue after the mention with "but" between them: True when the words after "but" go on about the same
    thing ("but it's completely cleared now", "but grew out of it"), False when they name something else ("but the
    bruise has healed"); None when no "but" stands between them."""
    start = modifier.modifier_span[0]
    if start < span.end:
        return None
    between = [t.lower_ for t in span.doc[span.end : start]]
    if "but" not in between:
        return None
    after_but = between[len(between) - between[::-1].index("but") :]
    return len(after_but) <= 4 and all(w in _RESOLVED_SUBJECTS or not w.isalpha() for w in after_but)


def _resolved_after_but(span) -> bool:
    """A resolution after "but" about the same thing: "but" may end a cue's reach in ConText, so it is read here."""
    for modifier in _cues(span.doc):
        if modifier.category == "RESOLVED" and modifier.modifier_span[0] < span.sent.end and _after_but(span, modifier):
            return True
    return False


_VISITOR_SUBJECTS = {"i", "im", "i'm", "i’m", "ive", "i've", "id", "i'd"}
_SAME_SIDE = re.compile(r"\b(?:same (?:side|leg|arm)|that (?:leg|arm|side|shoulder|knee|hand)|just (?:above|below|next to))\b")
_SITE_PREPOSITIONS = {"on", "in", "around", "over", "under", "across", "behind", "near", "along", "at", "of"}
_RELATIVE_PRONOUNS = {"who", "whom", "that", "which"}
_SITE_LIST_WORDS = {"and", "&", "or", ",", "lower", "upper", "left", "right", "both"}


def _visitor_between(span, modifier) -> bool:
    """ "booking for my husband, I'm the pregnant one": the visitor as a subject between a person cue and the mention
    ends the cue's reach (not "my mum, who I care for, has...": a relative clause about her)."""
    if modifier.modifier_span[1] > span.start:
        return False
    doc = span.doc
    return any(
        t.lower_ in _VISITOR_SUBJECTS and not (t.i > 0 and doc[t.i - 1].lower_ in _RELATIVE_PRONOUNS)
        for t in doc[modifier.modifier_span[1] : span.end]  # "they take bloods I go grey": the span may hold it
    )


def _past_nearer(span) -> bool:
    """A past cue nearer the mention than a present one that stands past "and", "but" or a comma after it: the
    present cue is about what comes after ("had chemo last year and still on tamoxifen")."""
    doc = span.doc

    def distance(m) -> int:
        start, end = m.modifier_span
        return span.start - end if end <= span.start else start - span.end

    past = [distance(m) for m in span._.modifiers if m.category == "HISTORICAL"]
    year = _long_ago_year(span)
    if year is not None:
        past.append(year.i - span.end)  # "chemo in 2016"
    present = [m for m in span._.modifiers if m.category == "CURRENT"]
    if not past or not present:
        return False
    for m in present:
        if m.modifier_span[0] < span.end:
            return False  # a present cue before the mention ("still on warfarin since 2015") is its own
        between = {t.lower_ for t in doc[span.end : m.modifier_span[0]]}
        if not between & {"and", "but", ","} or distance(m) <= min(past):
            return False
        cue = doc[m.modifier_span[0] : m.modifier_span[1]].text.lower()
        named_after = any(e.start >= m.modifier_span[1] and e.label_ != span.label_ for e in doc.ents)
        if cue.startswith(("still on", "still taking", "been on", "been taking")) and not named_after:
            return False  # "heart transplant 2009, still on anti rejection tablets": the transplant's own medicine
    return True


_TERMINATORS = {"but", "however", "yet", "although", "though", "except", "whereas"}
_NEW_SUBJECTS = {"it", "it's", "its", "this", "that's", "he", "he's", "hes", "she", "she's", "shes", "they're", "i", "i'm", "im", "my"}
_PERSON_SUBJECTS = {"i", "i'm", "im", "he", "he's", "hes", "she", "she's", "shes", "we"}


def _terminated(span, modifier) -> bool:
    """ "not on any meds but I am pregnant, about 14 weeks": "but" ends a cue before it, as medspaCy's terminators
    mean to (its own check misses a cue whose reach lies inside the terminator's). Cues after the mention keep
    their reading of "but" (``_after_but``: "but it's completely cleared now")."""
    if modifier.category == "HISTORICAL" and modifier.modifier_span[0] >= span.end:
        # "spinning nonstop since the needles, i threw up once": a past cue in a later clause with a person as its own
        # subject dates that clause, not the mention ("..., it was years ago" still refers back to it).
        after = span.doc[span.end : modifier.modifier_span[0]]
        return any(t.text in (",", ";") and t.i + 1 < len(span.doc) and span.doc[t.i + 1].lower_ in _PERSON_SUBJECTS for t in after)
    if modifier.modifier_span[1] > span.start:
        return False
    between = span.doc[modifier.modifier_span[1] : span.start]
    if modifier.category == "NEGATED_EXISTENCE" and any(
        t.text == "," and t.i + 1 < len(span.doc) and span.doc[t.i + 1].lower_ in _NEW_SUBJECTS for t in between
    ):
        # "this isn't a normal bruise, it's a big swollen lump": what it is instead is not negated; "my son doesn't talk
        # and hates being touched, he's 10": a new clause with its own subject is outside the negation.
        return True
    return any(t.lower_ in _TERMINATORS for t in between)


_PAST_WORDS = {"had", "was", "were", "suffered"}
_STILL_GOING = {"diagnosed", "told", "found", "started", "put", "given", "prescribed", "born"}


def _past_then_resolved(span, categories: set[str]) -> bool:
    """A mention told in the past ("had Bell's palsy last spring", "I was 20 weeks pregnant", "finished chemo in 2015")
    and a resolution after it anywhere in the message ("it cleared completely... face is back to normal"): resolved,
    however far the resolution stands from it. "was diagnosed with", "was put on" are not a past that ended."""
    doc = span.doc
    before = list(doc[max(span.sent.start, span.start - 3) : span.start])
    said_past = any(t.lower_ in _PAST_WORDS for t in before) and not any(t.lower_ in _STILL_GOING for t in before)
    if not (said_past or "HISTORICAL" in categories or _long_ago(span)):
        return False
    return any(
        m.category == "RESOLVED"
        and m.modifier_span[0] >= span.end
        and m.direction in ("BACKWARD", "BIDIRECTIONAL")  # "...finished chemo": a forward cue speaks of what follows it
        and _after_but(span, m) is not False
        for m in _cues(doc)
    )


def _long_ago_in(doc) -> bool:
    """A year at least two years back anywhere in the message ("from Guillain-Barré in 2018")."""
    this_year = date.today().year
    return any(t.text.isdigit() and len(t.text) == 4 and 1940 <= int(t.text) <= this_year - 2 for t in doc)


_BABY_UNITS = {"month", "months", "week", "weeks", "day", "days", "mo", "wk", "wks"}


def _a_baby(span) -> bool:
    """ "my 3 month old", "10 week old": a baby who comes along with a new mother, not a child patient by age."""
    following = span.doc[span.end : span.end + 2]
    return any(t.lower_ in _BABY_UNITS for t in list(span)[-2:]) or any(t.lower_ in _BABY_UNITS for t in following[:1])


_NEGATIONS = {"not", "n't", "no", "never", "dont", "don't", "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't"}


def _negated_inside(span) -> bool:
    """A proximity match with a negation between its two words ("needles don't scare me", "bruise, not growing");
    a listed phrase that holds one ("can't stand needles") is a term, not a negation."""
    rule = getattr(span._, "target_rule", None)
    if rule is None or " near " not in str(rule.literal):
        return False
    for t in span:
        if t.lower_ in _NEGATIONS:
            following = [n for n in span.doc[t.i + 1 : t.i + 3] if n.lower_ not in _NEGATIONS and n.lower_ not in ("has", "have")]
            if following and following[0].lemma_.lower() in _ENDINGS:
                continue  # "hasn't stopped", "won't settle": a symptom that goes on, not a negation
            return True
    return False


_PRONOUNS = {"he", "she", "they", "him", "her", "his", "hers", "their", "he's", "she's", "they're"}
_ENDINGS = {"stop", "settle", "pass", "go", "ease", "clear", "improve", "let", "heal", "calm", "wear", "fade", "shift"}


def _dated_message(doc) -> bool:
    """A past cue or a distant year anywhere in the message, and nothing saying now."""
    categories = {m.category for m in _cues(doc)}
    return "CURRENT" not in categories and bool({"HISTORICAL", "RESOLVED"} & categories or _long_ago_in(doc))


_DISTANT = re.compile(
    r"(?:(?:many|some|a few|a couple of|\d+|two|three|four|five|ten) )?(?:years|yrs|decades?) (?:ago|back)\b"
    r"|years earlier\b|in (?:19|20)\d\d\b"
)


def _dated_long_ago(doc, modifier) -> bool:
    """A present-time cue dated by a distant past right after it ("numb after needling years ago"): the session it
    ties the symptom to is long over."""
    end = modifier.modifier_span[1]
    return bool(_DISTANT.match(" ".join(t.lower_ for t in doc[end : end + 4])))


def _only_a_session_tie(doc, modifier) -> bool:
    """A present-time cue that only ties a mention to a session ("after needling", "after the session") says when it
    began, not that it is still happening."""
    return doc[modifier.modifier_span[0]].lower_ == "after"


def _told_as_past(span) -> bool:
    """A past or resolution cue reaches the mention, or a distant date; no present-time cue ("after needling" only
    ties it to a session: "after needling years ago" is past)."""
    categories = {m.category for m in span._.modifiers}
    return not _happening_now(span) and bool({"HISTORICAL", "RESOLVED"} & categories or _long_ago(span))


def _only_tied_then_over(span) -> bool:
    """The only present-time cues tie the mention to a session ("after the needling"), and a resolution follows it."""
    doc = span.doc
    mods = [m for m in span._.modifiers if m.modifier_span[1] <= span.start or m.modifier_span[0] >= span.end]
    tied = all(_only_a_session_tie(doc, m) for m in mods if m.category == "CURRENT")
    return tied and any(m.category == "RESOLVED" and m.modifier_span[0] >= span.end for m in mods) and _resolved_after(span)


def _resolved_in(doc) -> bool:
    """The message says something is over, and no cue says it is happening now ("after the session" only ties it to
    a session: "a drop of blood after the session, it stopped straight away")."""
    cues = _cues(doc)
    present = any(m.category == "CURRENT" and not _only_a_session_tie(doc, m) for m in cues)
    return any(m.category == "RESOLVED" for m in cues) and not present


_NOT_OVER = {"now", "again", "still", "worse", "back", "before", "when", "until", "till", "earlier", "first"}
_IT_WORDS = {"it", "it's", "its", "that", "that's", "this", "they", "they're", "which", "all", "everything"}


def _resolved_after(span) -> bool:
    """A resolution cue later in the message, said of "it" ("...but it passed and i've been fine all evening"), with
    nothing after it saying the trouble is back ("it passed but now i'm dizzy again"). "The bleeding has stopped" is
    about something else."""
    doc = span.doc
    for m in _cues(doc):
        start = m.modifier_span[0]
        if m.category != "RESOLVED" or start < span.end or m.direction == "FORWARD":
            continue  # a forward cue ("it was on my shoulders") speaks of what follows it
        before = doc[max(span.end, start - 3) : start]
        elided = start > 0 and (doc[start - 1].is_punct or doc[start - 1].lower_ in ("and", "but", "then"))  # ", was fine in 2 mins"
        said_of_it = elided or any(t.lower_ in _IT_WORDS for t in before)
        # "...now i'm dizzy again", "was totally fine before", "fine when I left the clinic": not over
        back_again = any(t.lower_ in _NOT_OVER for t in doc[m.modifier_span[1] :])
        if said_of_it and not back_again:
            return True
    return False


def _happening_now(span) -> bool:
    """A present-time cue reaches the mention, other than one that only ties it to a session ("after needling")."""
    return any(m.category == "CURRENT" and not _only_a_session_tie(span.doc, m) for m in span._.modifiers)


def _is_current(span) -> bool:
    return any(m.category == "CURRENT" for m in span._.modifiers)


def _numbered(modifier, doc) -> bool:
    """A "no" before a number is a number ("preg with no 3", "no. 2 on the way"), not a negation."""
    start, end = modifier.modifier_span
    if modifier.category != "NEGATED_EXISTENCE" or doc[start:end].text.lower() not in ("no", "no."):
        return False
    following = [t for t in doc[end : end + 2] if t.text not in (".", "#")]
    return bool(following) and following[0].like_num


def _not_a_stage(span) -> bool:
    """A number rule's match that counts something else: "every 12 weeks" is how often, "my son 2 years ago" is
    when (not an age or a stage of pregnancy)."""
    rule = getattr(span._, "target_rule", None)
    if rule is None or not (" pattern " in str(rule.literal) or str(rule.literal).endswith(" age")):
        return False
    doc = span.doc
    before = doc[span.start - 1].lower_ if span.start > 0 else ""
    if str(rule.literal).endswith(" age") and span.end < len(doc) and doc[span.end].lower_ in _NOT_A_CHILD_AGE:
        return True  # "she's 5 months pregnant", "he's 6 foot": not an age (a message may also end with the age)
    if before in ("every", "each", "per") or any(t.lower_ == "ago" for t in doc[span.end : span.end + 2]):
        return True
    # How long something has lasted: "numb for 6 weeks.", "for about 6 weeks", "over the last 8 weeks".
    earlier = doc[span.start - 2].lower_ if span.start > 1 else ""
    lasted = before in _DURATION_OPENERS or (before in _ABOUT and earlier in _DURATION_OPENERS)
    return lasted and bool(_WEEKS.match(span.text))


_WEEKS = re.compile(r"\d{1,2}\s*(?:weeks?|wks?)\b", re.IGNORECASE)
_DURATION_OPENERS = {"for", "past", "last", "over", "within"}
_ABOUT = {"about", "around", "nearly", "almost", "roughly", "like"}


# "my son", or a child the message goes on about ("a year 2 kid? she's got a tight calf").
_OWN_CHILD = re.compile(
    r"\b(?:my|our) (?:son|daughter|kid|child|boy|girl|little one|youngest|oldest)\b"
    r"|[?.!,]\s*(?:she|he)(?:['’]s| is| has| got| keeps)\b"
)
_ANSWER_NO = {"no", "nope", "nah", "never", "negative", "none"}


def _answered_no(span) -> bool:
    """A question the visitor answers with no ("neuropathy? no. diabetes? no."): the mention is negated."""
    sentence = span.sent
    if not sentence.text.rstrip().endswith("?") or sentence.end >= len(span.doc):
        return False
    following = [t for t in span.doc[sentence.end : sentence.end + 3] if not t.is_punct]
    if not following or following[0].lower_ not in _ANSWER_NO:
        return False
    # "...getting bigger every day? no fever but it's spreading": "no" right before a mention of its own negates that one.
    return not any(e.start == following[0].i + 1 for e in span.doc.ents)


def _long_ago(span) -> bool:
    """A year at least two years back after the mention in its clause, not after "since" ("chemo in 2010", "short of
    breath during my first session in 2021"; "since 2015" is ongoing)."""
    return _long_ago_year(span) is not None


def _long_ago_year(span):
    """The token of that year, or None."""
    this_year = date.today().year
    doc = span.doc
    for token in doc[span.end : min(span.end + 8, span.sent.end)]:
        if token.is_punct or token.lower_ in ("but", "and", "though", "although", "since"):
            return None  # another clause's year ("chest pain now, fine in 2019"), or a start ("since my PE in 2022")
        if token.like_num and len(token.text) == 4 and token.text.isdigit() and 1940 <= int(token.text) <= this_year - 2:
            before = token.nbor(-1).lower_ if token.i > span.sent.start else ""
            if before != "since":
                return token
    return None


class ConditionDetector:
    """medspaCy pipeline: sentencizer, target matcher (lexicon), ConText (cues)."""

    def __init__(self, groups: dict[str, ConditionGroup] | None = None, spacy_path: Path = SPACY_PATH) -> None:
        self.groups = groups or {**load_groups(), **load_groups(RED_FLAGS, kind="red_flag")}
        # Harmless phrases that contain a lexicon word ("hay fever", "a rash decision"): matched, longest match wins, dropped.
        self.harmless = load_groups(HARMLESS, kind="harmless") if HARMLESS.exists() else {}
        raw = yaml.safe_load(CONTEXT.read_text(encoding="utf-8"))
        self.self_patient = _phrases(raw.get("self_patient") or [])
        self.family = family_words(raw)
        self.people_plural = frozenset(str(w).lower() for w in raw.get("people_plural") or [])
        self.person_of = {str(w).lower(): person for person, words in (raw.get("persons") or {}).items() for w in words}
        self.proxy_question = re.compile(str(raw.get("proxy_question") or r"(?!)"))
        self.condition_keys = frozenset(key for key, group in self.groups.items() if group.kind == "condition")
        self.taken_now = _phrases(raw.get("taken_now") or [])
        self.self_reference = _phrases(raw.get("self_reference") or [])
        self.if_present_state = _phrases(raw.get("if_present_state") or [])
        self.mild_qualifiers = _phrases(raw.get("mild_qualifiers") or [])
        self.other_place = _phrases(raw.get("other_place") or [])
        self.reported_speech = _phrases(raw.get("reported_speech") or [])
        self.not_needled_yet = _phrases(raw.get("not_needled_yet") or [])
        self.supposing_before_if = frozenset(str(w).lower() for w in raw.get("supposing_before_if") or [])
        needle = raw.get("treatment_needle") or {}
        self.treatment_before = {str(w).lower() for w in needle.get("before") or []}
        self.treatment_after = _phrases(needle.get("after") or [])
        self.treatment_past = _phrases(needle.get("past") or [])
        self.aftermath = _phrases_or_pattern(raw.get("aftermath") or [], raw.get("aftermath_pattern"))
        self.long_standing = _phrases(raw.get("long_standing") or [])
        self.habitual = _phrases(raw.get("habitual") or [])
        self.habitual_reactions = frozenset(str(w).lower() for w in raw.get("habitual_reactions") or [])
        self.settled = _phrases(raw.get("settled") or [])
        self.worsening = _phrases_or_pattern(raw.get("worsening") or [], raw.get("worsening_pattern"))
        self.asking_ahead = _phrases(raw.get("asking_ahead") or [])
        body = [str(w).lower() for w in raw.get("body_parts") or []]
        self.their_body = re.compile(r"\b(?:his|her)\s+(?:\w+\s+)?(?:" + "|".join(map(re.escape, body)) + r")s?\b")
        self.own_body = re.compile(r"\bmy\s+(?:\w+\s+)?(?:" + "|".join(map(re.escape, body)) + r")s?\b")
        self.sites = frozenset(body) | {str(w).lower() for w in raw.get("skin_sites") or []}
        self.regions: dict[str, set[str]] = {}
        for region, words in (raw.get("site_regions") or {}).items():
            for word in words:
                self.regions.setdefault(str(word).lower(), set()).add(str(region))
        self.treatment_context = frozenset(str(w).lower() for w in raw.get("treatment_context") or [])
        self.nlp = spacy.load(spacy_path) if Path(spacy_path).exists() else spacy.blank("en")
        # spaCy keeps emoticons such as "8)" whole, so "my nephew (8)" would hide the age: digits are split as usual.
        tokenizer: Any = self.nlp.tokenizer
        tokenizer.rules = {k: v for k, v in tokenizer.rules.items() if not k[:1].isdigit()}
        self.nlp.add_pipe("sentencizer")
        # Phrases match on NORM: "can't", "cant" and "cannot" normalise alike, and the speller
        # sets a misspelled word's norm to the lexicon word (bot/safety/spelling.py).
        matcher: Any = self.nlp.add_pipe("medspacy_target_matcher", config={"phrase_matcher_attr": "NORM"})
        rules = []
        for group in [*self.groups.values(), *self.harmless.values()]:
            rules += [TargetRule(term, group.key) for term in _with_other_persons(group)]
            if group.max_child_age:
                rules += [TargetRule(f"{group.key} age", group.key, pattern=p) for p in _age_patterns(group.max_child_age)]
            for n, near in enumerate(group.near):
                rules += [TargetRule(f"{group.key} near {n}", group.key, pattern=p) for p in _near_patterns(near)]
            rules += [TargetRule(f"{group.key} pattern {n}", group.key, pattern=list(p)) for n, p in enumerate(group.patterns)]
        matcher.add(rules)
        # medspaCy's default cues, except those our lexicon gives another meaning or reach ("resolved" is a resolution
        # here, not a negation that reaches only forward; "form: no bleeding problems" reaches both ways), then ours.
        context: Any = self.nlp.add_pipe("medspacy_context", config={"rules": None})
        cue_rules, self.first_person = _context_rules()
        ours = {(rule.literal.lower(), rule.category, rule.direction) for rule in cue_rules}
        redefined = {literal for literal, _, _ in ours}
        defaults = [
            rule
            for rule in ConTextRule.from_json(context.DEFAULT_RULES_FILEPATH)
            if rule.literal.lower() not in redefined or (rule.literal.lower(), rule.category, rule.direction) in ours
        ]
        context.add(defaults + cue_rules)
        self.question_openers = question_words() | _QUESTION_OPENERS_EXTRA
        vocabulary = {word for group in self.groups.values() for term in group.terms for word in term.split()}
        self.speller = Speller(vocabulary, load_common_words(Path(spacy_path)))

    def _only_about_family(self, doc) -> bool:
        """The message names a family member, says nothing of the visitor and talks of treatment or a body part ("my
        mum had a stroke in may, right side still weak, her physio mentioned needling"): "my" only before the family
        word, no "I" or "me". A visitor who mentions a relative's condition in passing says something of themselves
        ("...but I'm booking for my back"); a bare "my brother has MS" says nothing of treatment."""
        if not any(t.lower_ in self.treatment_context or self._site(t) for t in doc):
            return False
        words = [t.lower_.replace("’", "'") for t in doc]
        for i, word in enumerate(words):
            if word in ("my", "our"):
                if not any(w in self.person_of for w in words[i + 1 : i + 3]):
                    return False
            elif word in self.first_person:
                return False
        return any(w in self.person_of for w in words)

    def _has_first_person(self, sentence) -> bool:
        return any(t.lower_ in self.first_person or t.lower_.replace("’", "'") in self.first_person for t in sentence) or bool(
            re.search(r"\b(i'?m|i’m|ive|i've)\b", sentence.text.lower())
        )

    def role(self, span, booked_earlier: bool = False) -> str:
        group = self.groups[span.label_]
        # A cue inside the mention itself ("n't" in "can't breathe") says nothing about it.
        categories = {
            m.category
            for m in span._.modifiers
            if (m.modifier_span[1] <= span.start or m.modifier_span[0] >= span.end)
            and not _numbered(m, span.doc)
            and not (m.category == "RESOLVED" and _after_but(span, m) is False)
            and not (m.category == "FAMILY" and _visitor_between(span, m))
            and not _terminated(span, m)
            and not (m.category == "CURRENT" and _dated_long_ago(span.doc, m))
            and not (m.category == "HYPOTHETICAL" and group.kind == "condition" and self._if_present_state(span.doc, m))
        }
        if span[0].lower_ in ("i", "im", "i'm", "i’m"):
            categories -= {"FAMILY", "OCCUPATION"}  # "...worked for him, oh and i'm 16 weeks": the mention says "I"
        jobs = [m for m in span._.modifiers if m.category == "OCCUPATION"]
        if jobs and all(_own_state_after(span, m) or _own_clinician(span, m) or _own_after_cue(span, m) for m in jobs):
            categories.discard("OCCUPATION")  # "I'm a nurse and 20 weeks pregnant", "my lymphoedema therapist"
        if any(m.category == "OCCUPATION" and m.modifier_span[0] < span.start and m.modifier_span[1] >= span.end for m in _cues(span.doc)):
            categories.add("OCCUPATION")  # "a lymphoedema therapist", "a pacemaker technician": the job holds the word
        following = span.doc[span.end : span.end + 1]
        if len(following) and following[0].lower_ in self.family and following[0].lower_ not in _PRONOUNS:
            categories.add("FAMILY")  # "my pregnant daughter", "her diabetic dad": the word right after says who
        describes_people = bool(len(following)) and following[0].lower_ in self.people_plural  # "pregnant mums", "stroke patients"
        if "RESOLVED" in categories and "CURRENT" in categories and _only_tied_then_over(span):
            categories.discard("CURRENT")  # "almost blacked out after the needling, was fine in a couple mins"
        if ("HISTORICAL" in categories or _long_ago(span)) and "CURRENT" in categories and not group.chronic and _past_nearer(span):
            categories.discard("CURRENT")  # "my pregnancy was 2 years ago and i still get pelvic pain": "still" is the pain's
        if "NEGATED_EXISTENCE" in categories or _answered_no(span) or _negated_inside(span):
            return "negated"
        if group.site_specific and self._elsewhere(span):
            return "negated"
        if "CURRENT" not in categories and "RESOLVED" not in categories and _resolved_after_but(span):
            categories.add("RESOLVED")  # "my eczema flared in winter but it's completely cleared now"
        if "CURRENT" not in categories and "RESOLVED" not in categories and _past_then_resolved(span, categories):
            categories.add("RESOLVED")
        if "CURRENT" not in categories and (
            "RESOLVED" in categories
            or (("HISTORICAL" in categories or _long_ago(span)) and not group.chronic and not self._taken_now(span))
            or (group.dated_by_message and _dated_message(span.doc))
        ):
            return "historical"
        # Booking for someone makes them the patient for the whole message ("can I book for my dad? he has..."),
        # and for the rest of the conversation once an earlier message did (``booked_earlier``).
        booked_for = booked_earlier or self.books_for_someone(span.doc)
        if "OCCUPATION" in categories and (("PROXY" not in categories and not booked_for) or self.booked_person(span.doc) is None):
            return "other_person"  # "I work in a dementia unit": the people the visitor works with (unless booking for a named person)
        if "FAMILY" in categories and not group.patient_even_if_family and "PROXY" not in categories and not booked_for:
            if group.kind == "condition" and "GENERIC" not in categories and not describes_people and self._only_about_family(span.doc):
                return "patient"  # "my son has cerebral palsy, tight hamstrings, his physio suggested needling": writing for him
            return "other_person"
        # "booking my son for his calves, I'm the one on warfarin": the visitor's own condition, not the patient's
        # (only when the message names the person booked for: "physio wants to needle", "booking for Monday" name no one).
        if (
            booked_for
            and not booked_earlier
            and "FAMILY" not in categories
            and self.booked_person(span.doc) is not None
            and self._visitor_says_own(span)
        ):
            return "other_person"
        # "My husband has bad eczema, but I'm the one booked in": the visitor said they are the patient.
        if "FAMILY" in categories and not booked_earlier and self.says_self_patient(span.doc):
            return "other_person"
        # "my little one is 5, can she wait while I get needled?", "my 3 kids are under 10 and my neck is in knots":
        # the visitor said they are the patient, or named only a body part of their own.
        if (
            group.patient_even_if_family
            and not booked_for
            and (self.says_self_patient(span.doc) or (self.own_body.search(span.doc.text.lower()) and not _says_i(span)))
            and not self._about_the_visitor(span)
        ):
            return "other_person"
        # "do you needle people on coumadin? asking for myself": the visitor places themselves in the question.
        places_self = bool(self.self_reference.search(span.doc.text.lower()))
        if group.kind == "red_flag":
            text = span.doc.text.lower()
            now = _happening_now(span)
            if not now and self.not_needled_yet.search(text):
                return "hypothetical"  # "would chest pain after needling be something to worry about? asking before i book"
            if not now and _resolved_in(span.doc) and _resolved_after(span):
                return "historical"  # "nearly fainted?? felt clammy for a minute after the needles but it passed, fine all evening"
            # "is it a problem if the spot is red and getting bigger every day?", "is it bad if the bleeding doesnt stop? been
            # 25 mins": a question about now, or about what has lasted, is the visitor's own.
            if "HYPOTHETICAL" in categories and (now or self.worsening.search(text)) and not self._asks_ahead(span.doc):
                return "patient"
        if "HYPOTHETICAL" in categories:
            # "is it ok for a 6 year old? my son has a sore shoulder": a parent asking about their own child.
            return "patient" if places_self or self._asks_about_own_child(span, group) else "hypothetical"
        if booked_for and "FAMILY" in categories and self._someone_other_than_booked(span):
            return "other_person"  # "booking for my dad, it's my mum who has the leg ulcer"
        if booked_for and "FAMILY" in categories:
            return "patient"  # "he's on eliquis, is that ok?" about the person booked for: not a general question
        if describes_people and not places_self:
            return "hypothetical"  # "I'm a midwife, on my feet all day with pregnant mums": those people, not the visitor
        if not self._has_first_person(span.sent):
            if "GENERIC" in categories:
                return "patient" if places_self or self._asks_about_own_child(span, group) else "hypothetical"
            # A question with no "I/my" is a general question ("dry needling low bone density safe?"),
            # unless the condition opens the sentence as a fragment ("on thinners, will that matter?")
            # or is marked as current ("currently on plavix, ok?").
            if self._is_question(span.sent) and not self._opens_sentence(span) and "CURRENT" not in categories:
                if self._asks_about_own_child(span, group) or (booked_for and group.patient_even_if_family):
                    return "patient"  # "can a primary school child have it? my son (year 4) has heel pain", "book for a 9yo?"
                # "is it normal to be this out of breath?? had my back needled this afternoon": a red flag asked about
                # in a question, in a message about the visitor's own session now, is theirs.
                if (group.kind == "red_flag" and self._about_own_session_now(span.doc)) or places_self:
                    return "patient"
                return "hypothetical"
        return "patient"

    def booked_person(self, doc) -> str | None:
        """Who the visitor books for: the person a proxy cue names ("booking for my son" -> son), ``SOMEONE`` when they
        book for a person they do not name ("for her", "his neck"), None when they book for no one ("booking for Monday",
        "the physio wants to needle")."""
        someone = False
        for modifier in _cues(doc):
            if modifier.category != "PROXY":
                continue
            start, end = modifier.modifier_span
            for token in doc[start : min(end + 4, len(doc))]:
                if token.lower_ in self.person_of:
                    return self.person_of[token.lower_]
                someone = someone or token.lower_ in ("her", "him", "she", "he")
        text = doc.text.lower()
        if someone or (self.their_body.search(text) and not self.own_body.search(text)):
            return SOMEONE
        return None

    def _someone_other_than_booked(self, span) -> bool:
        """The family word nearest the mention names a different person from the one booked for ("booking for my
        son, his grandpa's on eliquis"); a pronoun, or a word for no one in particular ("partner", "kid"), never does."""
        booked = self.booked_person(span.doc)
        if booked is None or booked == SOMEONE:
            return False
        following = span.doc[span.end : span.end + 1]
        if len(following) and following[0].lower_ in self.person_of:
            nearest = following[0].lower_  # "my pregnant daughter": the word right after says who
        else:
            before = [m for m in span._.modifiers if m.category == "FAMILY" and m.modifier_span[1] <= span.start]
            if not before:
                return False
            start, end = max(before, key=lambda m: m.modifier_span[1]).modifier_span
            nearest = span.doc[start:end].text.lower().removesuffix("'s").removesuffix("’s")
        person = self.person_of.get(nearest)
        return person is not None and person != booked

    def _about_the_visitor(self, span) -> bool:
        """The visitor says it of themselves ("I was diagnosed with Alzheimer's last year", "I'm 79 and my memory is going,
        the doctor says it's early dementia"): a first person in the mention's sentence and no family word in it."""
        if self.groups[span.label_].max_child_age:
            return False
        sentence = span.sent
        return self._visitor_says_own(span) or (self._has_first_person(sentence) and not any(t.lower_ in self.family for t in sentence))

    def _visitor_says_own(self, span) -> bool:
        """The clause of the mention has the visitor as its subject ("I'm the one on warfarin", "I take xarelto myself"),
        not as the one who books ("I'm booking for my daughter who is nine") and with no one else named in it."""
        before = span.doc[span.sent.start : span.start].text.lower()
        clause = re.split(r"[,.;!?]|\bbut\b|\band\b", before)[-1]
        after = span.doc[span.end : min(span.end + 4, span.sent.end)].text.lower()
        if re.search(r"\bmyself\b", after):
            return True
        if any(word in self.person_of or word in self.family for word in re.findall(r"[a-z']+", clause)):
            return False
        own = re.search(
            r"\b(i'?m|i’m|i am|i take|i have|i've|ive|i was|i got|it'?s me|me who)\b(?!\s+(?:" + "|".join(_BOOKING_WORDS) + r"))", clause
        )
        return bool(own)

    def _site(self, token) -> str | None:
        """The body part a word names, singular ("calves" -> calf, "hands" -> hand), if it is one."""
        word = token.lower_
        for candidate in (word[:-3] + "f" if word.endswith("ves") else word, word[:-1] if word.endswith("s") else word, word):
            if candidate in self.sites:
                return candidate
        return None

    def _elsewhere(self, span) -> bool:
        """A site-specific condition on one part of the body while the treatment is for another ("psoriasis on my scalp
        only, and I'm booked for my lower back"): not where the needles go. Both sites must be named."""
        doc = span.doc
        own: set[str] = set()
        reach = min(span.sent.end, span.end + 7)
        while reach < min(span.sent.end, span.end + 12) and (doc[reach].lower_ in _SITE_LIST_WORDS or self._site(doc[reach])):
            reach += 1  # "psoriasis plaques all over my elbows and lower back": the whole list of sites
        for token in doc[span.start : reach]:
            site = self._site(token)
            listed = bool(own) and any(t.lower_ in _SITE_LIST_WORDS for t in doc[max(span.start, token.i - 2) : token.i])
            if site and (listed or any(t.lower_ in _SITE_PREPOSITIONS for t in doc[max(span.start, token.i - 3) : token.i])):
                # "the backs of my knees", "the side of my neck": the part named after "of" is the site
                after_of = [self._site(t) for t in doc[token.i + 2 : min(len(doc), token.i + 5)]] if token.i + 1 < len(doc) else []
                if doc[token.i + 1 : token.i + 2].text.lower() == "of" and any(after_of):
                    site = next(s for s in after_of if s)
                own.add(site)
        if span.start > 0 and (site := self._site(doc[span.start - 1])):
            own.add(site)  # "hand eczema"
        if not own:
            return False
        treated: set[str] = set()
        for token in doc:
            site = self._site(token)
            if not site or span.start - 1 <= token.i < reach:
                continue
            window = {t.lower_ for t in doc[max(0, token.i - 6) : token.i]}
            fine = doc[token.i + 1 : token.i + 3].text.lower() in ("is fine", "is clear", "is ok", "are fine", "are clear")
            if window & self.treatment_context or fine:
                treated.add(site)
        same_side = _SAME_SIDE.search(doc.text.lower())
        regions = set().union(*(self.regions.get(site, {site}) for site in own))
        near = any(self.regions.get(site, {site}) & regions for site in treated)
        return bool(treated) and not near and not same_side

    def _taken_now(self, span) -> bool:
        """A medicine taken now, named right after "I'm on", "she takes" ("I'm on xarelto since my clot last year")."""
        before = span.doc[max(span.sent.start, span.start - 5) : span.start].text.lower()
        return bool(self.taken_now.search(before))

    def _is_question(self, sentence) -> bool:
        """Ends with "?", or opens with a question word followed by its subject ("can I", "is it", "what if"):
        "can barely talk" is a statement, not a question."""
        words = [t.lower_ for t in sentence if not t.is_punct]
        if sentence.text.rstrip().endswith("?"):
            return True
        if not words or words[0] not in self.question_openers:
            return False
        return len(words) == 1 or words[0] in _QUESTION_OPENERS_EXTRA | _AUXILIARIES or words[1] in _QUESTION_SUBJECTS

    @staticmethod
    def _opens_sentence(span) -> bool:
        before = [t.lower_ for t in span.sent if t.i < span.start and not t.is_punct]
        return set(before) <= _FRAGMENT_OPENERS

    def _doc(self, text: str):
        doc = self.speller.apply(self.nlp.make_doc(text or ""))
        for _, component in self.nlp.pipeline:
            doc = component(doc)
        return doc

    def _asks_about_own_child(self, span, group: ConditionGroup) -> bool:
        """ "is it ok for a 6 year old? my son has a sore shoulder": a parent asking about their own child; "ok for a 7 yr
        old gymnast with a sore back?": a child with a body part of their own is a real one, not a general question."""
        if not group.max_child_age or self.says_self_patient(span.doc):
            return False
        complaint = any(self._site(t) for t in span.sent if t.i >= span.end)
        return bool(_OWN_CHILD.search(span.doc.text.lower())) or complaint

    def _about_own_session_now(self, doc) -> bool:
        current = any(m.category == "CURRENT" for m in _cues(doc))
        return self._has_first_person(doc[:]) and (current or bool(self.aftermath.search(doc.text.lower())))

    def says_self_patient(self, doc) -> bool:
        """The visitor says they are the patient ("the appointment is for me", "I'm the one booked in"); "the appointment
        is for my nan" names someone else."""
        return any(not self._names_a_person(m) for m in self.self_patient.finditer(doc.text.lower()))

    def _names_a_person(self, match: re.Match[str]) -> bool:
        """A phrase that ends in "my" followed by a person ("the appointment is for my nan"), not a body part ("...for my
        back"), or one followed by "for my <person>" ("book me in for my son")."""
        following = re.findall(r"[a-z']+", match.string[match.end() :])[:3]
        if match.group().endswith((" my", " our")):
            return bool(following) and following[0] in self.person_of
        return following[:2] in (["for", "my"], ["for", "our"]) and len(following) == 3 and following[2] in self.person_of

    def books_for_someone(self, doc) -> bool:
        """Booking or asking for another person: a proxy cue, a question about what a named family member can do
        ("my mother is on steroids. can she do dry needling?"), or their body part ("her shoulder", "his knee") when
        the visitor names no body part of their own and does not say they are the patient."""
        if _books_for_someone(doc):
            return True
        text = doc.text.lower()
        if any(self._names_a_person(m) for m in self.self_patient.finditer(text)):
            return True  # "the appointment is for my nan"
        if self.proxy_question.search(text) and any(t.lower_ in self.family for t in doc) and not self.says_self_patient(doc):
            return True
        return bool(self.their_body.search(text)) and not self.own_body.search(text) and not self.says_self_patient(doc)

    def _treatment_needle(self, span) -> bool:
        """A reaction near the treatment's own needle ("dizzy after the needles", "cried when the needle went in"),
        with no fear word: an after-effect, not needle phobia ("afraid of the needles" stays a phobia)."""
        doc = span.doc
        for token in span:
            if token.lemma_.lower() in ("needle", "needles") and self.treatment_past.match(doc[token.i + 1 : token.i + 5].text.lower()):
                return True
        fear = set(self.groups["needle_phobia"].near[0].first) if self.groups["needle_phobia"].near else set()
        if any(t.lower_ in fear or t.lemma_.lower() in fear for t in span):
            return False
        for token in span:
            if token.lemma_.lower() in ("needle", "needles"):
                if any(t.lower_ in self.treatment_before for t in doc[max(0, token.i - 3) : token.i]):  # "after the neck needles"
                    return True
                the_session = token.i > 0 and doc[token.i - 1].lower_ in ("the", "your", "ur", "those", "these")
                if the_session and self.treatment_after.match(doc[token.i + 1 : token.i + 5].text.lower()):
                    return True  # "dizzy when the needle goes in"; "I black out when needles go in" is the phobia
        return False

    def _mild_fear(self, span) -> bool:
        """ "a bit nervous about needles", "slightly anxious": a fear word the visitor tones down right before it is
        first-timer nerves, not a phobia (context.yml ``mild_qualifiers``); "not 'a little nervous', proper panic" is."""
        doc = span.doc
        fear = set(self.groups["needle_phobia"].near[0].first) if self.groups["needle_phobia"].near else set()
        verdicts = []
        for token in span:
            if token.lower_ in fear or token.lemma_.lower() in fear:
                before = doc[max(0, token.i - 4) : token.i].text.lower()
                qualified = self.mild_qualifiers.search(before)
                verdicts.append(qualified is not None and not re.search(r"\bnot\b", before[: qualified.start()]))
        return bool(verdicts) and all(verdicts)  # "kind of panicking, i hate needles so much": not all toned down

    def _if_present_state(self, doc, modifier) -> bool:
        """ "is it safe if i'm expecting?": a bare "if" before a present state tells the visitor's situation
        (context.yml ``if_present_state``); "what if i'm ..." and "asks if i'm ..." still suppose."""
        start, end = modifier.modifier_span
        if doc[start:end].text.lower() != "if":
            return False
        if start > 0 and doc[start - 1].lower_ in self.supposing_before_if:
            return False
        return bool(self.if_present_state.match(doc[end : end + 4].text.lower()))

    def _softened(self, doc, conditions: list[str]) -> list[str]:
        """Red-flag groups a disclosed long-term condition may explain ("COPD, on oxygen at night"; red_flags.yml
        ``softened_by``) when nothing ties the symptom to a session: the learned reading alone is one step less sure.
        A red flag the lexicon reads stays urgent ("I have COPD and I can't breathe")."""
        if self.aftermath.search(doc.text.lower()):
            return []
        return sorted(k for k, g in self.groups.items() if g.kind == "red_flag" and set(g.softened_by) & set(conditions))

    def _explained(self, doc, mentions: list[Mention]) -> tuple[set[str], list[str], bool]:
        """Red-flag groups that are not a new emergency after needling, and the conditions they are instead.

        Nothing in the message ties the symptom to a session (``aftermath``) or says it is happening now (a
        current-time cue), and either a condition disclosed about the patient explains it ("numb feet from diabetic
        neuropathy", "an infected cat scratch on the arm you'll needle", "I faint whenever I have bloods taken") or
        it has lasted months or years ("numb since my back op in 2021"): then it is that condition (``chronic_as``),
        for a clinician. Applies to the learned detector's group too (bot/safety/screen.py)."""
        text = doc.text.lower()
        if self.aftermath.search(text):
            return set(), [], False
        now = any(_is_current(e) for e in doc.ents if e.label_ in self.groups)
        disclosed = {m.group for m in mentions if self.groups[m.group].kind == "condition" and m.role == "patient"}
        seen = {m.group for m in mentions if self.groups[m.group].kind == "red_flag" and m.role == "patient"}
        long_standing = not now and (bool(self.long_standing.search(text)) or _long_ago_in(doc))
        explained: set[str] = set()
        conditions: list[str] = []
        at_needles = self._habitual_at_needles(doc) if not now else False
        for key, group in self.groups.items():
            if group.kind != "red_flag":
                continue
            # A habit told as over ("I used to pass out at the sight of needles, fine now") is no phobia now.
            told = [m for m in mentions if m.group in (key, group.habitual_as)]
            over = bool(told) and not any(m.role == "patient" for m in told)
            if group.habitual_as and at_needles and not over and (not group.habitual_needs_fear or self._fear_in(doc)):
                explained.add(key)  # "I go grey and hit the floor every time they take bloods": needle phobia
                conditions.append(group.habitual_as)
            elif disclosed & set(group.explained_by) and not self._systemic(key, mentions):
                explained.add(key)  # unless a whole-body sign comes with it ("pus ... and a fever of 38.7")
            elif key in seen and long_standing and group.chronic_as:
                explained.add(key)
                conditions.append(group.chronic_as)
        return explained, conditions, long_standing

    def _fear_in(self, doc) -> bool:
        """A fear word of the needle phobia ("scared", "panic") anywhere in the message."""
        fear = set(self.groups["needle_phobia"].near[0].first)
        return any(t.lower_ in fear or t.lemma_.lower() in fear for t in doc)

    def _habitual_at_needles(self, doc) -> bool:
        """A reaction that comes every time ("whenever", "every time", "I'm a fainter") with a needle or blood word
        and a fainting word, about the visitor: a fear of needles, not an emergency now."""
        text = doc.text.lower()
        if not self.habitual.search(text) or "needle_phobia" not in self.groups or not self.groups["needle_phobia"].near:
            return False
        words = {t.lower_ for t in doc} | {t.lemma_.lower() for t in doc}
        phobia = self.groups["needle_phobia"]
        needle = set(phobia.near[0].second) & words
        reactions = set(phobia.near[-1].first) | self.habitual_reactions

        # "I don't faint" is no reaction; "I can't breathe when I see one" is one (inability is not a negation).
        def negated(t) -> bool:
            before = doc[max(0, t.i - 3) : t.i]
            return any(n.lower_ in _NEGATIONS and not (n.i and doc[n.i - 1].lower_ in ("ca", "can")) for n in before)

        reacts = any((t.lower_ in reactions or t.lemma_.lower() in reactions) and not negated(t) for t in doc)
        return bool(needle) and reacts and not any(t.lower_ in self.family and t.lower_ not in _PRONOUNS for t in doc)

    def detect(self, text: str, booked_earlier: bool = False) -> list[Mention]:
        return self.analyse(text, booked_earlier).mentions

    def patient_conditions(self, text: str) -> list[str]:
        """Conditions disclosed about the patient, in order of mention, without repeats."""
        return self.analyse(text).conditions

    def red_flags(self, text: str) -> list[str]:
        """Red-flag symptoms someone has now (the visitor or anyone they speak for)."""
        return self.analyse(text).red_flags

    def _pattern_followed_by_other_event(self, span) -> bool:
        """ "I'm 6 weeks post-op", "3 weeks into physio": a pattern match that the next word makes about something else."""
        rule = getattr(span._, "target_rule", None)
        group = self.groups[span.label_]
        if rule is None or not group.patterns_not_followed_by or " pattern " not in str(rule.literal):
            return False
        if not re.search(r"(wks?|weeks?|w|months?|mths?|mos?|tri|trimester)\W*$", span[-1].lower_ if len(span) else ""):
            return False  # "our 12 week scan on friday": the pattern ends with the scan, not with weeks after something
        following = span.doc[span.end : span.end + 1]
        return bool(len(following)) and following[0].lower_ in group.patterns_not_followed_by

    def _sentence_role(self, sentence, group: ConditionGroup, booked_earlier: bool) -> str:
        """The role of a condition a whole sentence is about (no span to attach cues to): every cue in the sentence
        counts, whatever its reach, so a learned reading is kept only where nothing says it is not the patient now."""
        doc = sentence.doc
        categories = {m.category for m in _cues(doc) if sentence.start <= m.modifier_span[0] < sentence.end and not _numbered(m, doc)}
        if "NEGATED_EXISTENCE" in categories:
            return "negated"
        if "CURRENT" not in categories and ("RESOLVED" in categories or "HISTORICAL" in categories or _long_ago_in(sentence)):
            return "historical"
        booked_for = booked_earlier or self.books_for_someone(doc)
        if "OCCUPATION" in categories and not booked_for:
            return "other_person"
        if "FAMILY" in categories and not (booked_for or group.patient_even_if_family):
            return "other_person"
        if "FAMILY" in categories and not booked_earlier and self.says_self_patient(doc):
            return "other_person"
        places_self = bool(self.self_reference.search(doc.text.lower()))
        if ("HYPOTHETICAL" in categories or "GENERIC" in categories) and not places_self:
            return "hypothetical"
        if not self._has_first_person(sentence) and not booked_for and not places_self and self._is_question(sentence):
            return "hypothetical"
        return "patient"

    def _systemic(self, key: str, mentions: list[Mention]) -> bool:
        words = self.groups[key].systemic
        return any(m.group == key and m.role == "patient" and any(w in m.text.lower() for w in words) for m in mentions)

    def _worsening_after_session(self, doc) -> bool:
        """A symptom tied to a session that lasts or gets worse ("keeps growing", "hasn't eased since my needling"),
        not after a negation ("not red or hot or growing")."""
        text = doc.text.lower()
        if not self.aftermath.search(text):
            return False
        for match in self.worsening.finditer(text):
            before = text[max(0, match.start() - 40) : match.start()].split()[-6:]
            if not any(word.strip(",.") in _NEGATIONS for word in before):
                return True
        return False

    def _asks_ahead(self, doc) -> bool:
        """The message asks what to do if something happens, and says nothing is happening now."""
        current = any(m.category == "CURRENT" for m in _cues(doc))
        return not current and bool(self.asking_ahead.search(doc.text.lower()))

    def _learned_mentions(
        self,
        doc,
        seen: set[str],
        topics: TopicReader,
        booked_earlier: bool,
        another: Callable[[set[str]], bool] | None = None,
    ) -> list[Mention]:
        """Conditions the lexicon did not see at all, from the learned reading of each sentence, with the sentence's role.
        A sentence where the lexicon found a condition, or a phrase it knows is harmless ("2nd trimester of uni"), is
        not read again, and a child's age is the lexicon's to judge (its age rules), not a reading."""
        known = [e for e in doc.ents if e.label_ in self.harmless or e.label_ in self.condition_keys]
        sentences = [s for s in doc.sents if len(s) > 2 and not any(s.start <= e.start < s.end for e in known)]
        if not sentences or (seen and another is not None and not another(seen)):
            return []
        spans = [(s.start_char, s.end_char) for s in sentences]
        mentions = []
        for sentence, group in zip(sentences, topics(doc.text, spans), strict=True):
            if group and group in self.groups and group not in seen and not self.groups[group].max_child_age:
                unless = self.groups[group].not_read_in
                if unless is not None and unless.search(sentence.text.lower()):
                    continue  # "my baby is 3 months and I want my neck done": a birth that happened, not a pregnancy
                role = self._sentence_role(sentence, self.groups[group], booked_earlier)
                mentions.append(Mention(group, sentence.text, sentence.start_char, sentence.end_char, role, "learned"))
                seen.add(group)
        return mentions

    def analyse(
        self,
        text: str,
        booked_earlier: bool = False,
        topics: TopicReader | None = None,
        another: Callable[[set[str]], bool] | None = None,
    ) -> Analysis:
        """Mentions with roles; ``booked_earlier``: an earlier message of the conversation booked for someone else;
        ``topics``: the learned condition reader, for conditions in words the lexicon does not hold; ``another``: whether
        the whole message may be about a condition other than those the lexicon saw (if not, no sentence is read)."""
        doc = self._doc(text)
        ents = [e for e in doc.ents if e.label_ in self.groups]  # harmless phrases are dropped
        ents = [e for e in ents if not (e.label_ == "needle_phobia" and (self._treatment_needle(e) or self._mild_fear(e)))]
        ents = [e for e in ents if not (self.groups[e.label_].max_child_age and _a_baby(e))]
        ents = [e for e in ents if not self._pattern_followed_by_other_event(e)]
        ents = [e for e in ents if not _not_a_stage(e)]
        lexicon = [Mention(e.label_, e.text, e.start_char, e.end_char, self.role(e, booked_earlier)) for e in ents]
        seen = {m.group for m in lexicon}
        learned = self._learned_mentions(doc, seen, topics, booked_earlier, another) if topics is not None else []
        mentions = lexicon + learned
        conditions = [m.group for m in mentions if self.groups[m.group].kind == "condition" and m.role == "patient"]
        self_patient = self.says_self_patient(doc)
        explained, chronic, long_standing = self._explained(doc, mentions)
        conditions += [c for c in chronic if c not in conditions]
        # Someone else's symptom told as past ("my brother said his leg went numb after his needling years ago"): a
        # story, not an emergency now. The visitor's own past stays the role rules' (a symptom now is theirs).
        # So is what someone said happened to them at another place ("a friend said she got short of breath after needling at
        # another clinic"), unless a cue says it is happening now ("my son had needling elsewhere and is numb now").
        text = doc.text.lower()
        relayed = bool(self.other_place.search(text)) and bool(self.reported_speech.search(text))
        past_story = {
            id(m)
            for m, e in zip(lexicon, ents, strict=True)
            if m.role == "other_person" and (_told_as_past(e) or (relayed and not _happening_now(e)))
        }
        flags = [
            m.group
            for m, e in zip(lexicon, ents, strict=True)
            if self.groups[m.group].kind == "red_flag"
            and m.group not in explained
            and (m.role == "patient" or (m.role == "other_person" and id(m) not in past_story and (not self_patient or _is_current(e))))
        ]
        # Red-flag groups the lexicon saw only as negated, hypothetical or historical: the learned detector's
        # reading of the same words must not overrule that ("no dizziness", "what if it keeps bleeding?").
        current = {m.group for m in mentions if m.role == "patient" or (m.role == "other_person" and id(m) not in past_story)}
        ruled_out = {m.group for m in mentions if self.groups[m.group].kind == "red_flag" and m.group not in current}
        if self_patient:
            ruled_out |= {m.group for m in mentions if self.groups[m.group].kind == "red_flag" and m.group not in flags}
        return Analysis(
            mentions,
            list(dict.fromkeys(conditions)),
            list(dict.fromkeys(flags)),
            self.books_for_someone(doc),
            sorted(ruled_out),
            sorted(explained),
            long_standing,
            _resolved_in(doc) or bool(self.settled.search(doc.text.lower())),
            self._asks_ahead(doc),
            self._worsening_after_session(doc),
            self._softened(doc, conditions),
        )


@dataclass(frozen=True)
class Analysis:
    mentions: list[Mention]
    conditions: list[str]  # lead to a clinician handoff
    red_flags: list[str]  # lead to urgent-care guidance
    books_for_someone: bool = False  # the visitor arranges treatment for another person ("booking for my nan")
    ruled_out: list[str] = field(default_factory=list)  # red-flag groups seen only negated, hypothetical, historical
    explained: list[str] = field(default_factory=list)  # red-flag groups a disclosed condition or a long past explains
    long_standing: bool = False  # months or years, nothing tying it to a session or to now: not a new symptom
    resolved: bool = False  # a resolution cue and no current-time cue ("it stopped", "fine now"), or "breathing normal"
    asks_ahead: bool = False  # "what do I do if it starts bleeding?": asks about later, nothing happening now
    worsening: bool = False  # tied to a session and lasting or getting worse ("keeps growing since my needling")
    softened: list[str] = field(default_factory=list)  # red-flag groups a disclosed long-term condition may explain


@lru_cache(maxsize=1)
def get_detector() -> ConditionDetector:
    return ConditionDetector()
