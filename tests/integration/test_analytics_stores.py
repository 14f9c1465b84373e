"""Insights, unanswered questions, ratings and 'mark handled' on the clinic's databases: SQLite and a real PostgreSQL.

The conversations are written through Rasa's own SQL tracker store (``events`` table), the ratings and handled
marks go to the handoff database, and everything is read through the console's own wiring
(``Services.from_settings``): on PostgreSQL with ``STORES=production``, one database for both, as deployed.
The figures are the ones ``tests/system/test_console_analytics.py`` checks on SQLite over HTTP.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa.shared.core.events import UserUttered
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from bot.analytics import unanswered
from bot.analytics.feedback import FeedbackStore, Rating
from bot.analytics.insights import compute
from bot.analytics.sources import Analytics
from bot.analytics.unanswered import HandledStore
from bot.config import load_settings
from bot.console.context import Services
from tests.support import postgres
from tests.support.console import csrf_of, running_console
from tests.support.conversations import NOT_COVERED, Exchange, reply_times, sample, write

ZONE = "America/Edmonton"
STORE_VARS = ("STORES", "TRACKER_DATABASE_URL", "HANDOFF_DATABASE_URL", "CLINIC_TIMEZONE", "POSTGRESQL_SCHEMA")


def production_env(url: str) -> dict[str, str]:
    """``STORES=production`` with the POSTGRES_* settings of the database at ``url`` (as docker-compose sets them)."""
    parsed = make_url(url)
    return {
        "STORES": "production",
        "POSTGRES_HOST": str(parsed.host),
        "POSTGRES_PORT": str(parsed.port),
        "POSTGRES_DB": str(parsed.database),
        "POSTGRES_USER": str(parsed.username),
        "POSTGRES_PASSWORD": "",
    }


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in STORE_VARS and not k.startswith(("POSTGRES_", "CONSOLE_"))}


class Stores:
    """The sample week written to one kind of store, rated as the system test rates it."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        if kind == "sqlite":
            tracker: Path | str = tmp / "trackers.db"
            self.env = base_env() | {
                "TRACKER_DATABASE_URL": f"sqlite:///{tracker}",
                "HANDOFF_DATABASE_URL": f"sqlite:///{tmp / 'handoffs.db'}",
            }
        else:
            tracker = postgres.fresh_database()
            self.env = base_env() | production_env(tracker)
        self.env["CLINIC_TIMEZONE"] = ZONE
        self.tracker = tracker  # where sample() and write() put conversations
        self.saved = sample(tracker)
        self.services = Services.from_settings(load_settings(self.env))
        assert self.services.analytics is not None
        self.analytics: Analytics = self.services.analytics
        self.hurt = reply_times(self.saved, "web-2", "ask_does_it_hurt")
        self.what = reply_times(self.saved, "web-1", "ask_what_is_dry_needling")
        self.analytics.feedback.record(Rating(self.hurt, True, "ask_does_it_hurt", "answer"))
        self.analytics.feedback.record(Rating(self.hurt, False, "ask_does_it_hurt", "answer"))  # changed their mind
        self.analytics.feedback.record(Rating(self.what, True, "ask_what_is_dry_needling", "answer"))

    def week(self) -> tuple[datetime, datetime]:
        until = datetime.now(UTC) + timedelta(minutes=1)
        return until - timedelta(days=7), until

    def close(self) -> None:
        self.analytics.reader().dispose()
        self.services.handoffs.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    made = Stores(request.param, tmp_path_factory.mktemp(request.param))
    yield made
    made.close()


def test_the_production_settings_read_both_from_postgresql(stores: Stores) -> None:
    urls = {make_url(stores.analytics.tracker_url()).get_backend_name(), stores.analytics.feedback.engine.url.get_backend_name()}
    assert urls == {stores.kind}


