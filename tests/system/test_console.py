"""The staff console over HTTP, as a browser and an attacker use it: sign-in, roles, CSRF, lockout, audit.

The console runs in this process on a free loopback port with its own SQLite database
(tests/support/console.py); no Rasa server or model is needed, so these tests take seconds.
The route checks walk every route the app has, so a page added later is checked too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import requests

from bot.console import audit
from bot.console.app import CONTENT_SECURITY_POLICY, routes_of
from bot.console.auth import LoginLimiter, RateLimit
from bot.console.pages import Route
from bot.console.roles import Permission
from bot.handoff.store import HandoffRecord
from tests.support.console import PASSWORDS, Console, csrf_of, running_console

CONSENT = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)
TRANSCRIPT = [{"from": "visitor", "text": "I'm 10 weeks pregnant"}, {"from": "assistant", "text": "A clinician needs to review"}]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with running_console(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
def record(console: Console) -> HandoffRecord:
    return console.services.handoffs.create(
        "conv-42", "contraindication", ["pregnancy"], "Jane Doe", "(403) 555-0123", CONSENT, TRANSCRIPT, channel="webchat"
    )


PLACEHOLDER = re.compile(r"\{(\w+)(?::(?:[^{}]|\{[^{}]*\})*)?\}")  # aiohttp's {name} or {name:regex}


def url_of(route: Route, record: HandoffRecord) -> str:
    """The route's path with real values: a record, an account, or a placeholder value for a page added later."""
    values = {"handoff_id": record.id, "username": "desk"}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), "x"), route.path)


def guarded(console: Console) -> list[Route]:
    return [r for r in routes_of(console.app) if not r.public]


def who_may(permission: Permission | None) -> str:
    return next(name for name in ("desk", "clin", "admin") if permission is None or permission in console_permissions(name))


def console_permissions(name: str) -> frozenset[Permission]:
    from bot.console.roles import Role, permissions

    return permissions({"desk": [Role.FRONT_DESK], "clin": [Role.CLINICIAN], "admin": [Role.ADMIN]}[name])


def test_every_page_needs_a_login(console: Console, record: HandoffRecord) -> None:
    routes = guarded(console)
    assert {r.path for r in routes} >= {"/", "/inbox", "/audit", "/admin/accounts", "/account"}
    for route in routes:
        url = console.url + url_of(route, record)
        response = requests.request(route.method, url, data={"csrf_token": "x", "status": "resolved"}, allow_redirects=False, timeout=10)
        if route.method == "GET":
            assert response.status_code == 303, route.path
            assert response.headers["Location"].startswith("/login?next=/"), route.path
        else:
            assert response.status_code == 403, route.path
        assert "Jane" not in response.text and "pregnan" not in response.text
    assert console.services.handoffs.get(record.id).status == "new"


def test_the_wrong_role_gets_403_and_is_audited(console: Console, record: HandoffRecord) -> None:
    sessions = {name: console.sign_in(name) for name in PASSWORDS}
    checked = 0
    for route in guarded(console):
        if route.permission is None:
            continue
        for name, http in sessions.items():
            if route.permission in console_permissions(name):
                continue
            page = http.get(f"{console.url}/account", timeout=10)
            data = {"csrf_token": csrf_of(page.text), "status": "resolved", "action": "disable"}
            response = http.request(route.method, console.url + url_of(route, record), data=data, allow_redirects=False, timeout=10)
            assert response.status_code == 403, (name, route.method, route.path)
            assert "Jane" not in response.text
            checked += 1
    assert checked >= 8
    assert console.services.handoffs.get(record.id).status == "new" and not console.services.accounts.get("desk").disabled
    denied = console.services.audit.find(action=audit.ACCESS_DENIED, staff="admin")
    assert any(e.detail == f"GET /inbox/{record.id}" for e in denied)


def test_a_form_without_its_csrf_token_is_rejected(console: Console, record: HandoffRecord) -> None:
    for route in guarded(console):
        if route.method != "POST":
            continue
        http = console.sign_in(who_may(route.permission))
        url = console.url + url_of(route, record)
        data = {"status": "resolved", "note": "forged", "action": "disable", "roles": "admin", "password": "x" * 20}
        missing = http.post(url, data=data, allow_redirects=False, timeout=10)
        forged = http.post(url, data={**data, "csrf_token": "not-the-token"}, allow_redirects=False, timeout=10)
        assert missing.status_code == forged.status_code == 403, route.path
        assert "The form has expired" in missing.text
        assert http.get(f"{console.url}/account", timeout=10).status_code == 200, f"{route.path} signed the user out"
    assert console.services.handoffs.get(record.id).status == "new"
    assert console.services.handoffs.get(record.id).note is None
    assert not console.services.accounts.get("desk").disabled
    # The sign-in form too: a login without the form's token (a page on another site posting it) fails.
    response = requests.post(f"{console.url}/login", data={"username": "desk", "password": PASSWORDS["desk"]}, allow_redirects=False)
    assert response.status_code == 403


