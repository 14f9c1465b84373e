"""The pieces of signing in: password hashes, random tokens, CSRF checks, rate limits and TOTP codes.

Pure functions and small objects with an injectable clock, so each rule is tested without a server.
Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
option); session tokens and CSRF tokens are 256-bit random values, and only a session token's
SHA-256 is stored, so a copy of the database cannot be used to sign in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256  # argon2 takes any length; this bounds the work an attacker can ask for
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOTP_ISSUER = "Dry needling assistant staff console"

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalise_username(name: str) -> str:
    """Names are case-insensitive: stored and compared in lower case."""
    return name.strip().lower()


def check_username(name: str) -> str:
    """The normalised name, or ValueError: 2-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit."""
    normal = normalise_username(name)
    if not USERNAME.match(normal):
        raise ValueError("a staff name is 2-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
    return normal


def check_password(password: str, username: str = "") -> str:
    """The password, or ValueError saying what is wrong (length, or the name itself)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    if username and normalise_username(username) in password.lower():
        raise ValueError("a password must not contain the staff name")
    if len(set(password)) < 4:
        raise ValueError("a password must not repeat a few characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown name) a dummy is checked, taking the same time."""
    try:
        ok = _hasher.verify(password_hash or _DUMMY_HASH, password[:MAX_PASSWORD_CHARS])
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when argon2's parameters have been raised since this hash was made."""
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """A 256-bit random token, URL-safe (session cookies, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored for a session token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """A form's CSRF token matches the session's (constant time; missing on either side fails)."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


# -- TOTP (RFC 6238, 30-second steps, 6 digits: what authenticator apps expect) -------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step of a valid ``code`` (the current one or one step either side, for clock drift), or None.

    A code of a step at or before ``last_step`` (already used) is refused, so a code seen over someone's shoulder
    cannot be used again.
    """
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // totp.interval)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return None if last_step is not None and step <= last_step else step
    return None


# -- rate limit per client address ---------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    attempts: int = 10
    window_seconds: float = 300.0


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per client address in a sliding window (this process's memory).

    The account lockout (in the database) stops guessing one account's password; this stops one address
    trying many accounts, or many names, quickly. Only failures count, so a clinic whose staff share one
    address (behind a router) is not blocked by its own successful sign-ins.
    """

    def __init__(self, limit: RateLimit = RateLimit(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        """Whether ``client`` has used up its failures for now (then no attempt is made)."""
        with self._lock:
            return len(self._recent(client)) >= self.limit.attempts

    def failed(self, client: str) -> None:
        """Count a failed sign-in from ``client``."""
        with self._lock:
            if len(self._failures) > 10_000:  # forget quiet addresses rather than grow without bound
                now = self.clock()
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < self.limit.window_seconds}
            self._recent(client).append(self.clock())

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0 when it may now)."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.limit.attempts:
                return 0
            return max(0, int(self.limit.window_seconds - (self.clock() - recent[0])) + 1)

    def _recent(self, client: str) -> deque[float]:
        now = self.clock()
        seen = self._failures.setdefault(client, deque())
        while seen and now - seen[0] >= self.limit.window_seconds:
            seen.popleft()
        return seen
