"""The staff console in a real browser (Playwright driving Debian's Chromium): sign in, the inbox and its
filters, a status change with a note, what each role sees, the audit log, and axe-core's accessibility check.

The console runs in this process on a free loopback port over its own SQLite database
(tests/support/console.py). Screenshots go to build/test-artifacts/; with UPDATE_SCREENSHOTS=1 they also
replace docs/screenshots/console-*.png (shown in the README). axe-core comes from web/node_modules
(`npm ci --prefix web`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot import PROJECT_ROOT
from bot.console import audit
from bot.handoff.store import HandoffRecord, handoffs
from tests.support.chromium import CHROMIUM
from tests.support.console import PASSWORDS, Console, running_console

AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "build" / "test-artifacts"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with running_console(tmp_path_factory.mktemp("console"), {"CLINIC_TIMEZONE": "America/Edmonton"}) as running:
        yield running


@pytest.fixture(scope="module")
def records(console: Console) -> dict[str, HandoffRecord]:
    """Three fictional records, received over the last hours (numbers are 555 test numbers)."""
    store = console.services.handoffs
    now = datetime.now(UTC)
    made = {
        "jane": store.create(
            "web-7f3a",
            "contraindication",
            ["pregnancy"],
            "Jane Doe",
            "(403) 555-0123",
            now - timedelta(hours=3),
            [
                {"from": "visitor", "text": "I'm 10 weeks pregnant, can I have dry needling for my back?"},
                {"from": "assistant", "text": "A clinician needs to review this before you book. May we contact you?"},
                {"from": "visitor", "text": "Yes, contact me"},
            ],
            channel="webchat",
        ),
        "sam": store.create(
            "web-91c2", "clinician_request", [], "Sam Lee", "sam.lee@example.com", now - timedelta(hours=2), channel="webchat"
        ),
        "urgent": store.create("+14035550199", "urgent", ["breathing_or_chest"], channel="twilio"),
    }
    ages = {"jane": 3, "sam": 2, "urgent": 1}
    with store.engine.begin() as conn:
        for key, record in made.items():
            conn.execute(update(handoffs).where(handoffs.c.id == record.id).values(created_at=now - timedelta(hours=ages[key])))
    return {key: store.get(record.id) for key, record in made.items()}  # type: ignore[misc]


class Tab:
    """One staff member's browser tab, with every console error (a CSP violation is one) collected."""

    def __init__(self, browser: Browser, console: Console, **context) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, **context)
        self.page: Page = self.context.new_page()
        self.url = console.url
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def sign_in(self, name: str, path: str = "/") -> None:
        self.page.goto(self.url + path)
        expect(self.page.get_by_role("heading", name="Sign in")).to_be_visible()
        self.page.get_by_label("Staff name").fill(name)
        self.page.get_by_label("Password").fill(PASSWORDS[name])
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page.get_by_text("You are signed out.")).to_be_visible()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ARTIFACTS / name, SCREENSHOTS / name)

    def close(self) -> None:
        self.context.close()