def test_insights_count_days_topics_rates_and_channels(stores: Stores) -> None:
    since, until = stores.week()
    turns, ratings = stores.analytics.period(since, until)
    zone = ZoneInfo(ZONE)
    result = compute(turns, ratings, since.astimezone(zone).date(), until.astimezone(zone).date(), zone)
    assert (result.conversations, result.questions) == (6, 11)  # the page's own /greet requests are not questions
    starts = Counter(
        datetime.fromtimestamp(next(e for e in events if isinstance(e, UserUttered)).timestamp, zone).date()
        for events in stores.saved.values()
    )
    assert {d: n for d, n in result.per_day if n} == dict(starts) and sum(n for _, n in result.per_day) == 6
    assert (result.handoff.count, result.urgent.count, result.handoff.percent, result.urgent.percent) == (1, 1, 16.7, 16.7)
    assert (result.not_covered.count, result.not_covered.percent, result.fallback.count, result.fallback.percent) == (3, 27.3, 2, 18.2)
    assert dict(result.topics) == {"ask_what_is_dry_needling": 2, "ask_does_it_hurt": 1, "ask_is_it_safe": 1}
    assert dict(result.channels) == {"webchat": 3, "twilio": 2, "telegram": 1}
    assert (result.helpful.count, result.helpful.of, result.helpful.percent) == (1, 2, 50.0)  # one vote per reply: the changed one
    assert result.ratings_by_topic == {"ask_does_it_hurt": (0, 1), "ask_what_is_dry_needling": (1, 0)}
    old_turns, old_ratings = stores.analytics.period(since - timedelta(days=30), since)
    assert old_turns == [] and old_ratings == []  # the window bounds both


def test_ratings_keep_one_vote_per_reply_and_no_identity(stores: Stores) -> None:
    store = FeedbackStore(str(stores.analytics.feedback.engine.url.render_as_string(hide_password=False)))  # as the Rasa server opens it
    assert store.since(0) == [
        Rating(stores.hurt, False, "ask_does_it_hurt", "answer"),
        Rating(stores.what, True, "ask_what_is_dry_needling", "answer"),
    ]
    assert store.since(stores.hurt, stores.what) == [Rating(stores.hurt, False, "ask_does_it_hurt", "answer")]  # the exact stored reference
    columns = [c["name"] for c in inspect(store.engine).get_columns("answer_feedback")]
    assert columns == ["reply_at", "helpful", "topic", "kind"]  # no sender, no address, no text
    store.engine.dispose()


def test_unanswered_questions_are_grouped_and_a_group_marked_handled_stays_handled(stores: Stores) -> None:
    since, until = stores.week()
    turns, ratings = stores.analytics.period(since, until)
    items = unanswered.collect(turns, ratings)
    groups = unanswered.group(items, stores.analytics.encode)
    texts = [sorted(i.text for i in g.items) for g in groups]
    swim = ["Can I go swimming after dry needling?", "Can I swim after the needles?", "is it ok to swim in a pool after my session"]
    assert texts[0] == swim and groups[0].reasons() == {unanswered.NOT_COVERED: 3}  # largest first
    hurt = next(g for g in groups if [i.text for i in g.items] == ["Does it hurt?"])
    assert hurt.reasons() == {unanswered.UNHELPFUL: 1} and hurt.topics() == ["ask_does_it_hurt"]
    price = [i for i in items if unanswered.FALLBACK in i.reasons]
    assert sorted(i.text for i in price) == ["how much does a session cost", "what is the price of dry needling, call me at [number]"]
    assert not any("0188" in i.text for i in items)

    assert stores.analytics.handled.mark(groups[0].id, groups[0].keys, "clin", 7) == 3
    assert stores.analytics.handled.mark(groups[0].id, groups[0].keys, "clin", 7) == 0  # already handled
    again = unanswered.collect(*stores.analytics.period(since, until))
    marks = stores.analytics.handled.handled(i.key for i in again)
    assert set(marks) == set(groups[0].keys) and {m.marked_by for m in marks.values()} == {"clin"}
    assert all(m.marked_at.tzinfo is not None and abs(m.marked_at - datetime.now(UTC)) < timedelta(minutes=5) for m in marks.values())
    open_texts = {i.text for i in again if i.key not in marks}
    assert not any("swim" in t for t in open_texts) and "Does it hurt?" in open_texts

    asked_again = (datetime.now(UTC).timestamp() - 60, "webchat", [Exchange("Can I swim after the needles?", "not_covered", [NOT_COVERED])])
    write(stores.tracker, {"web-9": asked_again})  # the same question asked again later is a new, unhandled question
    newest = unanswered.collect(*stores.analytics.period(since, datetime.now(UTC) + timedelta(minutes=1)))
    fresh = [i for i in newest if i.text == "Can I swim after the needles?" and i.key not in marks]
    assert len(fresh) == 1


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_servers_starting_together_create_the_tables_once(kind: str, tmp_path: Path) -> None:
    """The Rasa servers (ratings) and the console (handled marks) share one database and create its tables on first use."""
    url = f"sqlite:///{tmp_path / 'handoffs.db'}" if kind == "sqlite" else postgres.fresh_database()
    engines = [create_engine(url, future=True) for _ in range(6)]
    stores: list[Any] = [FeedbackStore(e) if n % 2 else HandledStore(e) for n, e in enumerate(engines)]
    start = threading.Barrier(len(stores))
    failed: list[str] = []

    def first_use(n: int) -> None:
        start.wait()
        try:
            if n % 2:
                stores[n].record(Rating(1_767_268_800.0 + n, n > 2, None, "answer"))
            else:
                stores[n].mark("0" * 16, [f"{n:032x}"], "clin")
        except Exception as exc:  # reported below
            failed.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failed == []
    assert [r.reply_at for r in stores[1].since(0)] == [1_767_268_801.0, 1_767_268_803.0, 1_767_268_805.0]
    assert set(stores[0].handled(f"{n:032x}" for n in range(6))) == {f"{n:032x}" for n in (0, 2, 4)}
    for engine in engines:
        engine.dispose()


