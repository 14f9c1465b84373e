"""Parsing the clinic's Markdown documents into citable passages."""

import re

import pytest

from bot import DATA_DIR
from bot.content.documents import load_documents, parse_document, split_sentences

DOC = """---
id: demo
title: Demo Leaflet
---

Opening paragraph. It has two sentences.

## Who Should Avoid It?

Some people should wait:

- **People with Needle Phobia:** Needles may be distressing. Talk to us first.
- Pregnant Individuals: Especially early on.

Closing line.
"""


def test_sections_bullets_and_paragraphs_get_stable_ids():
    doc = parse_document(DOC)
    ids = [p.id for p in doc.passages]
    assert ids == [
        "demo/intro/p1",
        "demo/who-should-avoid-it/p1",
        "demo/who-should-avoid-it/people-with-needle-phobia",
        "demo/who-should-avoid-it/pregnant-individuals",
        "demo/who-should-avoid-it/p2",
    ]
    phobia = doc.passages[2]
    assert phobia.label == "People with Needle Phobia"
    assert phobia.sentences == ("Needles may be distressing.", "Talk to us first.")
    assert phobia.citation == {"document": "Demo Leaflet", "section": "Who Should Avoid It?"}
    assert doc.passages[0].citation["section"] == "Introduction"


def test_editing_one_bullet_does_not_change_other_ids():
    edited = DOC.replace("Needles may be distressing.", "Needles can be very distressing for some.")
    before = [p.id for p in parse_document(DOC).passages]
    assert [p.id for p in parse_document(edited).passages] == before


def test_duplicate_bullet_labels_are_rejected():
    with pytest.raises(ValueError, match="duplicate passage id"):
        parse_document("## S\n\n- **A:** one.\n- **A:** two.\n")


def test_sentence_splitting_keeps_text_intact():
    text = "It’s common to feel soreness. Tiny drops of blood can appear! Is it safe? Yes."
    assert split_sentences(text) == ("It’s common to feel soreness.", "Tiny drops of blood can appear!", "Is it safe?", "Yes.")


def test_clinic_documents_keep_headings_and_bullets():
    docs = {d.id: d for d in load_documents(DATA_DIR / "documents")}
    assert set(docs) == {"blog", "sheet"}
    blog_sections = {p.section_title for p in docs["blog"].passages}
    assert "Possible Side Effects of Dry Needling" in blog_sections
    assert "Who Should Avoid Dry Needling?" in blog_sections
    side_effect_labels = [p.label for p in docs["blog"].passages if p.section_title.startswith("Possible Side")]
    assert side_effect_labels == [
        None,
        "Muscle Soreness",
        "Bruising",
        "Bleeding",
        "Fatigue or Lightheadedness",
        "Muscle Twitching",
        "Emotional Release",
        None,
    ]
    assert [p.label for p in docs["sheet"].passages if p.label] == [
        "Soreness and Bruising",
        "Risk of Infection",
        "Bleeding and Nerve Injury",
        "Pneumothorax",
        "Adverse Reactions",
    ]


def test_markdown_keeps_every_line_of_the_seed_documents():
    """The Markdown conversion must not lose or alter the clinic's text."""
    seeds = DATA_DIR.parent.parent / "shared" / "seeds"
    if not seeds.exists():
        pytest.skip("the clinic's seed documents are not beside this checkout")

    def lines(text: str) -> set[str]:
        out = set()
        for line in text.splitlines():
            line = re.sub(r"^(#+ |- )", "", line.strip()).replace("**", "")
            if line:
                out.add(line)
        return out

    markdown = set()
    for path in (DATA_DIR / "documents").glob("*.md"):
        markdown |= lines(path.read_text(encoding="utf-8").split("---", 2)[2])
    for seed in seeds.glob("*.txt"):
        missing = lines(seed.read_text(encoding="utf-8")) - markdown
        assert not missing, (seed.name, missing)
