"""What every console request works with: the services (stores, templates, settings) and who is signed in."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from aiohttp import web
from sqlalchemy.engine import Connection

from bot.analytics.sources import Analytics
from bot.config import ConsoleSettings, Settings, SettingsError
from bot.console.accounts import Account, AccountStore, Lockout
from bot.console.audit import Actor, AuditLog
from bot.console.auth import LoginLimiter
from bot.console.roles import LABELS, Permission
from bot.console.sessions import Session, SessionStore
from bot.handoff.store import HandoffStore

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission | None
    order: int


@dataclass
class Services:
    """One per console process."""

    settings: ConsoleSettings
    clinic_name: str
    handoffs: HandoffStore
    accounts: AccountStore
    sessions: SessionStore
    audit: AuditLog
    limiter: LoginLimiter
    templates: jinja2.Environment
    timezone: ZoneInfo
    nav: list[NavItem] = field(default_factory=list)
    analytics: Analytics | None = None  # insights and unanswered questions (bot/analytics/)

    @classmethod
    def from_settings(cls, settings: Settings, handoffs: HandoffStore | None = None) -> Services:
        console = settings.console
        handoffs = handoffs or HandoffStore(
            settings.stores.handoff_database_url(), store_transcript=settings.handoff.store_transcript
        )  # no webhook: the console never sends one
        zone = timezone(console.timezone)
        engine = handoffs.engine
        return cls(
            settings=console,
            clinic_name=settings.clinic.clinic_name,
            handoffs=handoffs,
            accounts=AccountStore(engine, Lockout(console.lockout_attempts, console.lockout_minutes)),
            sessions=SessionStore(engine, timedelta(minutes=console.session_idle_minutes), timedelta(hours=console.session_max_hours)),
            audit=AuditLog(engine),
            limiter=LoginLimiter(),
            templates=template_environment(zone),
            timezone=zone,
            analytics=Analytics.from_settings(settings, engine),
        )


def timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CLINIC_TIMEZONE {name!r} is not a time zone name (e.g. America/Edmonton)") from None


def template_environment(zone: ZoneInfo) -> jinja2.Environment:
    """Autoescaped templates; ``local`` shows a UTC time in the clinic's zone."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "" if value is None else value.astimezone(zone).strftime(fmt)

    env.filters["local"] = local
    env.globals["zone_name"] = str(zone)
    return env


def client_address(request: web.Request, trust_proxy: bool) -> str:
    """The client's IP address: the last hop of X-Forwarded-For behind a trusted proxy, else the peer's."""
    if trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.remote or "unknown"


@dataclass
class Context:
    """One request: the services, the signed-in account (None before sign-in) and its session."""

    request: web.Request
    services: Services
    account: Account | None
    session: Session | None
    client: str
    form: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return Actor(self.account.username if self.account else "", self.account.id if self.account else None, self.client)

    def can(self, permission: Permission) -> bool:
        return self.account is not None and self.account.can(permission)

    def audit(self, action: str, record_id: str | None = None, detail: str = "", conn: Connection | None = None) -> None:
        self.services.audit.append(action, self.actor, record_id, detail, conn=conn)

    def nav(self) -> list[dict[str, Any]]:
        """The navigation this account may use, the current page marked."""
        path = self.request.path
        return [
            {"label": item.label, "path": item.path, "current": path == item.path or path.startswith(item.path + "/")}
            for item in sorted(self.services.nav, key=lambda i: (i.order, i.label))
            if item.permission is None or self.can(item.permission)
        ]

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        page = {
            "clinic_name": self.services.clinic_name,
            "account": self.account,
            "roles": ", ".join(LABELS[r] for r in sorted(self.account.roles)) if self.account else "",
            "nav": self.nav() if self.account else [],
            "csrf_token": self.session.csrf_token if self.session else "",
            "can": self.can,
            "Permission": Permission,
            "request_path": self.request.path,
            **values,
        }
        body = self.services.templates.get_template(template).render(**page)
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
