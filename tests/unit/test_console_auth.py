"""Signing in to the staff console, rule by rule: password hashes, tokens, CSRF, rate limit, TOTP and roles."""

from __future__ import annotations

import pyotp
import pytest

from bot.console import auth
from bot.console.roles import Permission, Role, parse_roles, permissions, serialise


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    hashed = auth.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and "correct" not in hashed
    assert auth.hash_password("correct horse battery") != hashed  # salted
    assert auth.verify_password(hashed, "correct horse battery")
    assert not auth.verify_password(hashed, "correct horse batterY")
    assert not auth.verify_password(None, "correct horse battery")  # unknown name: a dummy is checked, never a match
    assert not auth.verify_password("not-a-hash", "x")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "at least 12"), ("x" * 257, "at most 256"), ("alice-password-1", "staff name"), ("abababababab", "repeat")],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        auth.check_password(password, "alice")


def test_staff_names_are_normalised_and_checked() -> None:
    assert auth.check_username("  Alice.Smith ") == "alice.smith"
    for bad in ("a", "-alice", "alice smith", "alice<script>", "x" * 65):
        with pytest.raises(ValueError):
            auth.check_username(bad)


def test_tokens_are_long_random_and_only_their_hash_is_kept() -> None:
    tokens = {auth.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    token = next(iter(tokens))
    assert auth.token_hash(token) != token and len(auth.token_hash(token)) == 64


def test_csrf_check() -> None:
    assert auth.csrf_ok("abc123", "abc123")
    assert not auth.csrf_ok("abc123", "abc124")
    assert not auth.csrf_ok("abc123", None) and not auth.csrf_ok("abc123", "")
    assert not auth.csrf_ok(None, None) and not auth.csrf_ok("", "")


def test_failed_sign_ins_per_address_are_limited_in_a_sliding_window() -> None:
    now = [1000.0]
    limiter = auth.LoginLimiter(auth.RateLimit(attempts=3, window_seconds=60), clock=lambda: now[0])
    outcomes = []
    for _ in range(4):
        outcomes.append(limiter.blocked("10.0.0.1"))
        if not outcomes[-1]:
            limiter.failed("10.0.0.1")
    assert outcomes == [False, False, False, True]
    assert not limiter.blocked("10.0.0.2")  # another address is not affected
    assert 0 < limiter.retry_after("10.0.0.1") <= 61
    now[0] += 61
    assert not limiter.blocked("10.0.0.1") and limiter.retry_after("10.0.0.1") == 0


def test_totp_codes_are_accepted_once_with_one_step_of_drift() -> None:
    secret = auth.new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = 1_700_000_000.0
    step = auth.totp_step(secret, totp.at(now), None, now)
    assert step == int(now // 30)
    assert auth.totp_step(secret, totp.at(now), step, now) is None  # used: refused
    assert auth.totp_step(secret, totp.at(now - 30), None, now) == step - 1  # the previous code, for clock drift
    assert auth.totp_step(secret, totp.at(now - 90), None, now) is None
    assert auth.totp_step(secret, "12345", None, now) is None and auth.totp_step(secret, "abcdef", None, now) is None
    code = totp.at(now)
    assert auth.totp_step(secret, f"{code[:3]} {code[3:]}", None, now) == step  # typed with a space
    assert auth.totp_uri(secret, "alice").startswith("otpauth://totp/") and secret in auth.totp_uri(secret, "alice")


def test_roles_grant_the_minimum_necessary() -> None:
    front_desk, clinician, admin = (permissions([r]) for r in (Role.FRONT_DESK, Role.CLINICIAN, Role.ADMIN))
    assert Permission.VIEW_HANDOFFS in front_desk and Permission.VIEW_CLINICAL not in front_desk
    assert Permission.VIEW_CLINICAL in clinician and Permission.READ_AUDIT not in clinician
    assert Permission.MANAGE_ACCOUNTS in admin and Permission.READ_AUDIT in admin
    assert Permission.VIEW_HANDOFFS not in admin  # an admin alone sees no records
    assert Permission.VIEW_CLINICAL in permissions([Role.ADMIN, Role.CLINICIAN])


def test_roles_are_parsed_from_the_command_line_forms() -> None:
    assert parse_roles(["clinician"]) == {Role.CLINICIAN}
    assert parse_roles(["front-desk,admin"]) == {Role.FRONT_DESK, Role.ADMIN}
    assert serialise(parse_roles(["Admin", "clinician"])) == "admin,clinician"
    with pytest.raises(ValueError, match="unknown role 'doctor'"):
        parse_roles(["doctor"])
    with pytest.raises(ValueError):
        parse_roles([])


def test_the_access_log_has_no_query_string(caplog: pytest.LogCaptureFixture) -> None:
    """A search in the inbox is a name or a phone number: the console's access log keeps the path only."""
    import logging

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from bot.console.server import PathOnlyAccessLogger

    caplog.set_level(logging.INFO)
    logger = PathOnlyAccessLogger(logging.getLogger("bot.console.test"), "")
    logger.log(make_mocked_request("GET", "/inbox?q=Jane+Doe&status=open"), web.Response(status=200), 0.012)
    assert "GET /inbox 200" in caplog.text and "Jane" not in caplog.text and "q=" not in caplog.text
