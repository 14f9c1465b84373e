"""E-mail notifications through the outbox, against a real SMTP server (aiosmtpd) on loopback:
delivered over STARTTLS with a login or over TLS, retried while the server is down or refuses,
never sent twice, and never carrying what the visitor said."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actions import handoff as actions
from bot.config import EmailSettings
from bot.handoff.mail import message_id
from bot.handoff.outbox import outbox
from bot.handoff.store import HandoffRecord, HandoffStore
from tests.support import postgres
from tests.support.smtp_server import certificate, smtp_server

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRETS = ("Jane Doe", "jane.doe@example.com", "pregnancy", "I'm 20 weeks pregnant", "contraindication", "conv-secret")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return postgres.database_url(request.param, tmp_path)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return certificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def trusted(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The assistant trusts the test server's certificate the way an admin would add a private CA: SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    yield


def settings(port: int, **changes: object) -> EmailSettings:
    base = EmailSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="assistant@roarphysio.example",
        recipients=("frontdesk@roarphysio.example", "clinic@roarphysio.example"),
        console_url="https://console.roarphysio.example/",
        timezone="America/Toronto",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def create(store: HandoffStore, reason: str = "contraindication") -> HandoffRecord:
    if reason == "urgent":
        return store.create("conv-secret", "urgent", ["chest_pain"])
    return store.create(
        "conv-secret",
        reason,  # type: ignore[arg-type]
        ["pregnancy"],
        name="Jane Doe",
        contact="jane.doe@example.com",
        consent_at=CONSENT,
        transcript=[{"from": "visitor", "text": "I'm 20 weeks pregnant"}],
    )


def email_rows(store: HandoffStore) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.kind == "email").order_by(outbox.c.id)).all()


def test_starttls_with_login_delivers_one_message_without_health_data(db_url: str, cert: tuple[Path, Path], trusted: None) -> None:
    port = postgres._free_port()
    with smtp_server(port, mode="starttls", cert=cert, credentials=("assistant", "s3cret")) as server:
        store = HandoffStore(db_url, store_transcript=True, email=settings(port, security="starttls", user="assistant", password="s3cret"))
        record = create(store)
        assert store.outbox_pending() == 1  # queued with the record
        assert store.deliver_outbox() == 1
        assert store.deliver_outbox(now=datetime.now(UTC) + timedelta(days=1)) == 0  # never again
    (received,) = server.received
    assert received.tls and received.login == "assistant"
    assert received.mail_from == "assistant@roarphysio.example"
    assert received.rcpt_tos == ["frontdesk@roarphysio.example", "clinic@roarphysio.example"]
    message = received.message
    local = record.created_at.astimezone(ZoneInfo("America/Toronto"))
    assert message["Subject"] == f"New clinician request #{record.id[:8]} at {local:%H:%M}"
    assert message["Message-ID"].strip() == message_id(record.id, email_rows(store)[0].id, "assistant@roarphysio.example")
    body = message.get_content()
    assert "open the console: https://console.roarphysio.example/" in body and record.id in body
    seen = (received.raw.decode() + str(dict(message)) + body).lower()  # as sent, and decoded
    leaked = [s for s in SECRETS if s.lower() in seen]
    assert leaked == [], f"health or personal data in the e-mail: {leaked}"
    assert (email_rows(store)[0].attempts, email_rows(store)[0].last_error) == (0, None)


def test_tls_from_the_first_byte_and_urgent_wording(cert: tuple[Path, Path], trusted: None, tmp_path: Path) -> None:
    port = postgres._free_port()
    with smtp_server(port, mode="ssl", cert=cert) as server:
        store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", email=settings(port, security="ssl", console_url=None))
        record = create(store, "urgent")
        assert store.deliver_outbox() == 1
    (message,) = server.messages()
    assert server.received[0].tls
    assert message["Subject"].startswith(f"New urgent record #{record.id[:8]} at ")
    assert "open the staff console" in message.get_content() and "chest" not in server.received[0].raw.decode().lower()


def test_an_untrusted_certificate_is_refused(cert: tuple[Path, Path], tmp_path: Path) -> None:
    """Without SSL_CERT_FILE the self-signed certificate is not trusted: nothing is sent, the row waits."""
    port = postgres._free_port()
    with smtp_server(port, mode="starttls", cert=cert) as server:
        store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", email=settings(port, security="starttls"))
        create(store)
        assert store.deliver_outbox() == 0
    assert server.received == []
    assert email_rows(store)[0].last_error == "SSLCertVerificationError" and store.outbox_pending() == 1


def test_server_down_then_up_delivers_once(db_url: str) -> None:
    port = postgres._free_port()  # nobody listening yet
    store = HandoffStore(db_url, email=settings(port))
    records = [create(store), create(store, "clinician_request"), create(store, "urgent")]
    t0 = max(r.created_at for r in records)
    assert store.deliver_outbox(now=t0) == 0
    assert [(row.attempts, row.last_error) for row in email_rows(store)] == [(1, "ConnectionRefusedError")] * 3
    assert all(row.next_attempt_at == t0 + timedelta(seconds=5) for row in email_rows(store))  # backoff as for the webhook

    with smtp_server(port) as server:
        assert store.deliver_outbox(now=t0 + timedelta(seconds=4)) == 0 and server.received == []  # not due yet
        assert store.deliver_outbox(now=t0 + timedelta(seconds=5)) == 3
        assert store.deliver_outbox(now=t0 + timedelta(hours=2)) == 0
    subjects = sorted(m["Subject"].split(" #")[0] for m in server.messages())
    assert subjects == ["New clinician request", "New clinician request", "New urgent record"]
    assert len({m["Message-ID"] for m in server.messages()}) == 3 and store.outbox_pending() == 0


def test_temporary_refusal_is_retried_and_sent_once(tmp_path: Path) -> None:
    port = postgres._free_port()
    with smtp_server(port, fail_first=2) as server:
        store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", email=settings(port))
        record = create(store)
        t0 = record.created_at
        assert store.deliver_outbox(now=t0) == 0
        assert email_rows(store)[0].last_error == "SMTP 451"
        assert store.deliver_outbox(now=t0 + timedelta(seconds=5)) == 0
        assert store.deliver_outbox(now=t0 + timedelta(seconds=15)) == 1
        assert store.deliver_outbox(now=t0 + timedelta(days=1)) == 0
    assert server.data_commands == 3 and len(server.received) == 1
    assert email_rows(store)[0].attempts == 2


def test_a_connection_lost_after_acceptance_is_not_a_failure(tmp_path: Path) -> None:
    """The server accepted the message, then the connection broke at QUIT: resending would duplicate it."""
    port = postgres._free_port()
    with smtp_server(port, drop_on_quit=True) as server:
        store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", email=settings(port))
        create(store)
        assert store.deliver_outbox() == 1
        assert store.deliver_outbox(now=datetime.now(UTC) + timedelta(days=1)) == 0
    assert len(server.received) == 1 and store.outbox_pending() == 0


def test_email_and_webhook_are_retried_independently(tmp_path: Path) -> None:
    """One row per kind: a dead webhook does not hold the e-mail back, and the delivered e-mail is not resent."""
    port = postgres._free_port()
    dead_hook = f"http://127.0.0.1:{postgres._free_port()}/hook"
    with smtp_server(port) as server:
        store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}", webhook_url=dead_hook, email=settings(port))
        record = create(store)
        assert store.outbox_pending() == 2
        assert store.deliver_outbox(now=record.created_at) == 1
        assert store.outbox.pending("email") == 0 and store.outbox.pending("webhook") == 1
        assert store.deliver_outbox(now=record.created_at + timedelta(seconds=5)) == 0  # the webhook fails again
    assert len(server.received) == 1


def test_the_action_server_sends_the_email_right_after_a_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Configured from the environment only, as the action server is: its outbox worker sends at once."""
    port = postgres._free_port()
    env = {"HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HANDOFF_EMAIL_TO": "frontdesk@roarphysio.example"}
    env |= {"HANDOFF_EMAIL_FROM": "assistant@roarphysio.example", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    actions.get_store.cache_clear()
    with smtp_server(port) as server:
        store = actions.get_store()
        (worker,) = [listener.__self__ for listener in store._listeners]  # type: ignore[attr-defined]
        try:
            record = create(store, "urgent")
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            while not server.received and datetime.now(UTC) < deadline:
                time.sleep(0.05)
        finally:
            worker.stop()
            actions.get_store.cache_clear()
    (message,) = server.messages()
    assert message["Subject"].startswith(f"New urgent record #{record.id[:8]} at ")
