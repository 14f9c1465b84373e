"""Topic map and answer composition: what a visitor reads for each question."""

import re

import pytest

from bot.channels.plain_text import source_line
from bot.content.documents import split_sentences
from bot.content.knowledge import KnowledgeBase
from bot.content.replies import answer_reply
from tests.conftest import KNOWLEDGE_INTENTS

MAX_BODY_CHARS = 1200  # a chat bubble; longer lists are shown as labels with follow-up buttons


def all_answers(kb: KnowledgeBase):
    """Every answer the assistant can give from the knowledge base."""
    for intent in KNOWLEDGE_INTENTS:
        yield f"intent {intent}", kb.answer(intent)
    for entity, value in kb.focused:
        yield f"{entity}={value}", kb.answer("ask_side_effects", [(entity, value)])
    for passage_id in kb.passages:
        yield f"search {passage_id}", kb.passage_answer(passage_id)


def document_sentences(kb: KnowledgeBase) -> set[str]:
    return {s for p in kb.passages.values() for s in p.sentences}


def test_the_topic_map_is_valid(kb):
    assert kb.topics and kb.check() == []


def test_every_answer_is_verbatim_document_text(kb):
    """Each line of every answer is a bullet label and/or whole sentences of the documents."""
    sentences = document_sentences(kb)
    labels = {p.label for p in kb.passages.values() if p.label}
    for name, answer in all_answers(kb):
        body = answer.body
        assert answer.sources, name
        for line in filter(None, body.split("\n")):
            if line.startswith("• "):
                label, _, rest = line[2:].partition(": ")
                assert label in labels, (name, line)
                line = rest
            for sentence in split_sentences(line):
                assert sentence in sentences, (name, sentence)


def test_sources_name_every_cited_section(kb):
    for name, answer in all_answers(kb):
        cited = {(s["document"], s["section"]) for s in answer.sources}
        used = {(seg.passage.document_title, seg.passage.section_title) for seg in answer.segments}
        assert cited == used, name
        line = source_line(answer.sources)  # how text channels show them
        for source in answer.sources:
            assert f"{source['document']} – {source['section']}" in line


def _content_words(sentence: str) -> set[str]:
    stop = {"the", "a", "an", "and", "or", "of", "to", "in", "is", "are", "be", "can", "may", "with", "by", "at", "as", "for", "on"}
    stop |= {"dry", "needling"}
    return {w for w in re.findall(r"[a-z]+", sentence.lower()) if w not in stop and len(w) > 2}


def test_answers_do_not_repeat_themselves(kb):
    for name, answer in all_answers(kb):
        said = [s for seg in answer.segments for s in split_sentences(seg.text)]
        assert len(said) == len(set(said)), name
        for i, a in enumerate(said):
            for b in said[i + 1 :]:
                wa, wb = _content_words(a), _content_words(b)
                overlap = len(wa & wb) / max(1, min(len(wa), len(wb)))
                assert overlap < 0.6, (name, a, b)


def test_answers_fit_a_chat_bubble(kb):
    for name, answer in all_answers(kb):
        assert 40 < len(answer.body) <= MAX_BODY_CHARS, (name, len(answer.body))


@pytest.mark.parametrize("intent", ["ask_side_effects", "ask_is_it_safe", "ask_practitioner_qualifications"])
def test_topics_covered_by_both_documents_combine_them(kb, intent):
    documents = {s["document"] for s in kb.answer(intent).sources}
    assert documents == {"The Safety of Dry Needling", "Dry Needling Safety Sheet"}


def test_one_side_effect_gets_that_side_effect_not_the_list(kb):
    answer = kb.answer("ask_side_effects", [("side_effect", "bruising")])
    assert "bruising" in answer.body.lower()
    assert "Emotional Release" not in answer.body
    assert "Muscle Twitching" not in answer.body
    assert answer.topic == "ask_side_effects"
    assert len(answer.body) < len(kb.answer("ask_side_effects").body) / 2


def test_full_side_effect_list_names_every_side_effect(kb):
    body = kb.answer("ask_side_effects").body
    for label in ["Muscle Soreness", "Bruising", "Bleeding", "Fatigue or Lightheadedness", "Muscle Twitching", "Emotional Release"]:
        assert f"• {label}:" in body
    assert "fainting" in body  # from the safety sheet


def test_group_answer_for_pregnancy_and_older_adults(kb):
    pregnancy = kb.answer("ask_is_it_safe", [("group", "pregnant")])
    assert "first trimester" in pregnancy.body
    assert pregnancy.topic == "ask_who_should_avoid"
    older = kb.answer("ask_is_it_safe", [("group", "older_adults")])
    assert older.topic == "ask_older_adults"
    assert "Osteoporosis" in older.body


def test_serious_risks_cover_the_four_complications(kb):
    body = kb.answer("ask_serious_risks").body.lower()
    for word in ["pneumothorax", "nerve injury", "infection", "puncture"]:
        assert word in body


def test_unknown_intent_has_no_answer(kb):
    assert kb.answer("book_appointment") is None


def test_answer_reply_offers_related_topics_booking_and_clinician(kb):
    reply = answer_reply(kb.answer("ask_side_effects"), kb)
    titles = [b["title"] for b in reply.buttons]
    assert titles[-2:] == ["Book an appointment", "Talk to a clinician"]
    assert 2 <= len(titles) - 2 <= 3
    assert all(b["payload"].startswith("/") for b in reply.buttons)
    answer = kb.answer("ask_side_effects")
    assert reply.custom == {"topic": "ask_side_effects", "passages": [s.passage.id for s in answer.segments], "sources": answer.sources}


def test_invalid_topic_map_is_reported(kb):
    answer = ["blog/nope/p1", {"passage": "sheet/considerations/p3", "sentences": [9]}]
    bad = {"topics": {"ask_x": {"title": "X", "answer": answer, "related": ["ask_y"]}}}
    with pytest.raises(ValueError) as err:
        KnowledgeBase(kb.documents, bad)
    message = str(err.value)
    assert "unknown passage 'blog/nope/p1'" in message
    assert "has no sentence 9" in message
    assert "related intent 'ask_y'" in message


def test_side_effect_answers_say_when_to_seek_emergency_care(kb):
    reply = answer_reply(kb.answer("ask_side_effects", [("side_effect", "soreness")]), kb)
    assert "• Muscle Soreness:" in reply.text
    assert reply.text.endswith("call 911 or go to emergency care now.")
    assert "emergency" not in answer_reply(kb.answer("ask_vs_acupuncture"), kb).text
