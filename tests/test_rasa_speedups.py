"""The cached validator accepts and rejects exactly what Rasa's own validation does."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_speedups import ORIGINAL_VALIDATE as ORIGINAL
from bot.rasa_speedups import validate_action_result

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
