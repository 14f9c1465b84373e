"""The website chat at /chat/ in a real browser (Playwright driving Debian's Chromium).

Starts both servers (tests/support/servers.py) once for the module, or uses an assistant that is
already running when WEBCHAT_BASE_URL is set (e.g. http://127.0.0.1:5005; for the embedding
test start it with CHAT_ALLOWED_ORIGINS=http://127.0.0.1:8765 and set WEBCHAT_CLINIC_PORT=8765).
Screenshots go to build/test-artifacts/; with UPDATE_SCREENSHOTS=1 the desktop one also
replaces docs/screenshots/chat.png (shown in the README). axe-core comes from web/node_modules
(`npm ci --prefix web`).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot import PROJECT_ROOT
from tests.support.chromium import CHROMIUM
from tests.support.servers import free_port, running_servers

AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "build" / "test-artifacts"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "chat.png"
REPLY_TIMEOUT_MS = 20_000  # a bot reply normally takes well under a second
# The clinic's own website, for the launcher test: a real loopback server, because Chromium
# blocks a page from a public address (as a page faked by Playwright counts) loading from 127.0.0.1.
CLINIC_SITE = f"http://127.0.0.1:{int(os.environ.get('WEBCHAT_CLINIC_PORT') or free_port())}"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if os.environ.get("WEBCHAT_BASE_URL"):
        yield os.environ["WEBCHAT_BASE_URL"].rstrip("/")
        return
    with running_servers(extra_env={"CHAT_ALLOWED_ORIGINS": CLINIC_SITE}) as servers:
        yield servers.rasa_url


@pytest.fixture(scope="module", autouse=True)
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Chat:
    """One visitor's tab, with every console error and uncaught exception collected."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    @property
    def bot(self):
        return self.page.locator("#log .msg-bot")

    @property
    def user(self):
        return self.page.locator("#log .msg-user")

    @property
    def quick_replies(self):
        return self.page.locator("#quick-replies button")

    def open(self) -> None:
        self.page.goto(self.url)
        # ready once the welcome (or the restored transcript) shows
        expect(self.bot.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)

    def _answered(self, before: int) -> None:
        expect(self.bot.nth(before)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        expect(self.page.locator("#typing .typing-bubble")).to_have_count(0, timeout=REPLY_TIMEOUT_MS)

    def ask(self, text: str) -> str:
        """Type and press Enter; the text of the bot's answer (all its bubbles)."""
        before = self.bot.count()
        box = self.page.get_by_label("Your question")
        box.fill(text)
        box.press("Enter")
        self._answered(before)
        return self.answer_since(before)

    def click(self, title: re.Pattern[str] | str) -> str:
        before = self.bot.count()
        self.quick_replies.filter(has_text=title).first.click()
        self._answered(before)
        return self.answer_since(before)

    def answer_since(self, before: int) -> str:
        self.page.wait_for_timeout(300)  # a turn may have several bubbles
        return "\n".join(self.bot.all_inner_texts()[before:])

    def session_id(self) -> str | None:
        return self.page.evaluate("JSON.parse(sessionStorage.getItem('dry-needling-chat:v1') || '{}').sessionId")

    def assert_no_errors(self) -> None:
        assert not self.errors, "errors in the browser:\n" + "\n".join(self.errors)


def new_chat(browser: Browser, base_url: str, **context) -> Chat:
    ctx = browser.new_context(**context)
    return Chat(ctx.new_page(), f"{base_url}/chat/")


def test_page_is_served_with_a_content_security_policy(base_url):
    response = requests.get(f"{base_url}/chat/", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp, csp
    assert "<script>" not in response.text and "style=" not in response.text  # nothing the CSP would block


def test_conversation_in_a_desktop_browser(browser, base_url, artifacts):
    chat = new_chat(browser, base_url, viewport={"width": 1280, "height": 900})
    page = chat.page
    chat.open()
    expect(page.locator("header")).to_contain_text("not medical advice")
    expect(page.locator("header")).to_contain_text("In an emergency call 911")

    safe = chat.ask("is dry needling safe?")
    assert "qualified" in safe
    expect(chat.bot.last.locator(".sources cite").first).to_contain_text("The Safety of Dry Needling")
    page.wait_for_timeout(400)  # let the scroll settle
    page.screenshot(path=str(artifacts / "chat-desktop.png"))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts / "chat-desktop.png", README_SCREENSHOT)
    assert "Sources:" not in chat.bot.last.locator(".msg-body").inner_text()  # shown once, as the footer
    titles = chat.quick_replies.all_inner_texts()
    assert any("side effects" in t.lower() for t in titles), titles

    side_effects = chat.click(re.compile("side effects", re.IGNORECASE))
    assert "Bruising" in side_effects
    expect(chat.bot.last.locator("li").first).to_be_visible()  # "• ..." lines became a list
    assert "Sources:" not in chat.bot.last.locator(".msg-body").inner_text()  # even mid-text (a safety note follows)
    expect(chat.user.last).to_have_text(re.compile("Side effects", re.IGNORECASE))  # the title, not "/ask_side_effects"
    assert "Side effects" not in chat.quick_replies.all_inner_texts()  # the old suggestions are gone

    # A reload keeps the transcript and the same server-side conversation.
    session = chat.session_id()
    assert session
    bubbles = chat.bot.count()
    page.reload()
    expect(chat.bot).to_have_count(bubbles)
    expect(page.locator("#log")).to_contain_text("is dry needling safe?")
    expect(chat.bot.nth(bubbles - 1).locator(".sources cite").first).to_contain_text("The Safety of Dry Needling")
    expect(chat.quick_replies.first).to_be_visible()
    hurt = chat.ask("does it hurt?")
    assert "discomfort" in hurt.lower()
    assert chat.session_id() == session

    # A disclosed contraindication starts the hand-off to a clinician.
    handoff = chat.ask("I'm pregnant, can I have dry needling?")
    assert "clinician needs to review" in handoff
    expect(chat.quick_replies.filter(has_text="Yes, contact me")).to_be_visible()
    expect(chat.quick_replies.filter(has_text="No thanks")).to_be_visible()
    expect(page.locator("#log .msg-handoff")).to_have_count(1)
    # ... and survives a reload: "No thanks" is answered as the consent question's answer.
    page.reload()
    expect(chat.quick_replies.filter(has_text="No thanks")).to_be_visible()
    declined = chat.click("No thanks")
    assert "nothing has been stored" in declined

    # Message text is never interpreted as HTML.
    chat.ask(XSS)
    expect(chat.user.last).to_contain_text(XSS)
    assert page.evaluate("window.__xss") is None
    expect(page.locator("#log img")).to_have_count(0)
    expect(page.locator("#log script")).to_have_count(0)

    # Start over forgets the conversation.
    page.get_by_role("button", name="Start over").click()
    expect(chat.user).to_have_count(0)
    expect(chat.bot.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)  # a new welcome
    page.wait_for_function(
        "old => { const s = JSON.parse(sessionStorage.getItem('dry-needling-chat:v1') || '{}'); "
        "return s.sessionId && s.sessionId !== old; }",
        arg=session,
        timeout=REPLY_TIMEOUT_MS,
    )

    chat.assert_no_errors()
    page.context.close()


def test_a_visitor_rates_an_answer(browser, base_url):
    """Thumbs up/down under an answer: stored by the server (it confirms only after checking the reply is this
    conversation's and saving it), kept across a reload, and changed by the other thumb."""
    chat = new_chat(browser, base_url, viewport={"width": 1280, "height": 900})
    page = chat.page
    chat.open()
    chat.ask("does it hurt?")
    rating = chat.bot.last.get_by_role("group", name="Was this answer helpful?")
    expect(rating).to_be_visible()
    down = rating.get_by_role("button", name="No, this did not help")
    down.click()
    expect(rating.get_by_role("status")).to_have_text("Thank you for your feedback.", timeout=REPLY_TIMEOUT_MS)
    expect(down).to_have_attribute("aria-pressed", "true")
    page.reload()
    rating = chat.bot.last.get_by_role("group", name="Was this answer helpful?")
    expect(rating.get_by_role("button", name="No, this did not help")).to_have_attribute("aria-pressed", "true")
    up = rating.get_by_role("button", name="Yes, this helped")
    up.click()
    expect(rating.get_by_role("status")).to_have_text("Thank you for your feedback.", timeout=REPLY_TIMEOUT_MS)
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(rating.get_by_role("button", name="No, this did not help")).to_have_attribute("aria-pressed", "false")
    expect(chat.bot.first.get_by_role("group", name="Was this answer helpful?")).to_have_count(0)  # the welcome is not an answer
    chat.assert_no_errors()
    page.context.close()


def test_empty_and_over_long_input_are_not_sent(browser, base_url):
    chat = new_chat(browser, base_url, viewport={"width": 1024, "height": 768})
    chat.open()
    box = chat.page.get_by_label("Your question")
    box.fill("   ")
    box.press("Enter")
    chat.page.get_by_role("button", name="Send").click()
    chat.page.wait_for_timeout(500)
    expect(chat.user).to_have_count(0)

    limit = int(box.get_attribute("maxlength"))
    box.fill("x" * (limit + 50))  # fill() respects maxlength like typing does
    assert len(box.input_value()) == limit
    expect(chat.page.locator("#counter")).to_contain_text(f"{limit} / {limit}")
    chat.page.context.close()
    chat.assert_no_errors()


def test_lost_connection_keeps_the_question_and_recovers(browser, base_url):
    chat = new_chat(browser, base_url, viewport={"width": 1024, "height": 768})
    page = chat.page
    chat.open()
    page.route("**/socket.io/**", lambda route: route.abort())  # the assistant becomes unreachable
    box = page.get_by_label("Your question")
    box.fill("is dry needling safe?")
    box.press("Enter")
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Can't reach the assistant right now", timeout=REPLY_TIMEOUT_MS)
    expect(notice).to_contain_text("911")
    expect(box).to_have_value("is dry needling safe?")  # given back, to send again
    expect(chat.user.last).to_contain_text("Not answered")

    page.unroute("**/socket.io/**")  # back: socket.io reconnects and the same session continues
    expect(notice).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
    box.press("Enter")
    expect(chat.bot.last).to_contain_text("qualified", timeout=REPLY_TIMEOUT_MS)
    page.context.close()
    # the aborted requests are logged by the browser as failed loads; nothing else may be
    assert all("net::ERR_FAILED" in e or "socket.io" in e for e in chat.errors), chat.errors


def test_phone_layout(browser, base_url, artifacts):
    chat = new_chat(browser, base_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = chat.page
    chat.open()
    assert "qualified" in chat.ask("is dry needling safe?")
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts / "chat-phone.png"))

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"
    box = page.get_by_label("Your question")
    expect(box).to_be_in_viewport()
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
    chat.assert_no_errors()
    page.context.close()


