"""The Chatwoot connector through the outbox, against a loopback stand-in of Chatwoot's API: the calls it
makes, its token on every call, one conversation per handoff however the attempts fail, and nothing of
the handoff in the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import ChatwootSettings
from bot.handoff.outbox import outbox
from bot.handoff.store import HandoffRecord, HandoffStore
from tests.support import postgres
from tests.support.chatwoot_standin import ChatwootStandIn, chatwoot_standin

CONSENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "cw-token-123"
PREFIX = "/api/v1/accounts/3"


@pytest.fixture
def standin() -> Iterator[ChatwootStandIn]:
    with chatwoot_standin(token=TOKEN) as s:
        yield s


def settings(url: str, token: str = TOKEN) -> ChatwootSettings:
    return ChatwootSettings(url=url, account_id=3, inbox_id=7, api_token=token)


def store_for(url: str, tmp_path: Path, token: str = TOKEN, db_url: str | None = None, **kwargs: bool) -> HandoffStore:
    return HandoffStore(db_url or f"sqlite:///{tmp_path / 'h.db'}", chatwoot=settings(url, token), **kwargs)


def create(store: HandoffStore, contact: str = "Jane.Doe@Example.com", name: str | None = "Jane Doe") -> HandoffRecord:
    return store.create(
        "conv-1",
        "contraindication",
        ["pregnancy", "blood_thinners"],
        name=name,
        contact=contact,
        consent_at=CONSENT,
        transcript=[{"from": "visitor", "text": "I'm pregnant and on warfarin"}, {"from": "assistant", "text": "A clinician ..."}],
        channel="webchat",
    )


def row(store: HandoffStore) -> object:
    with store.engine.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.kind == "chatwoot")).one()


def steps(calls: list) -> list[str]:
    return [call.step for call in calls]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_handoff_opens_one_conversation_carrying_its_details(standin: ChatwootStandIn, tmp_path: Path, db: str) -> None:
    store = store_for(standin.url, tmp_path, db_url=postgres.database_url(db, tmp_path), store_transcript=True)
    record = create(store)
    assert store.outbox.pending("chatwoot") == 1
    assert store.deliver_outbox() == 1
    calls = standin.take()
    assert steps(calls) == ["find contact", "create contact", "list conversations", "create conversation"]
    assert all(call.headers.get("api_access_token") == TOKEN for call in calls)
    assert all(call.path.startswith(PREFIX) and "@" not in call.path and "?" not in call.path for call in calls)
    assert calls[0].json["payload"][0] == {"attribute_key": "email", "filter_operator": "equal_to", "values": ["jane.doe@example.com"],
                                           "query_operator": None}  # fmt: skip
    created = {k: calls[1].json[k] for k in ("inbox_id", "name", "email")}
    assert created == {"inbox_id": 7, "name": "Jane Doe", "email": "jane.doe@example.com"}

    (contact,) = standin.contacts.values()
    (conversation,) = standin.conversations.values()
    assert conversation.contact_id == contact["id"] and conversation.inbox_id == 7 and conversation.status == "open"
    assert conversation.custom_attributes == {"handoff_id": record.id}
    (message,) = conversation.messages
    assert message["message_type"] == "incoming"
    details = ["Jane Doe", "Jane.Doe@example.com (email)", "pregnancy, blood_thinners", "visitor: I'm pregnant and on warfarin"]
    details += [record.id, "Consent to be contacted: 2024-05-01 12:00 UTC", "Channel: webchat"]
    assert [d for d in details if d not in message["content"]] == []

    kept = {"contact_id": contact["id"], "conversation_id": conversation.id, "source_id": conversation.source_id}
    assert json.loads(row(store).state) == kept
    assert store.deliver_outbox(now=datetime.now(UTC) + timedelta(days=1)) == 0 and standin.take() == []


def test_no_transcript_unless_the_clinic_stores_them(standin: ChatwootStandIn, tmp_path: Path) -> None:
    store = store_for(standin.url, tmp_path)
    create(store)
    assert store.deliver_outbox() == 1
    (message,) = standin.messages()
    assert "warfarin" not in message["content"] and "Transcript" not in message["content"]
    assert "pregnancy" in message["content"]


def test_urgent_records_open_no_conversation(standin: ChatwootStandIn, tmp_path: Path) -> None:
    store = store_for(standin.url, tmp_path)
    store.create("conv-2", "urgent", ["chest_pain"])
    assert store.outbox.pending("chatwoot") == 0 and store.deliver_outbox() == 0
    assert standin.take() == []


def test_a_wrong_token_is_refused_and_retried_with_backoff(standin: ChatwootStandIn, tmp_path: Path) -> None:
    wrong = store_for(standin.url, tmp_path, token="stale-token")
    record = create(wrong)
    t0 = record.created_at
    assert wrong.deliver_outbox(now=t0) == 0
    assert (row(wrong).attempts, row(wrong).last_error) == (1, "HTTP 401 (find contact)")
    assert standin.contacts == {} and [c.headers["api_access_token"] for c in standin.take()] == ["stale-token"]

    fixed = store_for(standin.url, tmp_path)  # the clinic corrects CHATWOOT_API_TOKEN and restarts
    assert fixed.deliver_outbox(now=t0 + timedelta(seconds=4)) == 0 and standin.take() == []  # backoff not over
    assert fixed.deliver_outbox(now=t0 + timedelta(seconds=5)) == 1
    assert len(standin.conversations) == 1


def test_a_lost_reply_does_not_open_a_second_conversation(standin: ChatwootStandIn, tmp_path: Path) -> None:
    """Chatwoot created the conversation but its reply never arrived: the retry finds it by its handoff id."""
    standin.lose_reply["create conversation"] = 1
    store = store_for(standin.url, tmp_path)
    record = create(store)
    assert store.deliver_outbox(now=record.created_at) == 0
    assert row(store).last_error == "HTTP 502 (create conversation)"
    assert len(standin.conversations) == 1  # it exists, the outbox does not know yet
    standin.take()

    assert store.deliver_outbox(now=record.created_at + timedelta(seconds=5)) == 1
    assert steps(standin.take()) == ["list conversations"]  # contact kept from the first attempt; conversation found
    assert len(standin.contacts) == 1 and len(standin.conversations) == 1 and len(standin.messages()) == 1
    assert json.loads(row(store).state)["conversation_id"] == next(iter(standin.conversations))


def test_a_failure_after_the_contact_reuses_it(standin: ChatwootStandIn, tmp_path: Path) -> None:
    standin.fail["create conversation"] = [503, 500]
    store = store_for(standin.url, tmp_path)
    record = create(store)
    t0 = record.created_at
    assert store.deliver_outbox(now=t0) == 0
    assert steps(standin.take()) == ["find contact", "create contact", "list conversations", "create conversation"]
    assert store.deliver_outbox(now=t0 + timedelta(seconds=5)) == 0
    assert row(store).last_error == "HTTP 500 (create conversation)" and row(store).attempts == 2
    assert store.deliver_outbox(now=t0 + timedelta(seconds=15)) == 1
    assert steps(standin.take()) == ["list conversations", "create conversation"] * 2  # the kept contact, not looked up again
    assert len(standin.contacts) == 1 and len(standin.conversations) == 1


def test_chatwoot_down_then_up(tmp_path: Path) -> None:
    port = postgres._free_port()
    store = store_for(f"http://127.0.0.1:{port}", tmp_path)
    record = create(store)
    assert store.deliver_outbox(now=record.created_at) == 0
    assert row(store).last_error == "ConnectionError"
    with chatwoot_standin(token=TOKEN, port=port) as standin:
        assert store.deliver_outbox(now=record.created_at + timedelta(seconds=5)) == 1
        assert store.deliver_outbox(now=record.created_at + timedelta(hours=1)) == 0
        assert len(standin.conversations) == 1


def test_a_returning_visitor_is_one_contact_with_a_conversation_per_handoff(standin: ChatwootStandIn, tmp_path: Path) -> None:
    store = store_for(standin.url, tmp_path)
    first, second = create(store, "+1 403 555 0123"), create(store, "(403) 555-0123")  # the same number, typed twice
    assert store.deliver_outbox() == 2
    calls = standin.take()
    assert steps(calls).count("create contact") == 1
    finds = [c.json["payload"][0] for c in calls if c.step == "find contact"]
    assert finds[0] == {"attribute_key": "phone_number", "filter_operator": "contains", "values": ["14035550123"], "query_operator": None}
    (contact,) = standin.contacts.values()
    assert contact["phone_number"] == "+14035550123"
    handoffs = sorted(c.custom_attributes["handoff_id"] for c in standin.conversations.values())
    assert handoffs == sorted([first.id, second.id])


def test_without_a_usable_phone_or_email_the_contact_is_filed_under_the_handoff(standin: ChatwootStandIn, tmp_path: Path) -> None:
    """A local number without a country code is not E.164: Chatwoot would refuse it, so it travels in the message only."""
    store = store_for(standin.url, tmp_path)
    record = create(store, "555 0123", name=None)
    assert store.deliver_outbox() == 1
    (contact,) = standin.contacts.values()
    assert contact["identifier"] == f"handoff:{record.id}" and contact["phone_number"] is None
    assert contact["name"] == f"Website visitor #{record.id[:8]}"
    assert "Contact: 5550123 (phone)" in standin.messages()[0]["content"]


def test_a_refused_address_falls_back_to_the_handoff_identifier(standin: ChatwootStandIn, tmp_path: Path) -> None:
    """Chatwoot already holds the number in a form the filter cannot match: the conversation opens anyway."""
    standin.contacts[50] = {"id": 50, "name": "Jane", "email": None, "phone_number": "+14035550123", "identifier": None}
    standin.blind_filter.add("phone_number")
    store = store_for(standin.url, tmp_path)
    record = create(store, "+14035550123")
    assert store.deliver_outbox() == 1
    assert steps(standin.take()) == ["find contact", "create contact", "find contact", "create contact", "list conversations",
                                     "create conversation"]  # fmt: skip
    (conversation,) = standin.conversations.values()
    assert standin.contacts[conversation.contact_id]["identifier"] == f"handoff:{record.id}"
    assert "+14035550123" in conversation.messages[0]["content"]


def test_nothing_of_the_handoff_is_logged(standin: ChatwootStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    standin.fail["create conversation"] = [422]
    store = store_for(standin.url, tmp_path, store_transcript=True)
    record = create(store)
    store.deliver_outbox(now=record.created_at)
    store.deliver_outbox(now=record.created_at + timedelta(seconds=5))
    assert len(standin.conversations) == 1
    logged = caplog.text.lower()
    assert record.id in caplog.text  # ids are logged
    for secret in ("jane", "doe", "example.com", "pregnancy", "blood_thinners", "warfarin", TOKEN):
        assert secret not in logged, secret