def axe_violations(page: Page, label: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"[{label}] {v['impact']}: {v['id']} - {v['help']}\n    " + "\n    ".join(", ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_front_desk_works_the_inbox_and_changes_a_status(browser: Browser, console: Console, records) -> None:
    tab = Tab(browser, console)
    page = tab.page
    page.goto(f"{console.url}/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next=/inbox$"))  # every page needs a login
    tab.shot("console-login.png")
    tab.sign_in("desk", "/inbox")
    expect(page).to_have_url(re.compile(r"/inbox$"))

    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Urgent")  # newest first
    expect(rows.first).to_contain_text("SMS")
    expect(page.locator("table.records")).to_contain_text("Jane Doe")
    expect(page.locator("table.records")).to_contain_text("+14035550123")
    expect(page.locator("table.records thead")).not_to_contain_text("Conditions")  # clinical details are the clinicians'
    expect(page.locator("main")).not_to_contain_text("pregnan")
    tab.shot("console-inbox.png")

    page.get_by_label("Show").select_option("urgent")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Urgent: red-flag symptom")
    page.get_by_label("Name, phone or e-mail").fill("sam")
    page.get_by_label("Show").select_option("all")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sam Lee")
    page.get_by_role("link", name="Clear").click()

    page.locator(f'a[href="/inbox/{records["jane"].id}"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Clinician review")
    details = page.locator("dl.details")
    expect(details).to_contain_text("Website chat")
    expect(details).to_contain_text("Consent to be contacted")
    consent = records["jane"].consent_at.astimezone(console.services.timezone).strftime("%Y-%m-%d %H:%M")
    expect(details).to_contain_text(consent)
    expect(page.locator("main")).not_to_contain_text("Transcript")

    page.get_by_label("Contacted").check()
    page.get_by_role("textbox", name=re.compile("^Note")).fill("Left a voicemail at 10:15; will try again after lunch.")
    expect(page.locator("#note-count")).to_contain_text("characters left")  # the page's own script runs under its CSP
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("ol.history")).to_contain_text("desk · new → contacted")
    expect(page.locator("ol.history")).to_contain_text("desk · note changed")
    stored = console.services.handoffs.get(records["jane"].id)
    assert (stored.status, stored.updated_by, stored.note) == (
        "contacted",
        "desk",
        "Left a voicemail at 10:15; will try again after lunch.",
    )

    page.goto(f"{console.url}/audit")
    expect(page.get_by_role("heading", name="Not available to your role")).to_be_visible()  # 403 for the wrong role
    tab.sign_out()
    tab.errors = [e for e in tab.errors if "403 (Forbidden)" not in e]  # the refused page itself, as expected
    assert not tab.errors, "\n".join(tab.errors)
    tab.close()


def test_a_clinician_sees_conditions_and_the_transcript(browser: Browser, console: Console, records) -> None:
    tab = Tab(browser, console)
    page = tab.page
    tab.sign_in("clin")
    expect(page.locator("table.records thead")).to_contain_text("Conditions")
    expect(page.locator("table.records")).to_contain_text("pregnancy")
    page.locator(f'a[href="/inbox/{records["jane"].id}"]').click()
    expect(page.locator("ol.transcript")).to_contain_text("I'm 10 weeks pregnant")
    expect(page.locator("dl.details")).to_contain_text("pregnancy")
    tab.shot("console-record.png")
    assert not tab.errors, "\n".join(tab.errors)
    tab.close()


def test_an_admin_reads_the_audit_log_and_manages_accounts(browser: Browser, console: Console, records) -> None:
    tab = Tab(browser, console)
    page = tab.page
    tab.sign_in("admin")
    expect(page).to_have_url(re.compile(r"/admin/accounts$"))  # an admin's start page; no records
    expect(page.locator("nav[aria-label=Main]")).not_to_contain_text("Inbox")
    page.get_by_label("Staff name").fill("maria")
    page.get_by_label("Clinician").last.check()
    page.get_by_label("First password").fill("a first password 7")
    page.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("status")).to_contain_text("Account created")
    expect(page.locator("table.accounts")).to_contain_text("maria")

    page.get_by_role("link", name="Audit log").click()
    log = page.locator("table.audit")
    expect(log).to_contain_text("account create")
    page.get_by_label("Record id").fill(records["jane"].id)
    page.get_by_role("button", name="Apply filters").click()
    expect(log.locator("tbody tr").first).to_be_visible()
    text = log.inner_text()
    for expected in ("record view", "status change", "new -> contacted", "note changed", "inbox view", "desk", "clin", "127.0.0.1"):
        assert expected in text, expected
    assert "voicemail" not in text and "Jane" not in text  # the log holds no health information
    tab.shot("console-audit.png")
    page.get_by_label("Record id").fill("")
    page.get_by_label("Action").select_option("login")
    page.get_by_role("button", name="Apply filters").click()
    expect(log).to_contain_text("desk")
    entries = console.services.audit.find(action=audit.AUDIT_VIEW, staff="admin")
    assert entries and entries[0].client == "127.0.0.1"
    assert not tab.errors, "\n".join(tab.errors)
    tab.close()


def test_axe_finds_no_serious_violations(browser: Browser, console: Console, records) -> None:
    # bypass_csp: only so axe can be injected; the tests above run every page under its CSP.
    violations: list[str] = []
    tab = Tab(browser, console, bypass_csp=True)
    page = tab.page
    page.goto(f"{console.url}/login")
    violations += axe_violations(page, "sign in")
    tab.sign_in("clin")
    for label, path in (("inbox", "/inbox?status=all"), ("record", f"/inbox/{records['jane'].id}"), ("account", "/account?totp=setup")):
        page.goto(console.url + path)
        violations += axe_violations(page, label)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{console.url}/inbox?status=all")
    violations += axe_violations(page, "inbox 360px")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="Sign out").click()
    tab.sign_in("admin")
    for label, path in (("accounts", "/admin/accounts"), ("audit", "/audit")):
        page.goto(console.url + path)
        violations += axe_violations(page, label)
    assert not violations, "axe-core found:\n" + "\n".join(violations)

    # Keyboard: the first Tab stop skips to the content.
    page.goto(f"{console.url}/audit")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.close()
