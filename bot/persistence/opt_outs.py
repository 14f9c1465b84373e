"""Who has opted out of SMS/WhatsApp messages, so nothing more is sent until they opt back in.

Kept in the handoff database (HANDOFF_DATABASE_URL or STORES=production; SQLite by default). The phone
number is stored as a SHA-256 hash: enough to recognise the sender, not to list
numbers (pseudonymised, not anonymous: phone numbers are few enough to guess).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.config import load_settings
from bot.persistence import database

metadata = MetaData()
opt_outs = Table(
    "messaging_opt_outs",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("address_hash", String(64), primary_key=True),
    Column("opted_out_at", DateTime(timezone=True), nullable=False),
)


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().encode()).hexdigest()


class OptOutStore:
    def __init__(self, url: str | None = None) -> None:
        url = url or load_settings().stores.handoff_database_url()
        resolved = database.resolve(url, create_dir=True)
        self.engine: Engine = create_engine(resolved, future=True, hide_parameters=True, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def is_opted_out(self, channel: str, address: str) -> bool:
        query = select(opt_outs.c.channel).where(opt_outs.c.channel == channel, opt_outs.c.address_hash == address_hash(address))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def opt_out(self, channel: str, address: str) -> None:
        row = {"channel": channel, "address_hash": address_hash(address), "opted_out_at": datetime.now(UTC)}
        try:
            with self.engine.begin() as conn:
                conn.execute(opt_outs.insert().values(**row))
        except IntegrityError:
            pass  # already opted out

    def opt_in(self, channel: str, address: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(opt_outs).where(opt_outs.c.channel == channel, opt_outs.c.address_hash == address_hash(address)))
