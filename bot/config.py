"""Every setting in one typed object: the clinic (clinic.yml) and the environment.

Stores, ports, handoff, channels and retention are read here and nowhere else. Ports and
the embedded tracker database are read from the endpoints file, where Rasa reads them,
so they are written once. A process calls ``get_settings()`` (read once, cached); tests
build their own with ``load_settings(environ=...)``.

    python -m bot.config --shell   # shell exports for scripts/start (ports, stores)
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot import PROJECT_ROOT

DEFAULT_RASA_PORT = 5005
DEFAULT_MAX_MESSAGE_CHARS = 1000
DEFAULT_REQUEST_MAX_BYTES = 256 * 1024
DEFAULT_RETENTION_DAYS = 30
DEFAULT_AUDIT_RETENTION_DAYS = 2190  # 6 years: the audit log outlives the records it covers
DEFAULT_CONSOLE_PORT = 5006
EMBEDDED_ENDPOINTS = "endpoints.yml"
PRODUCTION_ENDPOINTS = "endpoints.production.yml"
EMBEDDED_HANDOFF_DB = "var/handoffs.db"
# Defaults for the production stores' variables (STORES=production), exported by scripts/start.
PRODUCTION_DEFAULTS = {
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "assistant",
    "POSTGRES_USER": "assistant",
    "POSTGRES_PASSWORD": "",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "",
    "REDIS_DB": "1",
}
_CLINIC_ENV = {
    "clinic_name": "CLINIC_NAME",
    "phone": "CLINIC_PHONE",
    "booking_url": "CLINIC_BOOKING_URL",
    "emergency_number": "CLINIC_EMERGENCY_NUMBER",
}
_TRUE = {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class ClinicSettings:
    """What the assistant says about the clinic (clinic.yml, overridable from the environment)."""

    clinic_name: str
    phone: str = ""
    booking_url: str = ""
    emergency_number: str = "911"
    # Practical answers by subject (clinic.yml ``practical:``); an empty or missing one is not known.
    practical: Mapping[str, str] = field(default_factory=dict)

    @property
    def call_text(self) -> str:
        """How to reach the clinic by phone, without inventing a number."""
        if self.phone:
            return f"call {self.clinic_name} at {self.phone}"
        return f"contact {self.clinic_name} directly"

    @property
    def booking_text(self) -> str:
        """Where to book, falling back to the phone when no link is configured."""
        if self.booking_url:
            return f"book online at {self.booking_url}"
        return self.call_text

    @property
    def contact_text(self) -> str:
        """Every way to reach the clinic, each once: the phone (or "contact ... directly") and the booking link."""
        return f"{self.call_text}, or book online at {self.booking_url}" if self.booking_url else self.call_text

    def as_slots(self) -> dict[str, str]:
        """Values the domain's responses use as ``{slot}`` placeholders."""
        return {
            "clinic_name": self.clinic_name,
            "clinic_call": self.call_text,
            "clinic_booking": self.booking_text,
            "clinic_contact": self.contact_text,
            "emergency_number": self.emergency_number,
        }


@dataclass(frozen=True)
class Ports:
    rasa: int
    actions: int


@dataclass(frozen=True)
class StoreSettings:
    """Embedded (SQLite, in-memory locks) or production (PostgreSQL + Redis, ``STORES=production``)."""

    production: bool
    endpoints_file: Path
    postgres: Mapping[str, str] = field(default_factory=dict)
    postgres_schema: str | None = None
    tracker_url_setting: str | None = None  # TRACKER_DATABASE_URL
    handoff_url_setting: str | None = None  # HANDOFF_DATABASE_URL

    def tracker_database_url(self) -> str:
        """Where conversations are: TRACKER_DATABASE_URL, else the endpoints file's store (ValueError if malformed)."""
        from bot.persistence import database

        if self.tracker_url_setting:
            return self.tracker_url_setting
        endpoints = read_endpoints(self.endpoints_file)
        return database.tracker_url_from_endpoints(endpoints, self.postgres, self.production)

    def handoff_database_url(self) -> str:
        """Where handoffs and opt-outs are: HANDOFF_DATABASE_URL, else the production database, else SQLite."""
        from bot.persistence import database

        if self.handoff_url_setting:
            return self.handoff_url_setting
        return database.postgres_url(self.postgres) if self.production else f"sqlite:///{EMBEDDED_HANDOFF_DB}"


