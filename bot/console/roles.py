"""Who may do what in the staff console: roles, permissions, and the table joining them.

Minimum necessary: the front desk sees how to reach a visitor and why; clinicians also see the
health information (conditions, transcripts); admins manage accounts and read the audit log and,
unless they also hold another role, see no records. Insights (counts and rates) are for clinicians and
admins; the unanswered questions are visitors' own words, so only for those who may read transcripts
(clinicians). An account may hold several roles.

A new page adds its permission to ``Permission`` and to the roles in ``GRANTS`` that may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW_HANDOFFS = "view_handoffs"  # the inbox and each record: time, reason, name, contact, channel, status, note
    VIEW_CLINICAL = "view_clinical"  # conditions and red flags, transcripts
    UPDATE_HANDOFFS = "update_handoffs"  # status and note
    EXPORT_HANDOFFS = "export_handoffs"  # CSV of the inbox, with the columns the role may see
    MANAGE_ACCOUNTS = "manage_accounts"
    READ_AUDIT = "read_audit"
    VIEW_INSIGHTS = "view_insights"  # counts and rates over conversations: no visitor's words, no record
    VIEW_UNANSWERED = "view_unanswered"  # questions the assistant could not answer, in the visitors' words (as transcripts)
    MARK_UNANSWERED = "mark_unanswered"  # mark a group of those questions handled


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.FRONT_DESK: frozenset({Permission.VIEW_HANDOFFS, Permission.UPDATE_HANDOFFS, Permission.EXPORT_HANDOFFS}),
    Role.CLINICIAN: frozenset(
        {
            Permission.VIEW_HANDOFFS,
            Permission.VIEW_CLINICAL,
            Permission.UPDATE_HANDOFFS,
            Permission.EXPORT_HANDOFFS,
            Permission.VIEW_INSIGHTS,
            Permission.VIEW_UNANSWERED,
            Permission.MARK_UNANSWERED,
        }
    ),
    Role.ADMIN: frozenset({Permission.MANAGE_ACCOUNTS, Permission.READ_AUDIT, Permission.VIEW_INSIGHTS}),
}

LABELS = {Role.FRONT_DESK: "Front desk", Role.CLINICIAN: "Clinician", Role.ADMIN: "Admin"}


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Role names (also comma-separated, and with '-' for '_') as roles; ValueError naming an unknown one."""
    roles = set()
    for value in values:
        for name in str(value).replace(",", " ").split():
            try:
                roles.add(Role(name.strip().lower().replace("-", "_")))
            except ValueError:
                raise ValueError(f"unknown role {name!r}; roles are {', '.join(r.value for r in Role)}") from None
    if not roles:
        raise ValueError("at least one role is required")
    return frozenset(roles)


def permissions(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= GRANTS[role]
    return frozenset(granted)


def serialise(roles: Iterable[Role]) -> str:
    """Roles as stored: sorted, comma-separated."""
    return ",".join(sorted(role.value for role in roles))
