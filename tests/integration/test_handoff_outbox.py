"""Webhook outbox: a failing receiver delays notifications but never loses or duplicates them; older outboxes are upgraded."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, insert, inspect, select

from bot.handoff import outbox as handoff_outbox
from bot.handoff.outbox import OutboxWorker, backoff, outbox
from bot.handoff.store import HandoffRecord, HandoffStore
from bot.handoff.webhook import SIGNATURE_HEADER
from tests.support import postgres

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "webhook-secret"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 503 to the first ``fail_first`` requests."""

    def __init__(self, port: int = 0, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls = 0
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.calls += 1
                    failing = receiver.calls <= receiver.fail_first
                    if not failing:
                        receiver.accepted.append((dict(self.headers), body))
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def records(self) -> list[dict]:
        return [json.loads(body) for _, body in self.accepted]


@contextlib.contextmanager
def receiver(**kwargs: int) -> Iterator[Receiver]:
    r = Receiver(**kwargs)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres.database_url(request.param, tmp_path)


def create(store: HandoffStore, conversation_id: str = "conv-1") -> HandoffRecord:
    return store.create(
        conversation_id,
        "contraindication",
        ["pregnancy"],
        name="Jane Doe",
        contact="jane@example.com",
        consent_at=CONSENT,
        transcript=[{"user": "I'm pregnant"}],
    )


def outbox_rows(store: HandoffStore) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert backoff(11).total_seconds() == 3600
    assert backoff(10_000).total_seconds() == 3600


def test_no_webhook_means_no_outbox(db_url: str) -> None:
    store = HandoffStore(db_url)
    create(store)
    assert store.outbox_pending() == 0 and store.deliver_outbox() == 0


def test_http_errors_are_retried_with_backoff_and_delivered_once(db_url: str) -> None:
    with receiver(fail_first=3) as hook:
        store = HandoffStore(db_url, webhook_url=hook.url, webhook_secret=SECRET)
        record = create(store)
        t0 = record.created_at
        assert store.outbox_pending() == 1  # queued in the same commit as the record

        assert store.deliver_outbox(now=t0) == 0  # 503 #1
        row = outbox_rows(store)[0]
        assert (row.attempts, row.last_error, row.next_attempt_at) == (1, "HTTP 503", t0 + timedelta(seconds=5))

        # Not due yet: no request is made before the backoff has passed.
        assert store.deliver_outbox(now=t0 + timedelta(seconds=4)) == 0
        assert hook.calls == 1

        assert store.deliver_outbox(now=t0 + timedelta(seconds=5)) == 0  # 503 #2
        row = outbox_rows(store)[0]
        assert (row.attempts, row.next_attempt_at) == (2, t0 + timedelta(seconds=15))
        assert store.deliver_outbox(now=t0 + timedelta(seconds=14)) == 0 and hook.calls == 2

        assert store.deliver_outbox(now=t0 + timedelta(seconds=15)) == 0  # 503 #3
        assert outbox_rows(store)[0].next_attempt_at == t0 + timedelta(seconds=35)
        assert store.outbox_pending() == 1  # still there: nothing is dropped

        done = t0 + timedelta(seconds=35)
        assert store.deliver_outbox(now=done) == 1
        assert store.deliver_outbox(now=done + timedelta(days=1)) == 0  # delivered rows are never resent
        assert hook.calls == 4 and len(hook.accepted) == 1
        row = outbox_rows(store)[0]
        assert (row.attempts, row.delivered_at, row.last_error) == (3, done, None)
        assert store.outbox_pending() == 0

        headers, body = hook.accepted[0]
        payload = json.loads(body)
        assert payload == record.as_dict(include_transcript=False)
        assert payload["name"] == "Jane Doe" and "transcript" not in payload
        assert headers["Idempotency-Key"] == record.id
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)


def test_closed_port_then_recovery(db_url: str) -> None:
    port = postgres._free_port()
    store = HandoffStore(db_url, webhook_url=f"http://127.0.0.1:{port}/hook")
    records = [create(store, f"conv-{i}") for i in range(3)]
    t0 = max(r.created_at for r in records)
    assert store.deliver_outbox(now=t0) == 0
    assert [row.attempts for row in outbox_rows(store)] == [1, 1, 1]
    assert {row.last_error for row in outbox_rows(store)} == {"ConnectionError"}
    assert store.deliver_outbox(now=t0 + timedelta(seconds=5)) == 0
    assert [row.attempts for row in outbox_rows(store)] == [2, 2, 2]

    with receiver(port=port) as hook:
        assert store.deliver_outbox(now=t0 + timedelta(seconds=14)) == 0  # backoff 10 s not over
        assert store.deliver_outbox(now=t0 + timedelta(seconds=15)) == 3
        assert store.deliver_outbox(now=t0 + timedelta(hours=2)) == 0
    assert sorted(r["id"] for r in hook.records()) == sorted(r.id for r in records)
    assert SIGNATURE_HEADER not in hook.accepted[0][0]  # no secret configured, no signature


