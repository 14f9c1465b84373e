"""Bad input and failures with the servers running: oversized bodies, very long conversations,
the action server down, PostgreSQL restarted mid-conversation, Redis down, a lock left by a
server that died."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_client
import requests
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import PROJECT_ROOT
from tests.support import postgres
from tests.support.redis_server import redis_server
from tests.support.servers import production_settings, running_servers

CLINIC_PHONE = "403-555-0100"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    with running_servers(workdir=workdir, extra_env={"CLINIC_PHONE": CLINIC_PHONE}) as servers:
        yield servers, workdir


def test_oversized_body_is_refused_and_the_server_keeps_serving(embedded):
    servers, _ = embedded
    body = '{"sender": "big", "message": "' + "a" * 300_000 + '"}'
    response = requests.post(servers.webhook, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413
    assert "qualified" in texts(servers.send(f"after-big-{uuid.uuid4()}", "is dry needling safe?"))


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[]", b'{"sender": 5, "message": "hi"}', b'{"sender": "x"}', "\udcff".encode("utf-8", "surrogatepass")],
)
def test_malformed_requests_get_400_and_nothing_breaks(embedded, body):
    servers, _ = embedded
    response = requests.post(servers.webhook, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400 and "error" in response.json()
    assert servers.send(f"after-bad-{uuid.uuid4()}", "hi")


def test_thousands_of_messages_in_one_conversation(embedded):
    """A conversation with 3,000 earlier turns still gets the right answer and keeps every event."""
    servers, workdir = embedded
    sender = f"long-{uuid.uuid4().hex}"
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for n in range(3000):
        events += [
            UserUttered(f"question {n}", {"name": "ask_is_it_safe", "confidence": 1.0}),
            ActionExecuted("action_answer"),
            BotUttered(f"answer {n}"),
            ActionExecuted("action_listen"),
        ]
    store = SQLTrackerStore(dialect="sqlite", db=str(Path(workdir) / "trackers.db"))
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))

    reply = servers.send(sender, "will I bruise?", timeout=120)
    assert "Bruising" in texts(reply), servers.problems()
    saved = asyncio.run(store.retrieve(sender))
    users = [e.text for e in saved.events if isinstance(e, UserUttered)]
    assert len(users) == 3001 and users[0] == "question 0" and users[-1] == "will I bruise?"


def test_action_server_down_gets_an_apology_with_the_clinic_number(tmp_path):
    with running_servers(workdir=tmp_path, extra_env={"CLINIC_PHONE": CLINIC_PHONE}) as servers:
        sender = f"down-{uuid.uuid4()}"
        assert "qualified" in texts(servers.send(sender, "is dry needling safe?"))
        servers.actions.kill()
        servers.actions.wait()
        reply = texts(servers.send(sender, "what are the side effects?"))
        assert "Sorry, I can't answer just now" in reply and CLINIC_PHONE in reply and "911" in reply
        again = servers.send(sender, "hi")  # the greeting is a domain response: no action server needed
        assert "Roar Physio | Wellness assistant" in texts(again), "the Rasa server keeps serving what it can"
        assert servers.rasa.poll() is None


@pytest.fixture(scope="module")
def production():
    with redis_server() as redis:
        env = {**production_settings(postgres.fresh_database(), redis.port), "CLINIC_PHONE": CLINIC_PHONE}
        with running_servers(tracker_store="production", production_env=env, api_token="faults-token") as servers:
            yield servers, redis


def user_texts(servers, sender: str) -> list[str]:
    response = requests.get(f"{servers.rasa_url}/conversations/{sender}/tracker", params={"token": "faults-token"}, timeout=30)
    response.raise_for_status()
    return [e["text"] for e in response.json()["events"] if e["event"] == "user"]


def test_postgres_restart_mid_conversation(production):
    servers, _ = production
    sender = f"pg-{uuid.uuid4().hex}"
    assert "qualified" in texts(servers.send(sender, "is dry needling safe?"))
    assert "Bruising" in texts(servers.send(sender, "will I bruise?"))
    postgres.restart_server()
    assert "Training and Background" in texts(servers.send(sender, "/ask_vs_acupuncture")), "the next message works"
    assert user_texts(servers, sender) == ["is dry needling safe?", "will I bruise?", "/ask_vs_acupuncture"], "nothing lost"


def test_redis_down_gives_a_clear_error_and_no_corrupted_tracker(production):
    servers, redis = production
    sender = f"redis-{uuid.uuid4().hex}"
    assert "qualified" in texts(servers.send(sender, "is dry needling safe?"))
    redis.stop()
    try:
        reply = texts(servers.send(sender, "will I bruise?"))
        assert "Sorry, I can't answer just now" in reply and CLINIC_PHONE in reply
        assert "lock store" in servers.log_text().lower() or "redis" in servers.log_text().lower()
    finally:
        redis.start()
    assert user_texts(servers, sender) == ["is dry needling safe?"], "the failed message left no partial turn"
    assert "Bruising" in texts(servers.send(sender, "will I bruise?")), "the conversation goes on once Redis is back"
    assert user_texts(servers, sender) == ["is dry needling safe?", "will I bruise?"]


def test_a_lock_left_by_a_dead_server_holds_its_conversation_for_the_lock_lifetime_only(production):
    """A server killed just after taking a conversation's lock: the client's retry is answered after lock_lifetime.

    With Rasa's own Redis lock store the retry's ticket aged while it waited, expired with the
    dead one, and the request then waited forever (the lock read "tickets": []).
    """
    servers, redis = production
    settings = yaml.safe_load((PROJECT_ROOT / "endpoints.production.yml").read_text())["lock_store"]
    lifetime = float(settings["lock_lifetime"])
    sender = f"dead-lock-{uuid.uuid4().hex}"
    key = f"{settings['key_prefix']}:lock:{sender}"
    client = redis_client.Redis(host="127.0.0.1", port=redis.port, db=1)
    seconds, micros = client.time()
    taken = seconds + micros / 1e6 - 0.2  # by a server that died 0.2 s ago, as SIGKILL leaves it
    ticket = {"number": 0, "expires": taken + lifetime, "lease": "killed-server"}
    client.set(key, json.dumps({"conversation_id": sender, "tickets": [json.dumps(ticket)]}))

    started = time.monotonic()
    reply = texts(servers.send(sender, "is dry needling safe?", timeout=lifetime + 30))
    waited = time.monotonic() - started
    assert "qualified" in reply
    assert lifetime - 1 < waited < lifetime + 20, f"answered after {waited:.1f} s, lock_lifetime {lifetime:.0f} s"
    assert user_texts(servers, sender) == ["is dry needling safe?"]
    assert not client.exists(key), "the lock is released"