def test_no_serious_accessibility_violations(browser, base_url, artifacts):
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(PROJECT_ROOT)} is missing: run `npm ci --prefix web`")
    # bypass_csp: only so axe can be injected; the page itself runs under its CSP elsewhere.
    chat = new_chat(browser, base_url, viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = chat.page
    chat.open()
    chat.ask("is dry needling safe?")
    chat.click(re.compile("side effects", re.IGNORECASE))
    page.wait_for_timeout(400)

    violations = []
    for width, height in [(1280, 800), (360, 740)]:
        page.set_viewport_size({"width": width, "height": height})
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        violations += [
            f"[{width}px] {v['impact']}: {v['id']} – {v['help']}\n    "
            + "\n    ".join(", ".join(node["target"]) for node in v["nodes"][:5])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert not violations, "axe-core found:\n" + "\n".join(violations)

    # Keyboard: the focus order is header → conversation (with each answer's thumbs) → suggestions → input → send.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()  # a fresh page: Tab starts from the top, not from the last click
    expect(chat.quick_replies.first).to_be_visible()
    order: list[str] = []
    while len(order) < 20 and "send" not in order:
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
    order = ["rating" if name.startswith("rate ") else name for name in order]  # thumbs up/down under answers
    steps = [name for i, name in enumerate(order) if i == 0 or name != order[i - 1]]  # one entry per group
    assert steps == ["start-over", "scroller", "rating", "quick-reply", "message", "send"], order
    expect(page.locator("#message")).to_be_visible()
    chat.assert_no_errors()
    page.context.close()


@pytest.fixture
def clinic_site(base_url) -> Iterator[str]:
    """A page of the clinic's website with the launcher's script tag."""
    html = (
        '<!doctype html><html lang="en"><head><title>Clinic</title>'
        f'<script src="{base_url}/chat/embed.js" defer></script></head><body><h1>Clinic</h1></body></html>'
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(CLINIC_SITE.rsplit(":", 1)[1])), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{CLINIC_SITE}/"
    server.shutdown()
    server.server_close()


def test_launcher_embeds_the_chat_on_the_clinic_site(browser, base_url, clinic_site, artifacts):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(clinic_site)

    launcher = page.get_by_role("button", name="Questions about dry needling?")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.locator("iframe")).to_have_count(0)  # nothing loaded until the visitor asks
    launcher.focus()
    page.keyboard.press("Enter")
    frame = page.frame_locator("iframe[title]")
    expect(page.locator("iframe")).to_have_attribute("src", f"{base_url}/chat/")
    expect(frame.locator("#log .msg-bot").first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    box = frame.get_by_label("Your question")
    box.fill("is dry needling safe?")
    box.press("Enter")
    expect(frame.locator("#log .msg-bot").nth(1)).to_contain_text("qualified", timeout=REPLY_TIMEOUT_MS)
    page.screenshot(path=str(artifacts / "chat-embedded.png"))

    box.press("Escape")  # inside the frame: closes the panel, focus back on the launcher
    expect(page.locator("#dry-needling-chat-panel")).to_be_hidden()
    expect(page.locator("#dry-needling-chat-launcher")).to_be_focused()
    expect(page.locator("#dry-needling-chat-launcher")).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")  # reopens the same conversation
    expect(frame.locator("#log")).to_contain_text("qualified")
    page.keyboard.press("Escape")
    expect(page.locator("#dry-needling-chat-panel")).to_be_hidden()
    assert not errors, errors
    ctx.close()
