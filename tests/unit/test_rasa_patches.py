"""The cached validator accepts and rejects exactly what Rasa's own validation does."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_patches import ORIGINAL_VALIDATE as ORIGINAL
from bot.rasa_patches import validate_action_result

ACTION = RemoteAction("action_answer", None)


def test_original_is_rasas_own_method():
    assert ORIGINAL.__module__ == "rasa.core.actions.action"


VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "failed_turns", "value": 0.0, "timestamp": None}], "responses": [{"text": "hi"}]},
    {"responses": [{"text": "x", "buttons": [{"title": "a", "payload": "/b"}]}, {"custom": {"topic": "t"}}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": ["not an object"]},
    {"events": [{"event": "slot"}]},
]


@pytest.mark.parametrize("result", VALID)
def test_valid_results_pass_both(result):
    assert ORIGINAL(ACTION, result) is True
    assert validate_action_result(ACTION, result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_results_fail_both_with_the_same_message(result):
    with pytest.raises(ValidationError) as original:
        ORIGINAL(ACTION, result)
    with pytest.raises(ValidationError) as ours:
        validate_action_result(ACTION, result)
    assert ours.value.message == original.value.message


def test_event_lookup_gives_what_rasa_gives_for_every_event_type():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    from bot.rasa_patches import ORIGINAL_RESOLVE_BY_TYPE, resolve_by_type

    assert ORIGINAL_RESOLVE_BY_TYPE.__module__ == "rasa.shared.core.events"
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert resolve_by_type(name) is ORIGINAL_RESOLVE_BY_TYPE(name)
    assert resolve_by_type("topic") is None
    assert resolve_by_type("no-such-event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name"):
        resolve_by_type("no-such-event")


def test_events_round_trip_through_the_faster_lookup():
    from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered

    from bot import rasa_patches as rasa_speedups

    rasa_speedups.install()
    events = [
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("utter_greet"),
        BotUttered("Hello"),
        SlotSet("consent", True),
    ]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events


def test_action_server_requests_reuse_one_connection():
    """Two calls through Rasa's EndpointConfig arrive on the same TCP connection, with the same answers."""
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from bot import rasa_patches as rasa_speedups

    rasa_speedups.install()
    peers: list = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"echo": (await request.json())["n"]})

    async def scenario() -> list:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            return [await endpoint.request(json={"n": n}, method="post") for n in range(3)]
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == [{"echo": 0}, {"echo": 1}, {"echo": 2}]
    assert len(peers) == 3 and len(set(peers)) == 1, "one keep-alive connection, not one per call"


def test_pooled_action_server_connections_expire_before_the_action_server_closes_them():
    """The action server (Sanic) closes idle connections after 5 s; reusing one it closed failed the call."""
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    from bot import rasa_patches

    async def keepalive() -> float:
        async with rasa_patches.reused_session(EndpointConfig("http://127.0.0.1:1/webhook")) as session:
            return session.connector._keepalive_timeout  # aiohttp's own setting, checked when taking a connection

    assert asyncio.run(keepalive()) < 5.0
