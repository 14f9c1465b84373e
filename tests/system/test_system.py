"""The whole system: both servers running, a visitor chatting over the REST webhook."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.servers import running_servers


@pytest.fixture(scope="module")
def servers():
    with running_servers() as s:
        yield s


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies: list[dict]) -> list[dict]:
    return [r["custom"] for r in replies if "custom" in r]


def test_short_conversation(servers):
    visitor = f"visitor-{uuid.uuid4()}"
    hello = servers.send(visitor, "hi there")
    assert "Roar Physio | Wellness assistant" in texts(hello)
    assert [b["title"] for b in hello[0]["buttons"]] == ["Is it safe?", "Side effects", "Who should avoid it?"]

    safe = servers.send(visitor, "is dry needling safe?")
    assert texts(safe).startswith("Yes, when performed by a qualified and experienced practitioner")
    assert "Source" not in texts(safe), "sources travel as data (custom), not as text"
    (payload,) = payloads(safe)
    assert payload["topic"] == "ask_is_it_safe"
    assert {"document": "Dry Needling Safety Sheet", "section": "Considerations"} in payload["sources"]
    assert [b["title"] for b in safe[0]["buttons"]][-2:] == ["Book an appointment", "Talk to a clinician"]

    bruise = servers.send(visitor, "will i bruise afterwards?")
    assert "• Bruising:" in texts(bruise)
    assert "Emotional Release" not in texts(bruise)
    assert payloads(bruise)[0]["topic"] == "ask_side_effects"

    button = servers.send(visitor, "/ask_vs_acupuncture")
    assert "• Training and Background:" in texts(button)

    cost = servers.send(visitor, "how much does a session cost?")
    assert "don't have Roar Physio | Wellness's fees and insurance here" in texts(cost), "never a guess"
    assert payloads(cost) == [{"reply": "clinic_info", "subjects": ["payment"], "answered": []}]
    several = servers.send(visitor, "what is dry needling, does it hurt, and what are the side effects?")
    (payload,) = payloads(several)
    assert payload["topics"] == ["ask_what_is_dry_needling", "ask_does_it_hurt", "ask_side_effects"]
    assert payload["sources"], "each answer keeps its sources"
    assert all(title in texts(several) for title in ("What is dry needling?", "Does it hurt?", "Side effects"))

    bye = servers.send(visitor, "thanks, bye")
    assert bye, "the assistant must always answer"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "x" * 5000,
        "¿Es segura la punción seca durante el embarazo?",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
    ],
    ids=["empty", "blank", "emoji", "5000-chars", "spanish", "html"],
)
def test_bad_input_gets_a_friendly_reply(servers, message):
    replies = servers.send(f"bad-{uuid.uuid4()}", message)
    assert replies and texts(replies).strip(), f"no reply to {message[:30]!r}"
    assert "<script>" not in texts(replies)


def test_malformed_requests_get_http_errors_and_the_server_keeps_serving(servers):
    for body in [b"{not json", b"[]", b'{"sender": "x"}']:
        response = requests.post(servers.webhook, data=body, headers={"Content-Type": "application/json"}, timeout=10)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text[:200])
    assert "Yes, when performed" in texts(servers.send(f"after-{uuid.uuid4()}", "is it safe"))
