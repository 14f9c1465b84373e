"""Two constant computations Rasa 3.6 repeats on every message, done once instead.

1. Every custom-action response is checked with ``jsonschema.validate()``, which
   re-validates the (constant) response schema against the JSON Schema
   meta-schema on every call: 70% of the Rasa server's CPU per message under
   py-spy (see README, "Speed"). The replacement validates against the same
   schema and raises the same error, with the validator cached.
2. Each call to the action server opens a new HTTP client session (a new TCP
   connection, new connector, new cookie jar) and closes it again. The
   replacement keeps one session per endpoint settings and event loop, so
   connections to the action server are reused (HTTP keep-alive).
3. Every message runs three small graphs (NLU, then a policy prediction per
   action) through dask's scheduler, whose bookkeeping cost 8% of the CPU; the
   graphs are a handful of nodes. The replacement evaluates the same nodes
   depth-first, memoised, and it does not format the inputs (the visitor's
   message) into an unused debug string on every run.
4. Loading a conversation turns each stored event into its class with
   ``Event.resolve_by_type``, which walks every subclass of ``Event`` (and checks
   each for abstract methods) for every event: a quarter of the time spent
   loading a conversation. The replacement looks the name up in a table built
   once, with the same first-match order, and defers to Rasa's method otherwise.

Installed by ``bot.channels``, which the Rasa server imports at start-up; tests
check that each gives exactly what Rasa's method gives.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from typing import Any

import aiohttp
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

if getattr(RemoteAction._validate_action_result, "__module__", "") == __name__:  # pragma: no cover - reloaded module
    raise RuntimeError("bot.rasa_patches was reloaded after install(); Rasa's original method is lost")


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, instead of once per message
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``."""
    try:
        _validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


ORIGINAL_VALIDATE = RemoteAction._validate_action_result  # Rasa's own, kept for comparison tests
ORIGINAL_RESOLVE_BY_TYPE = Event.resolve_by_type


@lru_cache(maxsize=1)
def _event_classes() -> dict[str, type[Event]]:
    table: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):  # Rasa's order: the first class with a name wins
        table.setdefault(cls.type_name, cls)
    return table


def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Drop-in for ``Event.resolve_by_type``."""
    cls = _event_classes().get(type_name)
    return cls if cls is not None else ORIGINAL_RESOLVE_BY_TYPE(type_name, default)


ORIGINAL_SESSION = EndpointConfig.session
_sessions: dict[tuple, aiohttp.ClientSession] = {}


class _Reused:
    """``async with`` yields the shared session and leaves it open for the next request."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def reused_session(self: EndpointConfig) -> _Reused:
    """Drop-in for ``EndpointConfig.session`` (always used as ``async with``)."""
    loop = asyncio.get_running_loop()
    auth = tuple(sorted((self.basic_auth or {}).items()))
    key = (id(loop), tuple(sorted((self.headers or {}).items())), auth)
    session = _sessions.get(key)
    if session is None or session.closed or session.loop is not loop:
        session = _sessions[key] = _new_session(self)
    return _Reused(session)


KEEPALIVE_SECONDS = 2.0  # below the action server's 5 s (Sanic's keep-alive timeout)


def _new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa's session (same headers, auth and timeout), whose pooled connections are dropped after 2 s idle.

    The action server closes an idle connection after 5 s. When the Rasa server's event loop was
    busy for longer, reusing a connection the other side had already closed failed the call
    ("Cannot write to closing transport") and the visitor got an apology: aiohttp checks this
    limit when it takes a connection from the pool, so a stale one is never used.
    """
    auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"]) if endpoint.basic_auth else None
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
    )


ORIGINAL_RUN = DaskGraphRunner.run


def run_graph(self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
    """Drop-in for ``DaskGraphRunner.run``: the same graph and results, without dask's scheduler."""
    run_targets = targets if targets else self._graph_schema.target_names
    graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
    if inputs:
        self._add_inputs_to_graph(inputs, graph)
    results: dict[str, Any] = {}

    def compute(key: str) -> Any:
        if key not in graph:  # not a node or input: dask passes such an argument on literally
            return key
        if key not in results:
            task = graph[key]
            if callable(task[0]):  # a node: (GraphNode, *names of the nodes it needs)
                results[key] = task[0](*(compute(name) for name in task[1:]))
            else:  # an input: (name, value), passed on as it is, as dask does
                results[key] = task
        return results[key]

    try:
        return dict(compute(target) for target in run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def install() -> None:
    """Idempotent: replaces Rasa's methods once per process (RASA_SPEEDUPS=off keeps Rasa's own, to compare)."""
    if os.environ.get("RASA_SPEEDUPS", "on").strip().lower() == "off":
        return
    DaskGraphRunner.run = run_graph
    EndpointConfig.session = reused_session
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_by_type)