def test_the_tracker_store_in_a_postgresql_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa puts its tables in POSTGRESQL_SCHEMA when set; the insights read them there."""
    url = postgres.fresh_database()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA rasa")
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "rasa")  # read by Rasa's store as it connects
    sample(url)
    assert "events" in inspect(engine).get_table_names(schema="rasa") and "events" not in inspect(engine).get_table_names()
    engine.dispose()
    services = Services.from_settings(load_settings(base_env() | production_env(url) | {"POSTGRESQL_SCHEMA": "rasa"}))
    assert services.analytics is not None
    turns, _ = services.analytics.period(datetime.now(UTC) - timedelta(days=7), datetime.now(UTC))
    assert len({t.conversation for t in turns}) == 6 and sum(t.not_covered for t in turns) == 3
    services.analytics.reader().dispose()
    services.handoffs.engine.dispose()


def test_the_console_pages_on_postgresql(tmp_path: Path) -> None:
    """The insights and unanswered pages, and 'Mark handled', served from PostgreSQL (production settings)."""
    url = postgres.fresh_database()
    saved = sample(url)
    env = production_env(url) | {"CLINIC_TIMEZONE": ZONE, "HANDOFF_DATABASE_URL": "", "TRACKER_DATABASE_URL": ""}
    with running_console(tmp_path, env, accounts=("clin",)) as console:
        analytics = console.services.analytics
        assert analytics is not None and analytics.feedback.engine.url.get_backend_name() == "postgresql"
        analytics.feedback.record(Rating(reply_times(saved, "web-2", "ask_does_it_hurt"), False, "ask_does_it_hurt", "answer"))
        analytics.feedback.record(
            Rating(reply_times(saved, "web-1", "ask_what_is_dry_needling"), True, "ask_what_is_dry_needling", "answer")
        )
        http = console.sign_in("clin")
        text = text_of(http.get(f"{console.url}/insights?days=7", timeout=30).text)
        assert "6 conversations" in text and "11 questions" in text
        assert "16.7% handoff rate (1 conversations)" in text and "27.3% not covered (3 questions)" in text
        assert "50.0% answers rated helpful (1 of 2 ratings)" in text and "Website chat 3" in text and "SMS 2" in text
        page = http.get(f"{console.url}/unanswered?days=7", timeout=60)
        assert page.status_code == 200
        form = re.search(r'<form method="post" action="/unanswered/handled".*?</form>', page.text, re.S)
        assert form is not None and "swim" in text_of(page.text[page.text.index('<li class="group">') : form.start()]).lower()
        group = re.search(r'name="group" value="([0-9a-f]{16})"', form.group(0))
        assert group is not None
        keys = re.findall(r'name="key" value="([0-9a-f]{32})"', form.group(0))
        data: dict[str, Any] = {"csrf_token": csrf_of(page.text), "group": group.group(1), "key": keys, "days": "7"}
        done = http.post(f"{console.url}/unanswered/handled", data=data, allow_redirects=False, timeout=10)
        assert done.status_code == 303
        after = http.get(console.url + done.headers["Location"], timeout=60).text
        assert "swim" not in after.lower() and "Does it hurt?" in after
        handled = http.get(f"{console.url}/unanswered?days=7&show=handled", timeout=60).text
        assert "Marked handled by clin" in handled and "swim" in handled.lower()
    assert not (tmp_path / "handoffs.db").exists() and not (tmp_path / "trackers.db").exists()  # nothing went to SQLite
    engine = create_engine(url)
    assert {"events", "answer_feedback", "unanswered_handled", "audit_log"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