@dataclass(frozen=True)
class EmailSettings:
    """An e-mail to the clinic for each new handoff (HANDOFF_EMAIL_TO set); it says that there is one, never what about."""

    host: str
    port: int
    security: str  # "starttls", "ssl" (TLS from the first byte) or "none" (loopback relays only: no login allowed)
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    console_url: str | None = None  # CONSOLE_URL: the staff console as staff open it, put in the e-mail
    timezone: str = "UTC"  # CLINIC_TIMEZONE: the time the e-mail shows


@dataclass(frozen=True)
class ChatwootSettings:
    """The clinic's Chatwoot (CHATWOOT_URL set): each handoff also opens a conversation in an API-channel inbox."""

    url: str
    account_id: int
    inbox_id: int
    api_token: str = field(repr=False)


@dataclass(frozen=True)
class HandoffSettings:
    webhook_url: str | None = None
    webhook_secret: str | None = None
    store_transcript: bool = False
    email: EmailSettings | None = None
    chatwoot: ChatwootSettings | None = None


@dataclass(frozen=True)
class ChannelSettings:
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    allowed_origins: tuple[str, ...] = ()
    request_max_bytes: int | None = DEFAULT_REQUEST_MAX_BYTES  # None: SANIC_REQUEST_MAX_SIZE decides


@dataclass(frozen=True)
class ConsoleSettings:
    """The staff console (bot/console/): its own port, loopback unless CONSOLE_HOST says otherwise."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_CONSOLE_PORT
    https: bool = False  # served over HTTPS (by a reverse proxy): Secure cookies, HSTS
    trust_proxy: bool = False  # the client address is the last hop of X-Forwarded-For
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    timezone: str = "UTC"  # CLINIC_TIMEZONE: times are shown in the clinic's zone


@dataclass(frozen=True)
class Settings:
    clinic: ClinicSettings
    stores: StoreSettings
    ports: Ports
    handoff: HandoffSettings
    channels: ChannelSettings
    retention_days: int
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS


def load_clinic_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> ClinicSettings:
    """Read clinic.yml, then let environment variables override single values."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("CLINIC_SETTINGS") or PROJECT_ROOT / "clinic.yml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = {key: str(raw.get(key) or "").strip() for key in _CLINIC_ENV}
    for key, var in _CLINIC_ENV.items():
        if environ.get(var):
            values[key] = environ[var].strip()
    if not values["clinic_name"]:
        raise SettingsError(f"{path}: clinic_name must be set")
    values["emergency_number"] = values["emergency_number"] or "911"
    practical = raw.get("practical") or {}
    if not isinstance(practical, dict):
        raise SettingsError(f"{path}: practical must be a mapping of subject to text")
    known = {str(k): str(v).strip() for k, v in practical.items() if v is not None and str(v).strip()}
    return ClinicSettings(**values, practical=known)


