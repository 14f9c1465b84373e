"""Two detectors, one decision: what the safety screen says about a message.

The lexicon detector (medspaCy: precise, explainable, gives roles) and the learned detector
(sentence embeddings: reads everyday wording) are combined here, once, for the NLU
component and for the channels' length limit alike:

- red flag: urgent if EITHER detector says so (recall first); when only the learned one is
  unsure (between its two thresholds), ask one quick Yes/No question, never stay silent;
- disclosure: the lexicon detector's role logic decides (patient, someone booked for, or
  not: negated, other person, hypothetical, historical).

The order is urgent, then disclosure, then the quick question: an emergency is handled
first, and a disclosure is never lost behind a question about a symptom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from bot.safety.condition_topics import ConditionTopics, get_condition_topics
from bot.safety.detector import Analysis, ConditionDetector, get_detector
from bot.safety.learned import LearnedDetector, Prediction, get_learned_detector
from bot.safety.lexicon import all_groups

Kind = Literal["urgent", "check", "disclose"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Decision:
    kind: Kind | None
    analysis: Analysis
    red_flags: list[str] = field(default_factory=list)  # groups behind an urgent decision
    check_group: str | None = None  # the symptom group a quick question asks about
    learned: Prediction | None = None


@lru_cache(maxsize=1)
def get_chronic_as() -> dict[str, str]:
    """Red-flag group -> the condition months or years of that symptom are (data/lexicon/red_flags.yml ``chronic_as``)."""
    return {k: g.chronic_as for k, g in all_groups().items() if g.chronic_as}


@dataclass(frozen=True)
class Earlier:
    """The visitor's previous message in this session, and whether it got urgent guidance."""

    text: str
    urgent: bool = False


def decide(analysis: Analysis, learned: Prediction | None, urgent_at: float, check_at: float) -> Decision:
    """The one safety decision for a message (pure: both detectors' outputs in, a decision out)."""
    if analysis.red_flags:
        return Decision("urgent", analysis, list(analysis.red_flags), learned=learned)
    # A symptom a disclosed condition or a long past explains ("numb feet from my neuropathy", "tingling for months"):
    # the condition's handoff, not an emergency.
    if learned is not None and learned.group and not analysis.red_flags and analysis.long_standing and not analysis.resolved:
        chronic = get_chronic_as().get(learned.group)
        if chronic and learned.urgent >= check_at:
            conditions = list(dict.fromkeys([*analysis.conditions, chronic]))
            return Decision("disclose", replace(analysis, conditions=conditions), learned=learned)
    if learned is not None and learned.group in analysis.explained:
        learned = Prediction(0.0, learned.group)
    # The lexicon saw the symptom only negated, hypothetical or in the past ("what if it keeps bleeding?"), or the
    # message says it is over ("it stopped straight away", "fine now"): each lowers the learned reading one step
    # (urgent -> quick question -> nothing). One step only: recall first, the quick question stays a safety net.
    # A message that only asks what to do if it happens ("what do I do if it starts bleeding?") counts as one step, and
    # so does a disclosed long-term condition that may explain the symptom ("COPD, on oxygen at night").
    if learned is not None and learned.group:
        steps = int(learned.group in analysis.ruled_out) + int(analysis.resolved or analysis.asks_ahead)
        steps += int(learned.group in analysis.softened)
        for _ in range(steps):
            learned = Prediction(check_at if learned.urgent >= urgent_at else 0.0, learned.group)
    # Severity: an after-effect the learned reading is unsure about, tied to a session and lasting or getting worse
    # ("the red patch at the needle site keeps growing"), with nothing lowering it, is a red flag (one step up).
    if (
        learned is not None
        and learned.group
        and check_at <= learned.urgent < urgent_at
        and analysis.worsening
        and learned.group not in analysis.ruled_out
        and not (analysis.resolved or analysis.asks_ahead)
    ):
        learned = Prediction(urgent_at, learned.group)
    if learned is not None and learned.group and learned.urgent >= urgent_at:
        return Decision("urgent", analysis, [learned.group], learned=learned)
    if analysis.conditions:
        return Decision("disclose", analysis, learned=learned)
    if learned is not None and learned.group and learned.urgent >= check_at:
        return Decision("check", analysis, check_group=learned.group, learned=learned)
    return Decision(None, analysis, learned=learned)


