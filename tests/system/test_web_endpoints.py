"""The web-facing endpoints with the servers running: the chat's socket.io channel, the page's
security headers, CORS for the REST webhook, and the message length limit."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests
import socketio

from tests.support.servers import running_servers

CLINIC_SITE = "https://www.clinic.example"


@pytest.fixture(scope="module")
def servers():
    with running_servers(extra_env={"CHAT_ALLOWED_ORIGINS": f"{CLINIC_SITE}, https://book.clinic.example"}) as s:
        yield s


class ChatClient:
    """A socket.io client speaking the web chat's events, as the page does."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.replies: list[dict] = []
        self.session_id: str | None = None
        self._event = threading.Event()
        self.sio.on("session_confirm", self._confirmed)
        self.sio.on("bot_uttered", self._bot)
        self.sio.connect(url, transports=["polling"], headers={"Origin": origin or url}, wait_timeout=10)

    def _confirmed(self, session_id: str) -> None:
        self.session_id = session_id
        self._event.set()

    def _bot(self, data: dict) -> None:
        self.replies.append(data)
        self._event.set()

    def start(self, session_id: str | None = None) -> str:
        self._event.clear()
        self.sio.emit("session_request", {"session_id": session_id})
        assert self._event.wait(10), "no session_confirm"
        return self.session_id

    def ask(self, text: str, wait_for: int = 1) -> list[dict]:
        self.replies = []
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})
        for _ in range(100):
            self._event.clear()
            if len(self.replies) >= wait_for:
                break
            self._event.wait(0.3)
        threading.Event().wait(0.5)  # let any further messages of this turn arrive
        return self.replies

    def close(self) -> None:
        self.sio.eio.disconnect(abort=True)  # don't wait out the long-poll


def test_chat_answer_is_one_event_with_text_quick_replies_and_sources(servers):
    chat = ChatClient(servers.rasa_url)
    try:
        chat.start()
        (reply,) = chat.ask("is dry needling safe?")
        assert reply["text"].startswith("Yes, when performed by a qualified and experienced practitioner")
        assert "Sources:" not in reply["text"], "sources are sent as citations, not repeated in the text"
        cited = {"document": "The Safety of Dry Needling", "section": "Is Dry Needling Considered a Safe Treatment Option?"}
        assert cited in reply["sources"]
        assert reply["quick_replies"][-1] == {"title": "Talk to a clinician", "payload": "/request_clinician"}
    finally:
        chat.close()


def test_chat_session_continues_after_reconnecting(servers):
    first = ChatClient(servers.rasa_url)
    session = first.start()
    first.ask("I'm pregnant, can I have dry needling?")
    first.close()
    second = ChatClient(servers.rasa_url)
    try:
        assert second.start(session) == session
        replies = second.ask("yes")
        assert "What name should the clinician ask for?" in " ".join(r["text"] for r in replies), "the form went on"
    finally:
        second.close()


def test_chat_too_long_message_is_not_processed(servers):
    chat = ChatClient(servers.rasa_url)
    try:
        chat.start()
        (reply,) = chat.ask("x" * 1001)
        assert "too long" in reply["text"] and "1,001" in reply["text"]
    finally:
        chat.close()


def test_chat_allows_the_configured_origin_and_refuses_others(servers):
    ChatClient(servers.rasa_url, origin=CLINIC_SITE).close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatClient(servers.rasa_url, origin="https://evil.example")


def test_chat_page_has_security_headers(servers):
    page = requests.get(f"{servers.rasa_url}/chat/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert f"frame-ancestors 'self' {CLINIC_SITE} https://book.clinic.example" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{servers.rasa_url}/chat/../credentials.yml", timeout=10).status_code == 404
    assert requests.get(f"{servers.rasa_url}/chat/%2e%2e/%2e%2e/credentials.yml", timeout=10).status_code == 404
    config = requests.get(f"{servers.rasa_url}/chat/config.json", timeout=10).json()
    assert config["clinic_name"] == "Roar Physio | Wellness" and config["max_message_chars"] == 1000


@pytest.mark.parametrize(("origin", "allowed"), [(CLINIC_SITE, True), ("https://evil.example", False)])
def test_rest_cors_allows_only_configured_origins(servers, origin, allowed):
    preflight = requests.options(
        servers.webhook,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert (preflight.headers.get("Access-Control-Allow-Origin") == origin) is allowed
    answer = requests.post(servers.webhook, json={"sender": "cors", "message": "hi"}, headers={"Origin": origin}, timeout=30)
    assert (answer.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_rest_message_length_limit(servers):
    sender = f"long-{uuid.uuid4()}"
    (reply,) = servers.send(sender, "a" * 1001)
    assert "too long" in reply["text"] and "1,000" in reply["text"]
    at_limit = servers.send(sender, ("is dry needling safe? " * 50)[:1000])
    assert "too long" not in " ".join(r.get("text", "") for r in at_limit)


def test_http_api_is_off_without_a_token(servers):
    assert requests.post(f"{servers.rasa_url}/model/parse", json={"text": "hi"}, timeout=10).status_code in {403, 404, 405}
