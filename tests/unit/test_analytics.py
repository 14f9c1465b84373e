"""Insights and unanswered questions from stored turns, and the web chat's ratings (bot/analytics/)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from rasa.shared.core.events import BotUttered, UserUttered
from sqlalchemy import create_engine

from bot.analytics.conversations import turns_from_events
from bot.analytics.feedback import FeedbackStore, RateLimiter, Rating, parse_reference, rateable, rating_for, reference
from bot.analytics.insights import compute
from bot.analytics.unanswered import FALLBACK, NOT_COVERED, UNHELPFUL, HandledStore, collect, group, mask_contacts

ZONE = ZoneInfo("America/Edmonton")
DAY = 1_767_268_800.0  # 2026-01-01 12:00 UTC, 05:00 in Edmonton


def user(sender: str, at: float, text: str, intent: str, channel: str = "webchat") -> tuple[str, str, float, str]:
    data = {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "input_channel": channel, "timestamp": at}
    return (sender, "user", at, json.dumps(data))


def bot(sender: str, at: float, custom: dict) -> tuple[str, str, float, str]:
    return (sender, "bot", at, json.dumps({"event": "bot", "text": "…", "data": {"custom": custom}, "timestamp": at}))


ROWS = [
    bot("a", DAY - 1, {}),  # before the visitor wrote: no turn
    user("a", DAY, "/greet", "greet"),
    bot("a", DAY + 1, {}),
    user("a", DAY + 10, "what is it and can I swim after?", "ask_what_is_dry_needling+not_covered"),
    bot(
        "a",
        DAY + 11,
        {"topics": ["ask_what_is_dry_needling"], "questions": ["ask_what_is_dry_needling", "q"], "replies": ["not_covered"]},
    ),
    user("b", DAY + 86_400, "asdfgh", "nlu_fallback", "twilio"),
    bot("b", DAY + 86_401, {"reply": "unsure"}),
    user("b", DAY + 86_410, "chest pain", "urgent", "twilio"),
    bot("b", DAY + 86_411, {"urgent": True}),
    user("c", DAY + 86_500, "/greet", "greet"),  # opened the chat, never asked
    user("d", DAY + 90_000, "Is it safe?", "ask_is_it_safe", "telegram"),
    bot("d", DAY + 90_001, {"topic": "ask_is_it_safe", "passages": [], "sources": []}),
    user("d", DAY + 90_010, "/request_clinician", "request_clinician", "telegram"),
    bot("d", DAY + 90_011, {"handoff": {"reason": "clinician_request"}}),
]


def test_turns_carry_the_reply_kinds_topics_and_channel() -> None:
    turns = turns_from_events(ROWS)
    assert [t.text for t in turns][:3] == ["/greet", "what is it and can I swim after?", "asdfgh"]
    several = turns[1]
    assert several.topics() == ["ask_what_is_dry_needling"] and several.not_covered and not several.fallback
    assert turns[2].fallback and turns[2].channel == "twilio" and turns[3].urgent
    assert turns[-1].handoff and not turns[-1].urgent
    assert turns_from_events([("x", "user", DAY, "not json")])[0].text == ""  # a damaged row is skipped, not fatal


def test_insights_count_conversations_rates_and_days_in_the_clinic_zone() -> None:
    ratings = [Rating(DAY + 90_001, True, "ask_is_it_safe", "answer"), Rating(DAY + 11, False, "ask_what_is_dry_needling", "several")]
    result = compute(turns_from_events(ROWS), ratings, date(2025, 12, 31), date(2026, 1, 3), ZONE)
    assert result.conversations == 3  # 'c' only opened the chat
    assert result.per_day == [(date(2025, 12, 31), 0), (date(2026, 1, 1), 1), (date(2026, 1, 2), 2), (date(2026, 1, 3), 0)]
    assert result.questions == 5  # typed messages and buttons, not the page's /greet
    assert (result.handoff.count, result.urgent.count, result.not_covered.count, result.fallback.count) == (1, 1, 1, 1)
    assert result.handoff.percent == 33.3 and result.not_covered.percent == 20.0
    assert dict(result.topics) == {"ask_what_is_dry_needling": 1, "ask_is_it_safe": 1}
    assert dict(result.channels) == {"webchat": 1, "twilio": 1, "telegram": 1}
    assert (result.helpful.count, result.helpful.of) == (1, 2) and result.ratings_by_topic["ask_is_it_safe"] == (1, 0)


def test_unanswered_collects_fallback_not_covered_and_unhelpful_but_not_buttons() -> None:
    turns = turns_from_events(ROWS)
    items = collect(turns, [Rating(DAY + 90_001, False, "ask_is_it_safe", "answer"), Rating(DAY + 11, True, None, "several")])
    found = {i.text: i.reasons for i in items}
    assert found == {
        "what is it and can I swim after?": {NOT_COVERED},
        "asdfgh": {FALLBACK},
        "Is it safe?": {UNHELPFUL},
    }
    assert next(i for i in items if i.text == "Is it safe?").topics == {"ask_is_it_safe"}
    assert len({i.key for i in items}) == 3 and all(len(i.key) == 32 for i in items)


def test_contact_details_are_masked() -> None:
    text = "call me on (403) 555-0123 or +1 403 555 0199, mail jo.doe+x@example.ca, see www.example.com/a, I'm 45, 10 weeks"
    masked = mask_contacts(text)
    assert masked == "call me on [number] or [number], mail [e-mail], see [link] I'm 45, 10 weeks"


def fake_vectors(texts: list[str]) -> np.ndarray:
    """Unit vectors by first word: same first word, same meaning (for the grouping rule itself)."""
    axes = {"swim": 0, "price": 1, "hurt": 2}
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for n, t in enumerate(texts):
        out[n, axes.get(t.split()[0], 3)] = 1.0
        out[n, 3] += 0.3 * (n % 2)
        out[n] /= np.linalg.norm(out[n])
    return out


def test_grouping_puts_similar_questions_together_largest_first() -> None:
    rows = []
    for n, text in enumerate(["swim a", "price a", "swim b", "hurt a", "swim c", "price b"]):
        rows += [user(f"s{n}", DAY + n, text, "nlu_fallback"), bot(f"s{n}", DAY + n + 0.5, {"reply": "unsure"})]
    groups = group(collect(turns_from_events(rows), []), fake_vectors)
    assert [[i.text for i in g.items] for g in groups] == [["swim a", "swim b", "swim c"], ["price a", "price b"], ["hurt a"]]
    assert groups[0].reasons() == {FALLBACK: 3} and len({g.id for g in groups}) == 3
    assert group([], fake_vectors) == []


def test_grouping_with_the_sentence_encoder() -> None:
    from bot.analytics.sources import sentence_vectors

    texts = [
        "Can I swim after dry needling?",
        "Is dry needling safe during pregnancy?",
        "is it ok to go swimming after my treatment",
        "Is it safe when pregnant?",
        "Can I go to the pool after the needles?",
        "Does dry needling help migraines?",
    ]
    rows = []
    for n, text in enumerate(texts):
        rows += [user(f"e{n}", DAY + n, text, "not_covered"), bot(f"e{n}", DAY + n + 0.5, {"reply": "not_covered"})]
    groups = group(collect(turns_from_events(rows), []), sentence_vectors)
    assert sorted(sorted(i.text for i in g.items) for g in groups) == sorted(
        [sorted([texts[0], texts[2], texts[4]]), sorted([texts[1], texts[3]]), [texts[5]]]
    )


def test_a_rating_must_name_a_rateable_reply_of_the_conversation() -> None:
    answer = BotUttered("Dry needling is…", {"custom": {"topic": "ask_is_it_safe", "sources": []}}, timestamp=DAY + 1.123456)
    urgent = BotUttered("Call 911", {"custom": {"urgent": True}}, timestamp=DAY + 2.5)
    events = [UserUttered("Is it safe?", timestamp=DAY), answer, urgent]
    ref = parse_reference(reference(answer.timestamp))
    assert ref == answer.timestamp
    assert rating_for(events, ref, False) == Rating(answer.timestamp, False, "ask_is_it_safe", "answer")
    assert rating_for(events, DAY + 2.5, False) is None  # an urgent message is not an answer to rate
    assert rating_for(events, DAY + 9.0, True) is None  # no such reply in this conversation
    assert rating_for(events, ref, "yes") is None  # helpful must be true or false
    for junk in ("", "abc", "1e9", "-1767268801.1", "1767268801.1; drop table", None, True, {"a": 1}):
        assert parse_reference(junk) is None
    assert rateable({"topics": ["a", "b"]}) and rateable({"reply": "not_covered"}) and not rateable({"handoff": {}})


def test_rate_limit_per_connection() -> None:
    limiter = RateLimiter(limit=3, window=60)
    assert [limiter.allow("s1", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("s2", now=3)  # another connection is not affected
    assert limiter.allow("s1", now=61)  # the window moved on


def test_feedback_store_keeps_one_vote_per_reply_and_no_identity(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    store = FeedbackStore(engine)
    store.record(Rating(DAY + 1.5, True, "ask_is_it_safe", "answer"))
    store.record(Rating(DAY + 1.5, False, "ask_is_it_safe", "answer"))  # changed their mind
    store.record(Rating(DAY + 99.25, True, None, "clinic_info"))
    assert store.since(DAY) == [Rating(DAY + 1.5, False, "ask_is_it_safe", "answer"), Rating(DAY + 99.25, True, None, "clinic_info")]
    assert store.since(DAY, DAY + 50) == [Rating(DAY + 1.5, False, "ask_is_it_safe", "answer")]
    with engine.connect() as conn:
        columns = [row[1] for row in conn.exec_driver_sql("PRAGMA table_info(answer_feedback)")]
    assert columns == ["reply_at", "helpful", "topic", "kind"]  # no sender, no address, no text


def test_handled_marks_are_kept_once(tmp_path: Path) -> None:
    store = HandledStore(create_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    assert store.mark("0" * 16, ["a" * 32, "b" * 32], "clin", 3) == 2
    assert store.mark("1" * 16, ["b" * 32, "c" * 32], "clin", 3) == 1
    marks = store.handled(["a" * 32, "c" * 32, "d" * 32])
    assert set(marks) == {"a" * 32, "c" * 32} and marks["a" * 32].marked_by == "clin"


@pytest.mark.parametrize("days", ["7", "30", "90", "", "5", "x"])
def test_period_choices(days: str) -> None:
    from datetime import datetime

    from bot.console.period import Period

    period = Period.parse({"days": days}, ZONE, now=datetime(2026, 1, 10, 3, tzinfo=ZoneInfo("UTC")))
    expected = int(days) if days in ("7", "30", "90") else 30
    assert period.days == expected and period.last_day == date(2026, 1, 9)  # 20:00 the day before in Edmonton
    assert (period.last_day - period.first_day).days == expected - 1 and period.since.tzinfo == ZONE