def test_record_ids_are_random_not_sequential(console: Console) -> None:
    created = [console.services.handoffs.create(f"conv-{i}", "urgent", ["chest_pain"]) for i in range(10)]
    http = console.sign_in("desk")
    page = http.get(f"{console.url}/inbox?status=all", timeout=10).text
    linked = re.findall(r'href="/inbox/([0-9a-f-]{36})"', page)
    assert {r.id for r in created} <= set(linked)
    assert all(uuid.UUID(i).version == 4 for i in linked)
    assert linked != sorted(linked) and linked != sorted(linked, reverse=True)  # newest first is not id order (11! orders)
    assert http.get(f"{console.url}/inbox/{uuid.uuid4()}", timeout=10).status_code == 404  # guessing finds nothing
    assert http.get(f"{console.url}/inbox/1", timeout=10).status_code == 404


def test_repeated_failed_logins_lock_the_account(tmp_path: Path) -> None:
    with running_console(tmp_path, {"CONSOLE_LOCKOUT_ATTEMPTS": "3", "CONSOLE_LOCKOUT_MINUTES": "15"}, ("clin", "admin")) as console:
        http = requests.Session()
        for attempt in range(3):
            token = csrf_of(http.get(f"{console.url}/login", timeout=10).text)
            response = http.post(f"{console.url}/login", data={"csrf_token": token, "username": "clin", "password": "wrong one here"})
            assert response.status_code == 401
            assert ("locked for 15 minutes" in response.text) == (attempt == 2)
        token = csrf_of(http.get(f"{console.url}/login", timeout=10).text)
        right = http.post(f"{console.url}/login", data={"csrf_token": token, "username": "clin", "password": PASSWORDS["clin"]})
        assert right.status_code == 401 and "locked" in right.text and "Inbox" not in right.text
        failures = console.services.audit.find(action=audit.LOGIN_FAILED, staff="clin")
        assert len(failures) == 4 and all(e.client == "127.0.0.1" and e.staff_id for e in failures)
        assert "the account is now locked" in failures[1].detail and failures[0].detail == "account locked"

        admin = console.sign_in("admin")
        page = admin.get(f"{console.url}/admin/accounts", timeout=10).text
        assert "Locked until" in page
        unlocked = admin.post(f"{console.url}/admin/accounts/clin", data={"csrf_token": csrf_of(page), "action": "unlock"})
        assert unlocked.status_code == 200 and "Account unlocked." in unlocked.text
        assert console.sign_in("clin")


def test_too_many_attempts_from_one_address_are_refused(tmp_path: Path) -> None:
    with running_console(tmp_path, accounts=()) as console:
        console.services.limiter = LoginLimiter(RateLimit(attempts=4, window_seconds=300))  # the default is 10
        http = requests.Session()
        codes = []
        for i in range(5):  # different names: the account lockout alone would not stop this
            token = csrf_of(http.get(f"{console.url}/login", timeout=10).text)
            codes.append(
                http.post(f"{console.url}/login", data={"csrf_token": token, "username": f"guess{i}", "password": "x"}).status_code
            )
        assert codes == [401] * 4 + [429]
        assert "too many failures from this address" in console.services.audit.find(action=audit.LOGIN_FAILED)[0].detail


