"""Validate action-server responses with a validator that is built once.

Rasa 3.6 checks every custom-action response with ``jsonschema.validate()``,
which re-validates the (constant) response schema against the JSON Schema
meta-schema on every call. py-spy showed that this took 70% of the Rasa
server's CPU per message (see README, "Speed"). The replacement validates
against the same schema and raises the same error, with the validator cached.
Installed by ``bot.channels``, which the Rasa server imports at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

if getattr(RemoteAction._validate_action_result, "__module__", "") == __name__:  # pragma: no cover - reloaded module
    raise RuntimeError("bot.rasa_speedups was reloaded after install(); Rasa's original method is lost")


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


def install() -> None:
    """Idempotent: replaces Rasa's method once per process."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