def test_transcript_is_sent_only_when_stored(db_url: str) -> None:
    with receiver() as hook:
        store = HandoffStore(db_url, webhook_url=hook.url, store_transcript=True)
        create(store)
        assert store.deliver_outbox() == 1
    assert hook.records()[0]["transcript"] == [{"user": "I'm pregnant"}]


def test_two_deliverers_do_not_send_one_row_twice(db_url: str) -> None:
    with receiver() as hook:
        first = HandoffStore(db_url, webhook_url=hook.url)
        second = HandoffStore(db_url, webhook_url=hook.url)
        for i in range(10):
            create(first, f"conv-{i}")
        threads = [threading.Thread(target=s.deliver_outbox) for s in (first, second, first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(hook.accepted) == 10 and len({r["id"] for r in hook.records()}) == 10


def test_worker_delivers_right_after_create_and_retries(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handoff_outbox, "BACKOFF_BASE", 0.3)  # real time here, so a short backoff
    with receiver(fail_first=1) as hook:
        store = HandoffStore(db_url, webhook_url=hook.url)
        worker = OutboxWorker(store, interval=60.0)  # the periodic pass alone would be far too slow
        worker.start()
        try:
            time.sleep(0.2)  # let the first (empty) pass finish and the worker go to sleep
            record = create(store)
            _wait_for(lambda: hook.calls == 1)  # woken by create; receiver answers 503
            assert hook.accepted == [] and store.outbox_pending() == 1
            # The retry is due 0.3 s later; a wake-up (as the next create gives) after that delivers it.
            time.sleep(0.4)
            worker.wake()
            _wait_for(lambda: len(hook.accepted) == 1)
            assert hook.records()[0]["id"] == record.id
        finally:
            worker.stop()
        assert worker._thread is None


def test_worker_periodic_pass(db_url: str) -> None:
    with receiver() as hook:
        store = HandoffStore(db_url, webhook_url=hook.url)
        create(store)  # queued before the worker exists: only the periodic pass can send it
        worker = OutboxWorker(store, interval=0.1)
        worker.start()
        try:
            _wait_for(lambda: len(hook.accepted) == 1)
        finally:
            worker.stop()


def test_an_outbox_from_before_email_and_chatwoot_is_upgraded_in_place(db_url: str) -> None:
    """A database whose outbox has webhook rows only (no kind, no state) keeps its pending rows and delivers them."""
    record = create(HandoffStore(db_url))  # creates the handoffs table; no notification configured
    engine = create_engine(db_url, future=True)
    old = MetaData()
    old_outbox = Table(
        "handoff_outbox",
        old,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("handoff_id", String(36), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("delivered_at", DateTime(timezone=True)),
        Column("last_error", String(200)),
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE handoff_outbox")
        old.create_all(conn)
        payload = json.dumps(record.as_dict(include_transcript=False), sort_keys=True)
        conn.execute(
            insert(old_outbox).values(
                handoff_id=record.id, payload=payload, created_at=record.created_at, attempts=2, next_attempt_at=record.created_at
            )
        )
    with receiver() as hook:
        store = HandoffStore(db_url, webhook_url=hook.url)
        assert store.outbox_pending() == 1
        assert store.deliver_outbox() == 1
    assert hook.records()[0]["id"] == record.id
    with engine.connect() as conn:
        assert {"kind", "state"} <= {c["name"] for c in inspect(conn).get_columns("handoff_outbox")}
    engine.dispose()
    (row,) = outbox_rows(store)
    assert (row.kind, row.attempts, row.delivered_at is not None) == ("webhook", 2, True)
    HandoffStore(db_url).list()  # a second start finds the columns there and changes nothing


def test_worker_keeps_running_when_the_database_is_down() -> None:
    store = HandoffStore(f"postgresql+psycopg2://postgres@127.0.0.1:{postgres._free_port()}/x", webhook_url="http://127.0.0.1:9/")
    worker = OutboxWorker(store, interval=0.05)
    worker.start()
    try:
        time.sleep(0.3)
        assert worker._thread is not None and worker._thread.is_alive()
    finally:
        worker.stop()


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
