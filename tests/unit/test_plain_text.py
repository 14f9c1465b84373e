"""Replies for channels without buttons, SMS keywords, opt-outs and which channels are on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.base import PlainTextOutput, answer
from bot.channels.config import active_channels
from bot.channels.messenger import quick_replies, valid_signature
from bot.channels.plain_text import numbered, plain_parts, resolve_choice, sms_safe, split_message, text_with_sources
from bot.channels.sms_keywords import keyword
from bot.persistence.opt_outs import OptOutStore

BUTTONS = [
    {"title": "Side effects", "payload": "/ask_side_effects"},
    {"title": "Who should avoid it?", "payload": "/ask_who_should_avoid"},
    {"title": "Talk to a clinician", "payload": "/request_clinician"},
]


def test_numbered_options_follow_the_text():
    assert numbered("Hello.", BUTTONS) == (
        "Hello.\n\nReply with a number:\n1. Side effects\n2. Who should avoid it?\n3. Talk to a clinician"
    )
    assert numbered("Hello.", []) == "Hello."


@pytest.mark.parametrize(
    ("reply", "payload"),
    [
        ("2", "/ask_who_should_avoid"),
        (" 2. ", "/ask_who_should_avoid"),
        ("#3", "/request_clinician"),
        ("option 1", "/ask_side_effects"),
        ("side effects", "/ask_side_effects"),
        ("Who should avoid it", "/ask_who_should_avoid"),
        ("TALK TO A CLINICIAN!", "/request_clinician"),
        ("4", None),
        ("0", None),
        ("what are the side effects?", None),
        ("2 or 3", None),
        ("", None),
    ],
)
def test_a_reply_picks_an_option_by_number_or_words(reply, payload):
    assert resolve_choice(reply, BUTTONS) == payload


def test_no_options_no_choice():
    assert resolve_choice("2", []) is None


def test_split_keeps_short_text_whole_and_long_text_within_the_limit():
    assert split_message("Short.", 100) == ["Short."]
    assert split_message("   ", 100) == []
    paragraphs = "\n\n".join(f"Paragraph {n} has a sentence. And another sentence here." for n in range(10))
    parts = split_message(paragraphs, 120)
    assert all(len(p) <= 120 for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(paragraphs.split()), "nothing lost, order kept"
    assert all(p.startswith("Paragraph") for p in parts), "splits at paragraph breaks first"


def test_split_breaks_long_sentences_at_words_and_cuts_only_unbreakable_runs():
    sentence = "word " * 100
    parts = split_message(sentence, 50)
    assert all(len(p) <= 50 for p in parts) and all(not p.startswith(" ") for p in parts)
    url = "x" * 130
    assert split_message(url, 50) == ["x" * 50, "x" * 50, "x" * 30]
    with pytest.raises(ValueError):
        split_message("text", 5)


def test_options_stay_together_in_the_last_message():
    text = "\n\n".join("A sentence that fills the message up nicely." for _ in range(6))
    parts = plain_parts(text, BUTTONS, 160)
    assert all(len(p) <= 160 for p in parts)
    assert parts[-1].startswith("Reply with a number:") or "Reply with a number:" in parts[-1]
    assert sum("Reply with a number:" in p for p in parts) == 1
    assert "3. Talk to a clinician" in parts[-1]


def test_sms_safe_uses_the_gsm_alphabet():
    assert sms_safe("provider’s “care” – safe… • Bruising") == 'provider\'s "care" - safe... - Bruising'


def test_text_channels_add_the_structured_sources_as_one_last_line():
    two = [{"document": "Doc A", "section": "One"}, {"document": "Doc B", "section": "Two"}]
    assert text_with_sources({"text": "Answer.", "custom": {"sources": two}}) == "Answer.\n\nSources: Doc A – One; Doc B – Two"
    one = {"text": "Answer.", "custom": {"topic": "x", "sources": two[:1]}}
    assert text_with_sources(one) == "Answer.\n\nSource: Doc A – One"
    assert text_with_sources({"text": "No sources here."}) == "No sources here."
    assert text_with_sources({"text": "Handoff.", "custom": {"handoff": {"reason": "urgent"}}}) == "Handoff."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "stop"),
        ("stop.", "stop"),
        (" Unsubscribe ", "stop"),
        ("cancel", "stop"),
        ("QUIT", "stop"),
        ("START", "start"),
        ("unstop", "start"),
        ("HELP", "help"),
        ("info", "help"),
        ("stop the form", None),
        ("can you help me?", None),
        ("yes", None),
        ("", None),
        (None, None),
    ],
)
def test_sms_keywords_only_as_the_whole_message(text, expected):
    assert keyword(text) == expected


def test_opt_out_store_remembers_until_opt_in(tmp_path):
    store = OptOutStore(f"sqlite:///{tmp_path / 'optouts.db'}")
    assert not store.is_opted_out("twilio", "+15551234567")
    store.opt_out("twilio", "+15551234567")
    store.opt_out("twilio", "+15551234567")  # twice is fine
    assert store.is_opted_out("twilio", "+15551234567")
    assert not store.is_opted_out("whatsapp", "+15551234567"), "per channel"
    assert "+15551234567" not in (tmp_path / "optouts.db").read_bytes().decode("latin-1"), "only a hash is stored"
    store.opt_in("twilio", "+15551234567")
    assert not store.is_opted_out("twilio", "+15551234567")


def test_messenger_signature_sha256_and_legacy_sha1():
    body = b'{"object":"page"}'
    sha256 = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(b"secret", body, hashlib.sha1).hexdigest()
    assert valid_signature(body, "secret", sha256, "")
    assert valid_signature(body, "secret", "", sha1)
    assert not valid_signature(body, "other", sha256, "")
    assert not valid_signature(body + b" ", "secret", sha256, sha1)
    assert not valid_signature(body, "secret", "", "")


def test_messenger_quick_replies_number_titles_that_are_too_long():
    short = [{"title": "Side effects", "payload": "/a"}, {"title": "Book", "payload": "/b"}]
    text, replies = quick_replies("Hi", short)
    assert text == "Hi" and [r["title"] for r in replies] == ["Side effects", "Book"]
    long = [*short, {"title": "A title much longer than twenty", "payload": "/c"}]
    text, replies = quick_replies("Hi", long)
    assert "3. A title much longer than twenty" in text
    assert [(r["title"], r["payload"]) for r in replies] == [("1", "/a"), ("2", "/b"), ("3", "/c")]


RAW = {
    "bot.channels.rest.RestChannel": None,
    "sms": {"sid": "${SID}", "token": "${TOKEN}", "url": "${URL:-}", "fixed": 5},
    "tg": {"token": "${TG}"},
}


def test_channels_are_on_only_when_their_variables_are_set():
    active, off = active_channels(RAW, {"SID": "a", "TOKEN": "b"})
    assert list(active) == ["bot.channels.rest.RestChannel", "sms"]
    assert active["sms"] == {"sid": "${SID}", "token": "${TOKEN}", "fixed": 5}, "unset optional keys dropped, secrets not written"
    assert off == {"tg": ["TG"]}
    active, _ = active_channels(RAW, {"SID": "a", "TOKEN": "b", "URL": "http://x"})
    assert active["sms"]["url"] == "${URL}"
    active, off = active_channels(RAW, {"SID": "a"})
    assert "sms" not in active and off["sms"] == ["TOKEN"]


class RecordingOutput(PlainTextOutput):
    def __init__(self) -> None:
        self.parts: list[str] = []

    async def send_parts(self, recipient_id: str, parts: list[str]) -> None:
        self.parts += parts


@pytest.mark.parametrize("outcome", ["raises", "silent"])
def test_a_message_that_fails_or_gets_no_reply_gets_an_apology(outcome):
    async def handle(message: UserMessage) -> None:
        if outcome == "raises":
            raise ConnectionError("action server down")

    output = RecordingOutput()
    asyncio.run(answer(handle, UserMessage("is it safe?", output, "+15550001"), "twilio"))
    (apology,) = output.parts
    assert "can't answer just now" in apology and "911" in apology


def test_a_message_with_a_reply_gets_no_apology():
    async def handle(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "An answer."})

    output = RecordingOutput()
    asyncio.run(answer(handle, UserMessage("is it safe?", output, "+15550001"), "twilio"))
    assert output.parts == ["An answer."]


@pytest.mark.parametrize(
    ("channel", "credentials", "missing"),
    [
        ("bot.channels.twilio.TwilioSmsChannel", {"account_sid": "AC1", "number": "+1"}, "auth_token"),
        ("bot.channels.telegram.TelegramChannel", {"access_token": "t"}, "secret_token"),
        ("bot.channels.messenger.MessengerChannel", {"page_access_token": "p", "verify_token": "v"}, "app_secret"),
    ],
)
def test_a_channel_without_its_credentials_says_which_are_missing(channel, credentials, missing):
    import importlib

    module, name = channel.rsplit(".", 1)
    with pytest.raises(ValueError, match=f"missing credentials {missing}"):
        getattr(importlib.import_module(module), name).from_credentials(credentials)
