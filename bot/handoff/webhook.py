"""The clinic's webhook: the whole handoff record as signed JSON, POSTed once per handoff.

The receiver gets names, contacts and conditions, so it should be https; an ``Idempotency-Key``
(the handoff id) lets it drop a retry of a POST it already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import requests

from bot.handoff.notifier import Delivery, Outcome
from bot.handoff.store import HandoffRecord

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Handoff-Signature"


class WebhookNotifier:
    kind = "webhook"

    def __init__(self, url: str, secret: str | None = None, store_transcript: bool = False) -> None:
        self.url = url
        self.secret = secret or None
        self.store_transcript = store_transcript
        if not url.startswith("https://"):
            log.warning("handoff webhook is not https: health data would travel unencrypted")

    def payload(self, record: HandoffRecord) -> str:
        """The exact bytes that are signed and sent."""
        return json.dumps(record.as_dict(include_transcript=self.store_transcript), sort_keys=True)

    def send(self, delivery: Delivery) -> Outcome:
        """POST the payload; delivered on 2xx, else a short error without any payload data."""
        body = delivery.payload.encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": delivery.handoff_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            response = requests.post(self.url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
        except requests.RequestException as exc:
            return Outcome(type(exc).__name__)
        return Outcome(None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}")


def sign(body: bytes, secret: str) -> str:
    """HMAC-SHA256 of the exact request body, as ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