class SafetyScreen:
    def __init__(
        self, detector: ConditionDetector | None = None, learned: LearnedDetector | None = None, topics: ConditionTopics | None = None
    ) -> None:
        self.detector = detector or get_detector()
        self.learned = learned if learned is not None else get_learned_detector()
        self.topics = topics if topics is not None else get_condition_topics()

    def read_topics(self, text: str, spans: list[tuple[int, int]]) -> list[str | None]:
        """The learned condition reading of each sentence of a message (the detector gives it its role).

        A message of one sentence is read by its own vector; the sentences of a longer one by vectors pooled from the
        message's one forward pass, which the NLU featurizer has already run (a pass per sentence was the screen's
        largest cost)."""
        from bot.nlu.encoder import get_encoder

        if len(spans) == 1 and text[spans[0][0] : spans[0][1]].strip() == text.strip():
            return [topic.group for topic in self.topics.predict([text])]
        return [topic.group for topic in self.topics.predict_vectors(get_encoder().span_vectors(text, spans))]

    def screen(self, text: str, booked_earlier: bool = False, earlier: Earlier | None = None) -> Decision:
        """The decision for one message; ``booked_earlier``: the conversation already booked for someone else;
        ``earlier``: the visitor's previous message in this session."""
        decision = self._screen(text, booked_earlier)
        return self.follow_up(decision, text, earlier) if earlier and earlier.text.strip() and text.strip() else decision

    def follow_up(self, decision: Decision, text: str, earlier: Earlier) -> Decision:
        """A message that goes on about the previous one ("still going, 20 min now" after "the needle spot is bleeding
        a bit"): read together, the two may be a red flag that neither is alone. Only a message that itself says the
        symptom lasts or gets worse is read with the one before (a forward pass of both; "ok, going to urgent care
        now" is no new alarm), and the one decision decides, with that severity cue: only raises, to urgent.
        The message's own reading counts too when the one before tied it to a session ("had needles in my forearm")
        or got urgent guidance (the emergency goes on: "10+ min pressing, going through tissues")."""
        if decision.kind == "urgent" or not self.detector.worsening.search(text.lower()):
            return decision
        readings = [self.learned.predict([f"{earlier.text.strip()}\n{text.strip()}"])[0]]
        if decision.learned is not None and (earlier.urgent or self.detector.aftermath.search(earlier.text.lower())):
            readings.append(decision.learned)
        reading = max(readings, key=lambda r: r.urgent)
        raised = decide(replace(decision.analysis, worsening=True), reading, self.learned.urgent_at, self.learned.check_at)
        return raised if raised.kind == "urgent" else decision

    def _screen(self, text: str, booked_earlier: bool) -> Decision:
        # The message's vector first (in the Rasa server the NLU featurizer has already computed it; the encoder
        # remembers it): a one-sentence message's topic reading reuses it, and a message that reads as about no
        # condition at all is not read sentence by sentence (each sentence would cost a forward pass).
        prediction = self.learned.predict([text])[0] if text.strip() else None
        topics = self.read_topics if text.strip() and self.topics.may_mention_a_condition(text) else None

        def another(seen: set[str]) -> bool:  # a condition the lexicon did not see: only then read each sentence
            return self.topics.may_mention_a_condition(text, seen)

        analysis = self.detector.analyse(text, booked_earlier, topics, another)
        return decide(analysis, prediction, self.learned.urgent_at, self.learned.check_at)

    def excerpt(self, text: str, limit: int) -> str | None:
        """For a message over the length limit: the sentences that carry a safety finding, or None.

        A long message is screened sentence by sentence before it is refused for its length,
        so an emergency or a disclosure anywhere in it still reaches the assistant.
        """
        sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
        if not sentences:
            return None
        predictions = self.learned.predict([s[:2000] for s in sentences])
        kept: list[str] = []
        for sentence, prediction in zip(sentences, predictions, strict=True):
            analysis = self.detector.analyse(sentence, topics=self.read_topics)
            decision = decide(analysis, prediction, self.learned.urgent_at, self.learned.check_at)
            if decision.kind is not None:
                kept.append(sentence)
        if not kept:
            return None
        joined = " ".join(kept)
        return joined if len(joined) <= limit else joined[:limit].rsplit(" ", 1)[0]


@lru_cache(maxsize=1)
def get_screen() -> SafetyScreen:
    """The process's screen (the detectors are loaded once and shared)."""
    return SafetyScreen()
