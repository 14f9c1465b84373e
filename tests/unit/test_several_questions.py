"""A message that asks several questions gets each answered, in one reply, with sources for each."""

from bot.config import ClinicSettings
from bot.content.several import REPLY_LIMIT, several_reply
from bot.nlu.intent_classifier import split_questions
from bot.safety.lexicon import question_words

OPENERS = question_words()
CLINIC = ClinicSettings("Roar Physio | Wellness", practical={"parking": "Free parking behind the building."})


def test_questions_are_split_at_question_marks_and_question_word_clauses():
    assert split_questions("what does it do, does it hurt, and what are the side effects?", OPENERS) == [
        "what does it do",
        "does it hurt",
        "what are the side effects?",
    ]
    assert split_questions("Does it hurt? Is it safe when pregnant?", OPENERS) == ["Does it hurt?", "Is it safe when pregnant?"]


def test_a_list_inside_one_question_stays_one_question():
    assert split_questions("is it safe for kids and older people?", OPENERS) == ["is it safe for kids and older people?"]
    assert len(split_questions("does dry needling hurt", OPENERS)) == 1


def q(*intents):
    return [{"text": i, "intent": i, "confidence": 0.9} for i in intents]


def test_each_topic_is_answered_under_its_title_with_its_sources(kb):
    reply = several_reply(kb, CLINIC, q("ask_what_is_dry_needling", "ask_does_it_hurt", "ask_side_effects"), [])
    assert reply is not None
    for intent in ("ask_what_is_dry_needling", "ask_does_it_hurt", "ask_side_effects"):
        assert kb.title(intent) in reply.text
    assert reply.custom["topics"] == ["ask_what_is_dry_needling", "ask_does_it_hurt", "ask_side_effects"]
    assert reply.custom["sources"] and reply.custom["passages"]
    body = reply.text.split("\n\nIf after treatment")[0]  # the emergency advice is added after the answers
    assert len(body) <= REPLY_LIMIT + 100  # titles and separators on top of the answers' budget


def test_a_practical_question_is_answered_alongside_a_topic(kb):
    reply = several_reply(kb, CLINIC, q("ask_does_it_hurt", "ask_clinic_info"), [("clinic_topic", "parking")])
    assert reply is not None
    assert "Free parking behind the building." in reply.text and kb.title("ask_does_it_hurt") in reply.text
    assert reply.custom["replies"] == ["clinic_info"]


def test_one_answerable_question_is_left_to_the_normal_answer(kb):
    assert several_reply(kb, CLINIC, q("ask_does_it_hurt", "greet"), []) is None
    assert several_reply(kb, CLINIC, q("ask_does_it_hurt", "ask_does_it_hurt"), []) is None


def test_the_classifier_scores_counts_and_embedding_without_stacking_them():
    """The hot path multiplies the two parts separately; it must give exactly the stacked result."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack

    from bot.nlu.intent_classifier import Head

    rng = np.random.default_rng(0)
    head = Head(rng.normal(size=(5, 12)), rng.normal(size=5))
    sparse = csr_matrix(rng.random((3, 8)) * (rng.random((3, 8)) > 0.6))
    dense = rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(head.proba_split(sparse, dense), head.proba(hstack([sparse, csr_matrix(dense)]).tocsr()), rtol=1e-6)
