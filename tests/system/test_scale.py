"""Several Rasa servers sharing conversations through PostgreSQL (trackers) and Redis (locks).

Two Rasa servers and one action server, started on loopback with endpoints.production.yml.
50 conversations of 10 turns run at once, each turn on the other server; then one server is
killed with SIGKILL mid-load, its messages are retried on the other, and it rejoins.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from tests.support import postgres
from tests.support.redis_server import redis_server
from tests.support.servers import production_settings, running_servers

TOKEN = "scale-test-token"
TURNS = [
    "hi",
    "is dry needling safe?",
    "will I bruise?",
    "/ask_vs_acupuncture",
    "does it hurt?",
    "how much does a session cost?",
    "who should avoid it?",
    "is it ok for seniors?",
    "what is dry needling?",
    "thanks, bye",
]
CONVERSATIONS = 50


@pytest.fixture(scope="module")
def cluster():
    with redis_server() as redis:
        # TICKET_LOCK_LIFETIME: how long a dead server's lock blocks its conversation.
        env = {**production_settings(postgres.fresh_database(), redis.port), "TICKET_LOCK_LIFETIME": "10"}
        with running_servers(tracker_store="production", instances=2, production_env=env, api_token=TOKEN) as servers:
            yield servers


@dataclass
class Conversation:
    sender: str
    replies: list[str] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)  # turns answered by the other server after a failure
    served_by: list[int] = field(default_factory=list)


def post(servers, instance: int, sender: str, text: str, message_id: str) -> list[dict]:
    body = {"sender": sender, "message": text, "message_id": message_id}
    response = requests.post(f"{servers.rasa_urls[instance]}/webhooks/rest/webhook", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def joined(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def run_turn(servers, conversation: Conversation, turn: int, text: str) -> None:
    """Send on the server whose turn it is; if that server fails, retry the same message on the other."""
    instance = turn % 2
    message_id = f"{conversation.sender}-{turn}"
    try:
        replies = post(servers, instance, conversation.sender, text, message_id)
    except requests.RequestException:
        instance = 1 - instance
        conversation.retried.append(turn)
        replies = post(servers, instance, conversation.sender, text, message_id)
    conversation.served_by.append(instance)
    conversation.replies.append(joined(replies))


def tracker(servers, sender: str) -> dict:
    response = requests.get(f"{servers.rasa_urls[0]}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30)
    response.raise_for_status()
    return response.json()


def user_texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def check_tracker(servers, conversation: Conversation, expected: list[str]) -> None:
    events = tracker(servers, conversation.sender)["events"]
    assert user_texts(events) == TURNS[: len(conversation.replies)], "every message once, in order"
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    bot_per_turn: list[str] = []
    for event in events:
        if event["event"] == "user":
            bot_per_turn.append("")
        elif event["event"] == "bot" and bot_per_turn and event.get("text"):
            bot_per_turn[-1] += ("\n" if bot_per_turn[-1] else "") + event["text"]
    assert bot_per_turn == expected[: len(conversation.replies)], "the tracker holds exactly the replies sent"


@pytest.fixture(scope="module")
def expected(cluster) -> list[str]:
    """The replies of one conversation run alone on one server: what every conversation must get."""
    reference = Conversation(f"reference-{uuid.uuid4().hex}")
    for n, text in enumerate(TURNS):
        reference.replies.append(joined(post(cluster, 0, reference.sender, text, f"r{n}")))
    assert "qualified and experienced practitioner" in reference.replies[1]
    assert "Bruising" in reference.replies[2]
    assert "doesn't cover that" in reference.replies[5]
    return reference.replies


def test_fifty_conversations_alternating_between_two_servers(cluster, expected):
    conversations = [Conversation(f"scale-{uuid.uuid4().hex}") for _ in range(CONVERSATIONS)]

    def converse(conversation: Conversation) -> None:
        for turn, text in enumerate(TURNS):
            run_turn(cluster, conversation, turn, text)

    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        list(pool.map(converse, conversations))

    for conversation in conversations:
        assert conversation.retried == []
        assert conversation.served_by == [turn % 2 for turn in range(len(TURNS))]
        assert conversation.replies == expected, conversation.sender
        check_tracker(cluster, conversation, expected)


def test_a_server_killed_mid_load_loses_nothing_and_rejoins(cluster, expected):
    conversations = [Conversation(f"kill-{uuid.uuid4().hex}") for _ in range(CONVERSATIONS)]
    halfway = threading.Barrier(CONVERSATIONS + 1)
    resume = threading.Event()
    killed_during: list[int] = []

    def converse(conversation: Conversation) -> None:
        for turn, text in enumerate(TURNS):
            if turn == 6:  # wait here while server 1 is restarted, then carry on alternating
                halfway.wait(timeout=300)
                resume.wait(timeout=300)
            run_turn(cluster, conversation, turn, text)

    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        futures = [pool.submit(converse, c) for c in conversations]
        # Kill server 1 while turns 1-5 are in flight.
        while sum(len(c.replies) for c in conversations) < CONVERSATIONS * 2:
            threading.Event().wait(0.05)
        killed_during.append(sum(len(c.replies) for c in conversations))
        cluster.kill(1)
        halfway.wait(timeout=300)
        cluster.restart(1)
        resume.set()
        for future in futures:
            future.result()

    assert killed_during[0] < CONVERSATIONS * 6, "the kill happened mid-load"
    retried = [c for c in conversations if c.retried]
    assert retried, "some messages hit the killed server and were retried"
    for conversation in conversations:
        assert conversation.replies == expected, "every message answered correctly, once"
        for turn in conversation.retried:
            assert turn < 6 and conversation.served_by[turn] == 0, "retried on the surviving server"
        assert conversation.served_by[6:] == [turn % 2 for turn in range(6, len(TURNS))], "the restarted server rejoined"
        check_tracker(cluster, conversation, expected)


def test_a_retried_message_that_was_processed_is_not_processed_again(cluster, expected):
    sender = f"retry-{uuid.uuid4().hex}"
    first = post(cluster, 0, sender, TURNS[1], "m-1")
    again = post(cluster, 1, sender, TURNS[1], "m-1")
    assert again == first
    assert user_texts(tracker(cluster, sender)["events"]) == [TURNS[1]]
