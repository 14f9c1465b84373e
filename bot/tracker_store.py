"""Rasa's SQL tracker store with connections checked before use.

Rasa creates its SQLAlchemy engine without ``pool_pre_ping``: after PostgreSQL
restarts, the next query on a pooled connection fails, Rasa's fail-safe wrapper
falls back to an empty in-memory tracker, and that turn is answered out of context
and never saved. Checking each connection as it leaves the pool replaces dead ones
first, so the next message after a restart works and nothing is lost.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
