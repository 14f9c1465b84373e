"""SMS, WhatsApp, Telegram and Messenger end to end: the providers' signed webhook payloads in,
the assistant's replies captured on a loopback stand-in of each provider's API."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid

import pytest
import requests
from twilio.request_validator import RequestValidator

from bot.channels.plain_text import sms_safe
from bot.content.knowledge import get_knowledge_base
from tests.support.provider_standin import provider_standin
from tests.support.servers import running_servers

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"
SMS_NUMBER = "+15550001111"
WHATSAPP_NUMBER = "+15550002222"
SMS_MAX = 320
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "telegram-secret"
FB_SECRET = "messenger-app-secret"
FB_VERIFY = "verify-me"


@pytest.fixture(scope="module")
def system():
    with provider_standin() as standin:
        env = {
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_SMS_NUMBER": SMS_NUMBER,
            "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
            "TWILIO_API_URL": standin.url,
            "TWILIO_SMS_MAX_CHARS": str(SMS_MAX),
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
            "TELEGRAM_API_URL": standin.url,
            "MESSENGER_PAGE_ACCESS_TOKEN": "page-token",
            "MESSENGER_APP_SECRET": FB_SECRET,
            "MESSENGER_VERIFY_TOKEN": FB_VERIFY,
            "MESSENGER_API_URL": f"{standin.url}/v19.0",
        }
        with running_servers(extra_env=env) as servers:
            standin.take()
            yield servers, standin


def new_number() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


# --- Twilio (SMS and WhatsApp) -------------------------------------------------------------


def twilio_post(servers, channel: str, sender: str, body: str, to: str, signature: str | None = "sign"):
    """POST the form Twilio sends for an incoming message, signed as Twilio signs it."""
    url = f"{servers.rasa_url}/webhooks/{channel}/webhook"
    sid = "SM" + uuid.uuid4().hex
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "AB",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "CA",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url, data=params, headers=headers, timeout=30)


def sms(system, sender: str, body: str, channel: str = "twilio", to: str = SMS_NUMBER) -> list[str]:
    servers, standin = system
    response = twilio_post(servers, channel, sender, body, to)
    assert response.status_code == 200, response.text
    assert "<Response>" in response.text
    sent = standin.take()
    for s in sent:
        assert s.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
        assert s.form["To"] == sender
        assert s.headers["Authorization"].startswith("Basic ")
    return [s.form["Body"] for s in sent]


def options(text: str) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", text, flags=re.MULTILINE)


def test_sms_answer_has_numbered_options_and_a_number_picks_one(system):
    kb = get_knowledge_base()
    number = new_number()
    parts = sms(system, number, "is dry needling safe?")
    whole = "\n".join(parts)
    assert "qualified and experienced practitioner" in whole
    assert "Sources: The Safety of Dry Needling" in whole
    assert "Reply with a number:" in parts[-1]
    titles = options(parts[-1])
    assert titles[-2:] == ["Book an appointment", "Talk to a clinician"]
    assert len(titles) >= 4

    picked = sms(system, number, "2")
    intent = next(i for i in kb.topics if kb.title(i) == titles[1])
    expected = sms_safe(kb.answer(intent, []).body)
    assert "\n".join(picked).startswith(expected[:60])


def test_sms_option_words_pick_it_too(system):
    number = new_number()
    titles = options(sms(system, number, "hello")[-1])
    assert "Side effects" in titles
    picked = "\n".join(sms(system, number, "side effects"))
    assert "Sources:" in picked and "ruising" in picked


def test_sms_long_answer_is_split_within_the_limit_in_order(system):
    number = new_number()
    parts = sms(system, number, "what are the side effects?")
    assert len(parts) >= 2
    assert all(len(p) <= SMS_MAX for p in parts)
    assert "Reply with a number:" in parts[-1] and "Reply with a number:" not in parts[0]
    assert all(ord(ch) < 0x2000 for p in parts for ch in p), "typographic characters are replaced for GSM-7"


def test_sms_stop_help_start(system):
    number = new_number()
    (stopped,) = sms(system, number, "STOP")
    assert "unsubscribed" in stopped and "START" in stopped
    assert sms(system, number, "is dry needling safe?") == [], "nothing is sent after STOP"
    (helped,) = sms(system, number, "Help")
    assert "Reply STOP to opt out" in helped and "911" in helped
    (started,) = sms(system, number, "start")
    assert "subscribed again" in started
    assert "qualified" in "\n".join(sms(system, number, "is dry needling safe?"))


def test_sms_stop_ends_a_handoff_form_in_progress(system):
    number = new_number()
    assert "Do you agree?" in "\n".join(sms(system, number, "I'm pregnant, can I have dry needling?"))
    sms(system, number, "stop")
    sms(system, number, "start")
    reply = "\n".join(sms(system, number, "Sam Lee"))
    assert "What phone number or email" not in reply, "the form did not resume after STOP"


def test_sms_too_long_message_gets_a_friendly_reply(system):
    (reply,) = sms(system, new_number(), "is it safe " * 200)
    assert "too long" in reply and "1,000" in reply


@pytest.mark.parametrize("signature", [None, "bm90IHRoZSBzaWduYXR1cmU="])
def test_twilio_rejects_unsigned_or_wrongly_signed_requests(system, signature):
    servers, standin = system
    response = twilio_post(servers, "twilio", new_number(), "is dry needling safe?", SMS_NUMBER, signature=signature)
    assert response.status_code == 403
    assert standin.take() == []


def test_twilio_signature_covers_the_body(system):
    servers, standin = system
    url = f"{servers.rasa_url}/webhooks/twilio/webhook"
    params = {"From": new_number(), "To": SMS_NUMBER, "Body": "hello", "AccountSid": TWILIO_SID}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    tampered = {**params, "Body": "is dry needling safe?"}
    response = requests.post(url, data=tampered, headers={"X-Twilio-Signature": signature}, timeout=30)
    assert response.status_code == 403
    assert standin.take() == []


def test_whatsapp_through_twilio(system):
    number = "whatsapp:" + new_number()
    servers, standin = system
    response = twilio_post(servers, "whatsapp", number, "does it hurt?", f"whatsapp:{WHATSAPP_NUMBER}")
    assert response.status_code == 200
    sent = standin.take()
    assert sent and all(s.form["From"] == f"whatsapp:{WHATSAPP_NUMBER}" and s.form["To"] == number for s in sent)
    assert len(sent) == 1, "WhatsApp's limit is 1,600 characters: one message"
    assert "Reply with a number:" in sent[0].form["Body"]
    assert "1. " in sent[0].form["Body"]


# --- Telegram ---------------------------------------------------------------------------


def telegram_post(servers, update: dict, secret: str | None = TELEGRAM_SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return requests.post(f"{servers.rasa_url}/webhooks/telegram/webhook", json=update, headers=headers, timeout=30)


def telegram_message(chat_id: int, text: str) -> dict:
    return {
        "update_id": uuid.uuid4().int % 10**9,
        "message": {
            "message_id": 7,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Pat", "language_code": "en"},
            "chat": {"id": chat_id, "first_name": "Pat", "type": "private"},
            "date": 1763700000,
            "text": text,
        },
    }


def test_telegram_answers_with_inline_buttons_and_button_presses_work(system):
    servers, standin = system
    chat_id = uuid.uuid4().int % 10**9
    assert telegram_post(servers, telegram_message(chat_id, "is dry needling safe?")).status_code == 200
    sent = standin.take()
    assert [s.path for s in sent] == [f"/bot{TELEGRAM_TOKEN}/sendMessage"]
    body = sent[0].json
    assert body["chat_id"] == str(chat_id) and "qualified" in body["text"]
    keyboard = [row[0] for row in body["reply_markup"]["inline_keyboard"]]
    assert keyboard[-1] == {"text": "Talk to a clinician", "callback_data": "/request_clinician"}

    press = {
        "update_id": 2,
        "callback_query": {
            "id": "cb-1",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Pat"},
            "message": {"message_id": 8, "chat": {"id": chat_id, "type": "private"}, "date": 1763700001, "text": "..."},
            "chat_instance": "1",
            "data": keyboard[0]["callback_data"],
        },
    }
    assert telegram_post(servers, press).status_code == 200
    sent = standin.take()
    assert sent[0].path.endswith("/answerCallbackQuery") and sent[0].json == {"callback_query_id": "cb-1"}
    kb = get_knowledge_base()
    expected = kb.answer(keyboard[0]["callback_data"].lstrip("/"), []).body
    assert sent[1].json["text"].startswith(expected[:60])

    assert telegram_post(servers, telegram_message(chat_id, "3")).status_code == 200
    third = standin.take()
    assert third and third[0].json["text"] != sent[1].json["text"], "a typed number picks an option too"


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_telegram_rejects_updates_without_the_secret_token(system, secret):
    servers, standin = system
    assert telegram_post(servers, telegram_message(1, "hello"), secret=secret).status_code == 403
    assert standin.take() == []


def test_telegram_non_text_message_gets_an_explanation(system):
    servers, standin = system
    update = telegram_message(42, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "abc"}
    assert telegram_post(servers, update).status_code == 200
    (sent,) = standin.take()
    assert "only read text" in sent.json["text"]


# --- Facebook Messenger -----------------------------------------------------------------


def messenger_post(servers, payload: dict, secret: str | None = FB_SECRET):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(f"{servers.rasa_url}/webhooks/messenger/webhook", data=body, headers=headers, timeout=30)


def messenger_event(psid: str, text: str | None = None, quick_reply: str | None = None) -> dict:
    message: dict = {"mid": "m_" + uuid.uuid4().hex, "text": text}
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    return {
        "object": "page",
        "entry": [
            {
                "id": "page-1",
                "time": 1763700000000,
                "messaging": [{"sender": {"id": psid}, "recipient": {"id": "page-1"}, "timestamp": 1763700000000, "message": message}],
            }
        ],
    }


def test_messenger_verification_handshake(system):
    servers, _ = system
    url = f"{servers.rasa_url}/webhooks/messenger/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "12345"}, timeout=10)
    assert ok.status_code == 200 and ok.text == "12345"
    bad = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}, timeout=10)
    assert bad.status_code == 403


def test_messenger_answers_with_quick_replies_and_they_work(system):
    servers, standin = system
    psid = uuid.uuid4().hex
    assert messenger_post(servers, messenger_event(psid, "is dry needling safe?")).status_code == 200
    (sent,) = standin.take()
    assert sent.path == "/v19.0/me/messages" and sent.query["access_token"] == ["page-token"]
    assert sent.json["recipient"] == {"id": psid}
    message = sent.json["message"]
    assert "qualified" in message["text"]
    replies = message["quick_replies"]
    assert all(len(r["title"]) <= 20 for r in replies)
    assert replies[-1]["payload"] == "/request_clinician"

    first = replies[0]
    assert messenger_post(servers, messenger_event(psid, first["title"], quick_reply=first["payload"])).status_code == 200
    (answer,) = standin.take()
    kb = get_knowledge_base()
    assert answer.json["message"]["text"].startswith(kb.answer(first["payload"].lstrip("/"), []).body[:60])


@pytest.mark.parametrize("secret", [None, "not-the-app-secret"])
def test_messenger_rejects_unsigned_or_wrongly_signed_requests(system, secret):
    servers, standin = system
    assert messenger_post(servers, messenger_event("p1", "hello"), secret=secret).status_code == 403
    assert standin.take() == []
