"""The numpy all-MiniLM-L6-v2 reproduces the model card, and padding does not change a vector."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.encoder import get_encoder


@pytest.fixture(scope="module")
def encoder():
    return get_encoder()


def test_model_card_similarities(encoder):
    food, bread, baby = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."])
    assert float(food @ bread) == pytest.approx(0.755, abs=0.002)
    assert float(food @ baby) == pytest.approx(-0.105, abs=0.002)


def test_a_sentence_gets_the_same_vector_alone_and_in_a_batch_with_longer_ones(encoder):
    short = "my chest hurts"
    alone = encoder.encode([short])[0]
    batched = encoder.encode([short, "a much longer sentence about dry needling, soreness, bruising and what to expect after"])[0]
    assert np.allclose(alone, batched, atol=1e-5), "padding leaked into the pooled vector"
    assert float(np.linalg.norm(alone)) == pytest.approx(1.0, abs=1e-5)


def test_related_meanings_are_closer_than_unrelated_ones(encoder):
    breath, chest, bruise = encoder.encode(["I can't catch my breath", "my chest feels tight and breathing hurts", "a small bruise"])
    assert float(breath @ chest) > float(breath @ bruise) + 0.1


def test_token_vectors_follow_the_word_pieces_of_each_token():
    """Sequence features for Rasa: one row per token, from the word pieces inside its characters."""
    from bot.nlu.encoder import get_encoder

    encoder = get_encoder()
    text = "Does dry needling hurt?"
    (contextual,) = encoder.encode_tokens([text])
    np.testing.assert_allclose(contextual.sentence, encoder.encode([text])[0], atol=1e-5)
    spans = [(0, 4), (5, 8), (9, 17), (18, 22), (40, 45)]  # the last is past the end: no pieces
    rows = contextual.token_vectors(spans)
    assert rows.shape == (5, 384)
    assert np.abs(rows[:4]).sum(axis=1).min() > 0 and not rows[4].any()
    assert not np.allclose(rows[0], rows[3])


def test_sentences_of_a_message_are_read_from_its_one_forward_pass(encoder, monkeypatch):
    """The safety screen reads each sentence of a long message; once the message has been encoded (by the NLU), its
    sentences' vectors come from that pass: no further run of the model, and each stays closest to its own meaning."""
    text = "My chest feels tight and I can't breathe. I also want to book for Tuesday afternoon."
    encoder.encode([text])

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(encoder, "_forward", no_second_pass)
    first, second = encoder.span_vectors(text, [(0, 41), (42, len(text))])
    assert float(np.linalg.norm(first)) == pytest.approx(1.0, abs=1e-5)
    monkeypatch.undo()
    chest, booking = encoder.encode(["my chest feels tight and I can't breathe", "I want to book for Tuesday afternoon"])
    assert float(first @ chest) > float(first @ booking)
    assert float(second @ booking) > float(second @ chest)
