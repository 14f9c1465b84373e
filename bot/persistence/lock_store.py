"""Rasa's Redis lock store with leases: a live server's tickets are renewed, only a dead server's expire.

Each conversation has a queue of tickets in Redis; a server takes a ticket, waits until its
ticket is first, handles the message and removes its ticket. Rasa 3.6's ``RedisLockStore``
gives every ticket a fixed lifetime (``TICKET_LOCK_LIFETIME``, default 60 s) counted from the
moment it is issued, which breaks failover between servers:

* A waiting ticket ages while it waits. When a server dies holding a conversation's lock and
  the client's retry takes a ticket on another server less than a poll interval (1 s) later,
  the waiter's ticket has expired too by the time it sees the dead one gone: the queue is
  empty, Rasa's ``now_serving`` is then 0, never the waiter's number, and the request waits
  forever (until the client gives up, nginx after 60 s). The lock in Redis reads
  ``"tickets": []`` all that time.
* One number is both how long a dead server blocks its conversations and how long a live
  server may take to answer before it silently loses the lock: it cannot be short and safe.
* Every change is a GET and then a SET: two servers taking a ticket at the same moment can
  get the same number or erase each other's ticket.

This store keeps Rasa's layout in Redis (Rasa's own code can still read the locks) and:

* changes a lock in one Redis transaction (WATCH/MULTI/EXEC, retried on conflict), with
  Redis's clock, so the servers' clocks do not matter;
* renews a server's own ticket while it waits (every poll) and while it holds the lock
  (every quarter lifetime), so the lifetime only limits how long a *dead* server's ticket
  blocks the conversation, and can be short (``lock_lifetime`` in endpoints.production.yml);
* tells its tickets apart by a random lease id, not by number (numbers restart at 0);
* if a waiter's ticket is gone all the same (a stall longer than the lifetime), queues a new
  one rather than waiting for nothing;
* lets the key expire with its last ticket, so a crashed server leaves nothing behind.

Trade-off: a server whose event loop stalls for more than three quarters of the lifetime
while it holds a lock loses it, and another server may then answer the same conversation at
the same time; this is logged as a warning. With Rasa's store the same happens to any
message that takes longer than the lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

DEFAULT_LOCK_LIFETIME = 10.0  # seconds; TICKET_LOCK_LIFETIME or the endpoint's lock_lifetime override it
POLL_SECONDS = 0.5  # how often a waiting server looks at the queue (Rasa: 1 s)

T = TypeVar("T")
Tickets = list[dict[str, Any]]


class LeasedRedisLockStore(RedisLockStore):
    """``lock_store: {type: bot.persistence.lock_store.LeasedRedisLockStore, lock_lifetime: 10, ...}``.

    The other settings are those of Rasa's ``redis`` lock store (url, port, password, db, key_prefix, use_ssl...).
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, lock_lifetime: float | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        configured = kwargs.pop("lock_lifetime", None) or lock_lifetime
        super().__init__(**kwargs)
        self.lifetime = float(os.environ.get("TICKET_LOCK_LIFETIME") or configured or DEFAULT_LOCK_LIFETIME)
        if not self.lifetime > 0:
            raise ValueError(f"lock_lifetime must be a positive number of seconds, not {self.lifetime}")

    @contextlib.asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,  # Rasa's callers never pass these; the store's settings apply
        wait_time_in_seconds: float | None = None,
    ) -> AsyncIterator[TicketLock]:
        lifetime = float(lock_lifetime or self.lifetime)
        lease = uuid.uuid4().hex
        try:
            lock = await self._wait_for_turn(conversation_id, lease, lifetime, wait_time_in_seconds or POLL_SECONDS)
            renewal = asyncio.create_task(self._keep(conversation_id, lease, lifetime))
            try:
                yield lock
            finally:
                renewal.cancel()
        finally:
            try:
                self._change(conversation_id, lambda tickets, now: _remove(tickets, lease))
            except redis.RedisError as exc:  # the ticket expires by itself after the lifetime
                logger.warning("could not release a conversation lock (%s)", type(exc).__name__)

    async def _wait_for_turn(self, conversation_id: str, lease: str, lifetime: float, poll: float) -> TicketLock:
        """Queue a ticket, then renew it every poll until it is first in the queue."""
        queued = False

        def turn(tickets: Tickets, now: float) -> bool:
            own = _find(tickets, lease)
            if own is None:
                if queued:  # expired during a stall longer than the lifetime: queue again, don't wait for nothing
                    logger.warning("a waiting conversation lock ticket expired; queued again")
                _queue(tickets, lease, now + lifetime)
            else:
                own["expires"] = now + lifetime
            return tickets[0]["lease"] == lease

        while True:
            try:
                first = self._change(conversation_id, turn)
            except redis.RedisError as exc:
                logger.error("conversation lock store (Redis) unavailable: %s", type(exc).__name__)
                raise LockError(f"Could not acquire lock for conversation '{conversation_id}': {exc}") from exc
            if first:
                return TicketLock(conversation_id)  # Rasa's callers don't use it
            queued = True
            await asyncio.sleep(poll)

    async def _keep(self, conversation_id: str, lease: str, lifetime: float) -> None:
        """Renew the held ticket every quarter lifetime until cancelled (the message is handled)."""

        def renew(tickets: Tickets, now: float) -> bool:
            own = _find(tickets, lease)
            if own is not None:
                own["expires"] = now + lifetime
            return own is not None

        while True:
            await asyncio.sleep(lifetime / 4)
            try:
                if not self._change(conversation_id, renew):
                    logger.warning(
                        "conversation lock lost: not renewed for over %.0f s (event loop stalled); "
                        "another server may handle this conversation at the same time",
                        lifetime,
                    )
                    return
            except redis.RedisError as exc:
                logger.warning("could not renew a conversation lock (%s); retrying", type(exc).__name__)

    def _change(self, conversation_id: str, change: Callable[[Tickets, float], T]) -> T:
        """Apply ``change(tickets, now)`` to the conversation's live tickets in one transaction; save or delete."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: Any) -> T:
            raw = pipe.get(key)
            seconds, micros = pipe.time()
            now = seconds + micros / 1e6
            tickets = [t for t in _tickets(raw) if t["expires"] > now]
            result = change(tickets, now)
            pipe.multi()
            if tickets:
                ttl_ms = math.ceil((max(t["expires"] for t in tickets) - now) * 1000) + 1000
                body = {"conversation_id": conversation_id, "tickets": [json.dumps(t) for t in tickets]}
                pipe.set(key, json.dumps(body), px=ttl_ms)
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)


def _tickets(raw: bytes | None) -> Tickets:
    """The tickets of a lock as Rasa stores it: a JSON object whose ``tickets`` are JSON strings."""
    if not raw:
        return []
    tickets = [json.loads(t) for t in json.loads(raw).get("tickets", [])]
    for ticket in tickets:
        ticket.setdefault("lease", None)  # a ticket written by Rasa's own store
    return tickets


def _find(tickets: Tickets, lease: str) -> dict[str, Any] | None:
    return next((t for t in tickets if t["lease"] == lease), None)


def _queue(tickets: Tickets, lease: str, expires: float) -> None:
    number = tickets[-1]["number"] + 1 if tickets else 0
    tickets.append({"number": number, "expires": expires, "lease": lease})


def _remove(tickets: Tickets, lease: str) -> None:
    tickets[:] = [t for t in tickets if t["lease"] != lease]
