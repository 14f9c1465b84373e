"""For admins: staff accounts (create, roles, disable, unlock) and the audit log (read only).

At least one active admin always remains: the console refuses to disable the last one or take
away its role, so nobody is locked out of account management.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from aiohttp import web

from bot.console import audit
from bot.console.accounts import AccountExists, AccountNotFound
from bot.console.context import Context
from bot.console.pages import Pages
from bot.console.roles import LABELS, Permission, Role, parse_roles
from bot.console.spreadsheet import csv_text

pages = Pages()

AUDIT_PAGE = 200
ACCOUNT_DONE = {
    "created": "Account created. Give the person their password in person; they can change it under Your account.",
    "disabled": "Account disabled and signed out everywhere.",
    "enabled": "Account enabled.",
    "unlocked": "Account unlocked.",
    "roles": "Roles changed.",
    "password": "Password reset; the account is signed out everywhere.",
}


@pages.get("/admin/accounts", Permission.MANAGE_ACCOUNTS, nav="Staff accounts", order=80)
async def accounts(request: web.Request, ctx: Context) -> web.StreamResponse:
    return accounts_page(ctx, notice=ACCOUNT_DONE.get(request.query.get("done", ""), ""))


def accounts_page(ctx: Context, notice: str = "", error: str = "", status: int = 200, new_name: str = "") -> web.Response:
    now = datetime.now().astimezone()
    return ctx.render(
        "accounts.html",
        status=status,
        accounts=ctx.services.accounts.all(),
        roles=[(role.value, LABELS[role]) for role in Role],
        role_labels=LABELS,
        now=now,
        notice=notice,
        error=error,
        new_name=new_name,
    )


@pages.post("/admin/accounts", Permission.MANAGE_ACCOUNTS)
async def create_account(request: web.Request, ctx: Context) -> web.StreamResponse:
    name = str(ctx.form.get("username", ""))
    password = str(ctx.form.get("password", ""))
    try:
        roles = parse_roles(ctx.form.getall("roles", []))  # type: ignore[attr-defined]
        account = ctx.services.accounts.create(name, roles, password)
    except (AccountExists, ValueError) as exc:
        return accounts_page(ctx, error=str(exc).capitalize() + ".", status=400, new_name=name)
    ctx.audit(audit.ACCOUNT_CREATE, detail=f"{account.username} roles={','.join(sorted(account.roles))}")
    return web.Response(status=303, headers={"Location": "/admin/accounts?done=created"})


@pages.post("/admin/accounts/{username}", Permission.MANAGE_ACCOUNTS)
async def change_account(request: web.Request, ctx: Context) -> web.StreamResponse:
    store = ctx.services.accounts
    action = str(ctx.form.get("action", ""))
    try:
        target = store.get(request.match_info["username"])
    except AccountNotFound:
        raise web.HTTPNotFound() from None
    is_last_admin = Role.ADMIN in target.roles and not target.disabled and store.count_admins() <= 1
    try:
        if action == "disable":
            if is_last_admin:
                raise ValueError("the last active admin cannot be disabled")
            store.set_disabled(target.username, True)
            ctx.services.sessions.end_all(target.id)
            done, detail = "disabled", f"{target.username} disabled"
        elif action == "enable":
            store.set_disabled(target.username, False)
            done, detail = "enabled", f"{target.username} enabled"
        elif action == "unlock":
            store.unlock(target.username)
            done, detail = "unlocked", f"{target.username} unlocked"
        elif action == "roles":
            roles = parse_roles(ctx.form.getall("roles", []))  # type: ignore[attr-defined]
            if is_last_admin and Role.ADMIN not in roles:
                raise ValueError("the last active admin must keep the admin role")
            store.set_roles(target.username, roles)
            done, detail = "roles", f"{target.username} roles={','.join(sorted(roles))}"
        elif action == "password":
            store.set_password(target.username, str(ctx.form.get("password", "")))
            ctx.services.sessions.end_all(target.id)
            done, detail = "password", f"{target.username} password reset"
        else:
            raise ValueError("unknown action")
    except ValueError as exc:
        return accounts_page(ctx, error=f"{target.username}: {exc}.", status=400)
    ctx.audit(audit.ACCOUNT_CHANGE, detail=detail)
    return web.Response(status=303, headers={"Location": f"/admin/accounts?done={done}"})


# -- the audit log ----------------------------------------------------------------------------


def _audit_filters(ctx: Context, query: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    problems = []
    zone = ctx.services.timezone
    filters: dict[str, object] = {}
    if query.get("staff"):
        filters["staff"] = query["staff"][:64]
    if query.get("action") in audit.ACTIONS:
        filters["action"] = query["action"]
    if query.get("record"):
        filters["record_id"] = query["record"][:36]
    for key, field, shift in (("from", "since", 0), ("to", "until", 1)):
        if query.get(key):
            try:
                filters[field] = datetime.combine(date.fromisoformat(query[key]) + timedelta(days=shift), time(), zone)
            except ValueError:
                problems.append(f"'{key}' is not a date (YYYY-MM-DD): ignored.")
    return filters, problems


@pages.get("/audit", Permission.READ_AUDIT, nav="Audit log", order=90)
async def audit_log(request: web.Request, ctx: Context) -> web.StreamResponse:
    query = dict(request.query)
    filters, problems = _audit_filters(ctx, query)
    before = query.get("before", "")
    entries = ctx.services.audit.find(
        **filters,  # type: ignore[arg-type]
        before_id=int(before) if before.isdigit() else None,
        limit=AUDIT_PAGE + 1,
    )
    ctx.audit(audit.AUDIT_VIEW, detail=" ".join(f"{k}" for k in sorted(filters)) or "all")
    shown = entries[:AUDIT_PAGE]
    older = dict(query, before=str(shown[-1].id)) if len(entries) > AUDIT_PAGE else None
    return ctx.render("audit.html", entries=shown, older=older, query=query, actions=audit.ACTIONS, problems=problems)


@pages.get("/audit/export.csv", Permission.READ_AUDIT)
async def audit_export(request: web.Request, ctx: Context) -> web.StreamResponse:
    """The filtered log as CSV, for a privacy officer's review (an export is itself audited)."""
    filters, _ = _audit_filters(ctx, dict(request.query))
    entries = ctx.services.audit.find(**filters, limit=1_000_000)  # type: ignore[arg-type]
    ctx.audit(audit.EXPORT, detail=f"audit log csv, {len(entries)} entries")
    header = ["id", "time_utc", "staff_id", "staff", "action", "record_id", "client", "detail"]
    rows = ([e.id, e.at.isoformat(), e.staff_id, e.staff, e.action, e.record_id, e.client, e.detail] for e in entries)
    body = csv_text(header, rows)
    return web.Response(
        body=body.encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