def test_session_cookie_flags_and_security_headers(console: Console) -> None:
    http = requests.Session()
    login = http.get(f"{console.url}/login", timeout=10)
    assert login.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert login.headers["X-Frame-Options"] == "DENY" and login.headers["Cache-Control"] == "no-store"
    assert "aiohttp" not in login.headers.get("Server", "")
    assert "<script>" not in login.text and "style=" not in login.text and "http" not in login.text.replace("http-equiv", "")
    response = http.post(
        f"{console.url}/login",
        data={"csrf_token": csrf_of(login.text), "username": "desk", "password": PASSWORDS["desk"]},
        allow_redirects=False,
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("console_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = http.get(f"{console.url}/inbox", timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_behind_https_cookies_are_secure_and_host_bound(tmp_path: Path) -> None:
    with running_console(tmp_path, {"CONSOLE_HTTPS": "true"}, accounts=()) as console:
        login = requests.get(f"{console.url}/login", timeout=10)
        assert login.headers["Set-Cookie"].startswith("__Host-console_login=") and "Secure" in login.headers["Set-Cookie"]
        assert login.headers["Strict-Transport-Security"].startswith("max-age=")


def test_roles_see_what_they_need(console: Console, record: HandoffRecord) -> None:
    desk = console.sign_in("desk").get(f"{console.url}/inbox/{record.id}", timeout=10).text
    assert "Jane Doe" in desk and "+14035550123" in desk and "Website chat" in desk and "2025-03-01 14:05" in desk
    assert "pregnan" not in desk.lower() and "10 weeks" not in desk  # conditions and transcript are the clinicians'
    clin = console.sign_in("clin").get(f"{console.url}/inbox/{record.id}", timeout=10).text
    assert "pregnancy" in clin and "10 weeks pregnant" in clin
    admin = console.sign_in("admin")
    assert admin.get(f"{console.url}/inbox", timeout=10).status_code == 403
    assert admin.get(f"{console.url}/", allow_redirects=False, timeout=10).headers["Location"] == "/admin/accounts"


def test_actions_are_audited_with_who_when_record_and_address(console: Console, record: HandoffRecord) -> None:
    http = console.sign_in("clin")
    page = http.get(f"{console.url}/inbox/{record.id}", timeout=10)
    saved = http.post(
        f"{console.url}/inbox/{record.id}/status",
        data={"csrf_token": csrf_of(page.text), "status": "contacted", "note": "Left a voicemail"},
        timeout=10,
    )
    assert saved.status_code == 200 and "Saved." in saved.text and "clin · new → contacted" in saved.text
    stored = console.services.handoffs.get(record.id)
    assert (stored.status, stored.note, stored.updated_by) == ("contacted", "Left a voicemail", "clin")
    export = http.get(f"{console.url}/inbox/export.csv?status=all", timeout=10)
    assert export.headers["Content-Disposition"].startswith("attachment") and "Jane Doe" in export.text and "pregnancy" in export.text
    desk_export = console.sign_in("desk").get(f"{console.url}/inbox/export.csv?status=all", timeout=10).text
    assert "Jane Doe" in desk_export and "conditions" not in desk_export.splitlines()[0]

    entries = console.services.audit.find(record_id=record.id, staff="clin")
    actions = [e.action for e in entries]
    for expected in (audit.RECORD_VIEW, audit.STATUS_CHANGE, audit.NOTE_CHANGE, audit.EXPORT):
        assert expected in actions, actions
    for entry in entries:
        assert entry.staff_id == console.services.accounts.get("clin").id and entry.client == "127.0.0.1"
        assert (datetime.now(UTC) - entry.at).total_seconds() < 60
        assert "voicemail" not in (entry.detail or "") and "Jane" not in (entry.detail or "")  # no health data in the log
    assert console.services.audit.find(action=audit.LOGIN, staff="clin")[0].detail == "password"

    log = console.sign_in("admin").get(f"{console.url}/audit?record={record.id}", timeout=10).text
    assert "status change" in log and "new → contacted" not in log and "new -&gt; contacted" in log


def test_signing_out_and_disabling_end_the_session(console: Console) -> None:
    console.services.accounts.create("temp", ["front_desk"], "short lived pass 9")
    http = console.sign_in("temp", "short lived pass 9")
    page = http.get(f"{console.url}/inbox", timeout=10)
    out = http.post(f"{console.url}/logout", data={"csrf_token": csrf_of(page.text)}, allow_redirects=False, timeout=10)
    assert out.status_code == 303 and http.get(f"{console.url}/inbox", allow_redirects=False).status_code == 303
    http = console.sign_in("temp", "short lived pass 9")
    admin = console.sign_in("admin")
    page = admin.get(f"{console.url}/admin/accounts", timeout=10).text
    admin.post(f"{console.url}/admin/accounts/temp", data={"csrf_token": csrf_of(page), "action": "disable"}, timeout=10)
    assert http.get(f"{console.url}/inbox", allow_redirects=False, timeout=10).status_code == 303
    last = admin.post(f"{console.url}/admin/accounts/admin", data={"csrf_token": csrf_of(page), "action": "disable"}, timeout=10)
    assert last.status_code == 400 and "last active admin" in last.text


def test_totp_second_factor(tmp_path: Path) -> None:
    with running_console(tmp_path, accounts=("clin",)) as console:
        secret = pyotp.random_base32()
        console.services.accounts.set_totp("clin", secret)
        http = requests.Session()
        token = csrf_of(http.get(f"{console.url}/login", timeout=10).text)
        step = http.post(
            f"{console.url}/login", data={"csrf_token": token, "username": "clin", "password": PASSWORDS["clin"], "next": "/inbox"}
        )
        assert step.url.endswith("/login/totp?next=/inbox") and "sign-in code" in step.text
        assert http.get(f"{console.url}/inbox", allow_redirects=False).status_code == 303  # not signed in yet
        wrong = http.post(f"{console.url}/login/totp", data={"csrf_token": csrf_of(step.text), "code": "000000", "next": "/inbox"})
        assert wrong.status_code == 401
        right = http.post(
            f"{console.url}/login/totp", data={"csrf_token": csrf_of(wrong.text), "code": pyotp.TOTP(secret).now(), "next": "/inbox"}
        )
        assert right.status_code == 200 and right.url.endswith("/inbox")
        details = [e.detail for e in console.services.audit.find(staff="clin")]
        assert "password and TOTP code" in details and "wrong TOTP code" in details


def test_next_cannot_send_a_user_to_another_site(console: Console) -> None:
    http = requests.Session()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf_of(http.get(f"{console.url}/login", params={"next": target}, timeout=10).text)
        response = http.post(
            f"{console.url}/login",
            data={"csrf_token": token, "username": "desk", "password": PASSWORDS["desk"], "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/inbox", target
