"""Document search answers in-domain questions no intent covers, and nothing else."""

import pytest

# question -> words the answering passage must contain
ANSWERABLE = {
    "do practitioners wear gloves?": "wear gloves",
    "do the physios wash their hands": "wash hands",
    "what happens to used needles, sharps container?": "sharps containers",
    "can you get parental consent for a teenager": "parental consent",
    "could a needle puncture my lung": "collapsed lung",
    "is it based on chinese medicine": "Chinese medicine",
}

NOT_ANSWERED = [
    "how much does it cost",
    "does my insurance cover dry needling",
    "how many sessions will i need",
    "does it actually work",
    "is electrical stimulation used with the needles",
    "can i exercise or go to the gym after",
    "should i put ice or heat on it afterwards",
    "what's the weather like",
    "how deep do the needles go",
    "",
    "🙂🙂",
]


@pytest.mark.parametrize("question,words", ANSWERABLE.items())
def test_strong_match_finds_the_passage(search, question, words):
    hit = search.best(question)
    assert hit is not None, question
    assert words in hit.passage.text


@pytest.mark.parametrize("question", NOT_ANSWERED)
def test_questions_the_documents_do_not_answer_get_no_passage(search, question):
    assert search.best(question) is None


def test_promotional_text_is_never_an_answer(search):
    for hit in search.search("evidence based care tailored to your needs roar physio", k=10):
        assert not hit.passage.id.startswith("blog/safe-and-effective-treatment-starts-here/p2")
        assert hit.passage.id != "blog/intro/p1"
