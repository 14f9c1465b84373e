"""An e-mail to the clinic for each new handoff and urgent record: that one arrived, never what it is about.

E-mail crosses servers the clinic does not control and sits in mailboxes for years, so the message
carries no health information: only the kind of record ("clinician request" or "urgent record"),
a short id, the time, and where to read it (the staff console). The outbox row keeps only those
facts, so nothing else could end up in the message. The Message-ID is derived from the outbox row:
a retry after the server accepted the message but before the outbox recorded it carries the same
Message-ID, which mail systems use to recognise the duplicate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import EmailSettings
from bot.handoff.notifier import Delivery, Outcome
from bot.handoff.store import URGENT, HandoffRecord

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 10.0
SHORT_ID_CHARS = 8


def notice(record: HandoffRecord) -> dict[str, Any]:
    """The only facts an e-mail may carry: the record's id, whether it is urgent, and when it arrived."""
    return {"handoff_id": record.id, "urgent": record.reason == URGENT, "created_at": record.created_at.isoformat()}


def subject(facts: dict[str, Any], timezone: str) -> str:
    """``New clinician request #1a2b3c4d at 14:05`` (clinic time); ``New urgent record #...`` for a red flag."""
    kind = "urgent record" if facts["urgent"] else "clinician request"
    return f"New {kind} #{facts['handoff_id'][:SHORT_ID_CHARS]} at {_local(facts, timezone):%H:%M}"


def compose(facts: dict[str, Any], settings: EmailSettings, outbox_id: int, now: datetime) -> EmailMessage:
    """The whole message for one outbox row; the same row always gets the same Message-ID."""
    title = subject(facts, settings.timezone)
    where = f"open the console: {settings.console_url}" if settings.console_url else "open the staff console"
    arrived = _local(facts, settings.timezone)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(facts["handoff_id"], outbox_id, settings.sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    text = (
        f"{title} - {where}\n"
        f"Received {arrived:%a %d %b %Y, %H:%M} ({settings.timezone}).\n\n"
        f"Record id: {facts['handoff_id']}\n\n"
        "This e-mail only says that a record arrived. Who wrote and what about is in the console, behind a login.\n"
    )
    message.set_content(text, cte="7bit" if text.isascii() else "quoted-printable")  # 7bit: the URL stays whole
    return message


def message_id(handoff_id: str, outbox_id: int, sender: str) -> str:
    """``<handoff id>.<outbox row>@<sender's domain>``: stable across retries of one row, unique across rows."""
    return f"<{handoff_id}.{outbox_id}@{sender.rpartition('@')[2]}>"


class EmailNotifier:
    kind = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def payload(self, record: HandoffRecord) -> str:
        return json.dumps(notice(record), sort_keys=True)

    def send(self, delivery: Delivery, now: datetime | None = None) -> Outcome:
        """Hand the message to the SMTP server. Once it accepted the message (250 after DATA), it is delivered,
        whatever happens to the connection afterwards: a resend then would be a duplicate."""
        message = compose(json.loads(delivery.payload), self.settings, delivery.id, now or datetime.now(UTC))
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(_error(exc))
        try:
            if self.settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.settings.user and self.settings.password:
                smtp.login(self.settings.user, self.settings.password)
            refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(_error(exc))
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()
        if refused:
            total = len(self.settings.recipients)
            log.warning("handoff %s e-mail refused for %d of %d recipients", delivery.handoff_id, len(refused), total)
        return Outcome()

    def _connect(self) -> smtplib.SMTP:
        host, port = self.settings.host, self.settings.port
        if self.settings.security == "ssl":
            return smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
        return smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)


def _local(facts: dict[str, Any], timezone: str) -> datetime:
    return datetime.fromisoformat(facts["created_at"]).astimezone(ZoneInfo(timezone))


def _error(exc: Exception) -> str:
    """``SMTP 451`` for a server reply, else the exception's type (never the server's text, which may echo addresses)."""
    code = getattr(exc, "smtp_code", None)
    return f"SMTP {code}" if isinstance(code, int) else type(exc).__name__
