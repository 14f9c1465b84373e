"""Markup and invisible characters never reach the NLU model."""

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.text_cleaner import TextCleaner, clean_text


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("<b>is it safe?</b>", "is it safe?"),
        ("<script>alert('x')</script>", ""),
        ("<img src=x onerror=alert(1)> will i bruise", "will i bruise"),
        ("does it hurt &amp; for how long", "does it hurt & for how long"),
        ("a < b and 3 > 2 <3", "a < b and 3 > 2 <3"),
        ("side\u200b effects\u0000?", "side effects?"),
        ("  lots   of\n\nspace ", "lots of space"),
        ("¿Es segura la punción seca?", "¿Es segura la punción seca?"),
        ("🙂🙂", "🙂🙂"),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_component_cleans_messages_in_place():
    component = TextCleaner()
    messages = component.process([Message({TEXT: "<p>is dry needling <i>safe</i>?</p>"})])
    assert messages[0].get(TEXT) == "is dry needling safe ?"