def read_endpoints(path: Path) -> dict[str, Any]:
    """The endpoints file as Rasa reads it (``${VAR}`` left unexpanded)."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def retention_days(value: str | int | None, default: int = DEFAULT_RETENTION_DAYS) -> int:
    """A whole number of days, at least 1 (0 would delete every conversation)."""
    if value is None or value == "":
        return default
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise SettingsError(f"retention days must be a whole number, not {value!r}") from None
    if days < 1:
        raise SettingsError(f"retention days must be at least 1, not {days}")
    return days


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def _console_settings(environ: Mapping[str, str]) -> ConsoleSettings:
    defaults = ConsoleSettings()
    return ConsoleSettings(
        host=environ.get("CONSOLE_HOST", "").strip() or defaults.host,
        port=_positive_int(environ, "CONSOLE_PORT", defaults.port),
        https=environ.get("CONSOLE_HTTPS", "").strip().lower() in _TRUE,
        trust_proxy=environ.get("CONSOLE_TRUST_PROXY", "").strip().lower() in _TRUE,
        session_idle_minutes=_positive_int(environ, "CONSOLE_SESSION_IDLE_MINUTES", defaults.session_idle_minutes),
        session_max_hours=_positive_int(environ, "CONSOLE_SESSION_MAX_HOURS", defaults.session_max_hours),
        lockout_attempts=_positive_int(environ, "CONSOLE_LOCKOUT_ATTEMPTS", defaults.lockout_attempts),
        lockout_minutes=_positive_int(environ, "CONSOLE_LOCKOUT_MINUTES", defaults.lockout_minutes),
        timezone=environ.get("CLINIC_TIMEZONE", "").strip() or defaults.timezone,
    )


SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _email_settings(environ: Mapping[str, str]) -> EmailSettings | None:
    """SMTP_* and HANDOFF_EMAIL_*; None unless HANDOFF_EMAIL_TO is set. Half a configuration is an error, not silence."""
    recipients = tuple(environ.get("HANDOFF_EMAIL_TO", "").replace(",", " ").split())
    if not recipients:
        return None
    host, sender = environ.get("SMTP_HOST", "").strip(), environ.get("HANDOFF_EMAIL_FROM", "").strip()
    security = environ.get("SMTP_SECURITY", "").strip().lower() or "starttls"
    user, password = environ.get("SMTP_USER", "").strip() or None, environ.get("SMTP_PASSWORD") or None
    timezone = environ.get("CLINIC_TIMEZONE", "").strip() or "UTC"
    if not host or not sender:
        raise SettingsError("HANDOFF_EMAIL_TO is set, so SMTP_HOST and HANDOFF_EMAIL_FROM must be set too")
    if security not in SMTP_PORTS:
        raise SettingsError(f"SMTP_SECURITY must be one of {', '.join(SMTP_PORTS)}, not {security!r}")
    if bool(user) != bool(password):
        raise SettingsError("SMTP_USER and SMTP_PASSWORD go together")
    if user and security == "none":
        raise SettingsError("SMTP_USER with SMTP_SECURITY=none would send the password unencrypted")
    if bad := [a for a in (sender, *recipients) if a.count("@") != 1 or not all(a.split("@"))]:
        raise SettingsError(f"not an e-mail address: {', '.join(bad)} (HANDOFF_EMAIL_FROM / HANDOFF_EMAIL_TO)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CLINIC_TIMEZONE: unknown time zone {timezone!r} (e.g. America/Toronto)") from None
    return EmailSettings(
        host=host,
        port=_positive_int(environ, "SMTP_PORT", SMTP_PORTS[security]),
        security=security,
        sender=sender,
        recipients=recipients,
        user=user,
        password=password,
        console_url=environ.get("CONSOLE_URL", "").strip() or None,
        timezone=timezone,
    )


def _chatwoot_settings(environ: Mapping[str, str]) -> ChatwootSettings | None:
    """CHATWOOT_*; None unless CHATWOOT_URL is set, and then every one of them is required."""
    url = environ.get("CHATWOOT_URL", "").strip().rstrip("/")
    if not url:
        return None
    names = ("CHATWOOT_ACCOUNT_ID", "CHATWOOT_INBOX_ID", "CHATWOOT_API_TOKEN")
    if missing := [name for name in names if not environ.get(name, "").strip()]:
        raise SettingsError(f"CHATWOOT_URL is set, so {', '.join(missing)} must be set too")
    if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise SettingsError(f"CHATWOOT_URL must be an http(s) URL, not {url!r}")
    ids = {name: environ[name].strip() for name in names[:2]}
    if bad := [name for name, value in ids.items() if not value.isdigit() or int(value) < 1]:
        raise SettingsError(f"{', '.join(bad)} must be a positive whole number (Chatwoot's numeric id)")
    return ChatwootSettings(
        url=url,
        account_id=int(ids["CHATWOOT_ACCOUNT_ID"]),
        inbox_id=int(ids["CHATWOOT_INBOX_ID"]),
        api_token=environ["CHATWOOT_API_TOKEN"].strip(),
    )


def _action_port(endpoints: dict[str, Any], environ: Mapping[str, str]) -> int:
    url = str((endpoints.get("action_endpoint") or {}).get("url") or "")
    if url.startswith("${"):  # production: ACTION_SERVER_URL, else the embedded file's
        url = environ.get("ACTION_SERVER_URL") or str(read_endpoints(PROJECT_ROOT / EMBEDDED_ENDPOINTS)["action_endpoint"]["url"])
    port = urlparse(url).port
    if port is None:
        raise SettingsError(f"action server URL {url!r} has no port")
    return port


def load_settings(environ: Mapping[str, str] | None = None, clinic_path: Path | None = None) -> Settings:
    """All settings from the environment (``os.environ`` by default) and the project's files."""
    environ = os.environ if environ is None else environ
    production = environ.get("STORES", "").strip().lower() == "production"
    endpoints_file = PROJECT_ROOT / (PRODUCTION_ENDPOINTS if production else EMBEDDED_ENDPOINTS)
    endpoints = read_endpoints(endpoints_file)
    postgres = {name: environ.get(name) or default for name, default in PRODUCTION_DEFAULTS.items()}
    stores = StoreSettings(
        production=production,
        endpoints_file=endpoints_file,
        postgres=postgres,
        postgres_schema=environ.get("POSTGRESQL_SCHEMA") or None,
        tracker_url_setting=environ.get("TRACKER_DATABASE_URL") or None,
        handoff_url_setting=environ.get("HANDOFF_DATABASE_URL") or None,
    )
    origins = tuple(o.strip().rstrip("/") for o in environ.get("CHAT_ALLOWED_ORIGINS", "").replace(",", " ").split())
    return Settings(
        clinic=load_clinic_settings(clinic_path, environ),
        stores=stores,
        ports=Ports(
            rasa=_positive_int(environ, "RASA_PORT", DEFAULT_RASA_PORT),
            actions=_action_port(endpoints, environ),
        ),
        handoff=HandoffSettings(
            webhook_url=environ.get("HANDOFF_WEBHOOK_URL") or None,
            webhook_secret=environ.get("HANDOFF_WEBHOOK_SECRET") or None,
            store_transcript=environ.get("HANDOFF_STORE_TRANSCRIPT", "").strip().lower() in _TRUE,
            email=_email_settings(environ),
            chatwoot=_chatwoot_settings(environ),
        ),
        channels=ChannelSettings(
            max_message_chars=_positive_int(environ, "CHAT_MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
            allowed_origins=origins,
            request_max_bytes=None if "SANIC_REQUEST_MAX_SIZE" in environ else DEFAULT_REQUEST_MAX_BYTES,
        ),
        retention_days=retention_days(environ.get("RETENTION_DAYS") or None),
        console=_console_settings(environ),
        audit_retention_days=retention_days(environ.get("AUDIT_RETENTION_DAYS") or None, DEFAULT_AUDIT_RETENTION_DAYS),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """This process's settings, read once."""
    return load_settings()


def shell_exports(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """``export`` lines for scripts/start: ports, endpoints file and unset production variables."""
    environ = os.environ if environ is None else environ
    lines = {
        "RASA_PORT": str(settings.ports.rasa),
        "ACTION_PORT": str(settings.ports.actions),
        "ENDPOINTS": settings.stores.endpoints_file.name,
        "CONSOLE_HOST": settings.console.host,
        "CONSOLE_PORT": str(settings.console.port),
    }
    if settings.stores.production:
        lines |= {name: value for name, value in PRODUCTION_DEFAULTS.items() if name not in environ}
        if "ACTION_SERVER_URL" not in environ:
            lines["ACTION_SERVER_URL"] = f"http://127.0.0.1:{settings.ports.actions}/webhook"
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in lines.items())


if __name__ == "__main__":
    if sys.argv[1:] == ["--shell"]:
        try:
            print(shell_exports(get_settings()))
        except (SettingsError, OSError) as exc:
            sys.exit(f"settings: {exc}")
    else:
        sys.exit("usage: python -m bot.config --shell")
