"""Red flags after treatment get urgent-care guidance; expected mild after-effects do not."""

import pytest

from bot.safety.detector import get_detector

RED_FLAGS = [
    "i can't breathe properly since my session yesterday",
    "I'm short of breath after having my upper back needled",
    "having trouble breathing after dry needling this morning",
    "it hurts to breathe in since the needles went in near my shoulder blade",
    "sharp chest pain on the left side after treatment",
    "my chest feels tight and I'm breathless",
    "I can't take a deep breath, is my lung collapsed?",
    "pain in my chest when I breathe since my appointment",
    "struggling to breathe after my session",
    "cant catch my breath",
    "I fainted in the car park after treatment",
    "i passed out at home an hour after needling",
    "still dizzy 6 hours after the session and it's getting worse",
    "the room keeps spinning since my treatment",
    "I blacked out briefly after getting up from the table",
    "dizziness won't go away since yesterday's needling",
    "the needle spot is hot and swollen and i have a fever",
    "there is pus coming out of where the needle went in",
    "the redness is spreading up my leg from the needle site",
    "i have chills and a high temperature since my session",
    "there's a red streak going up my arm from the spot",
    "the site is infected i think, it's oozing",
    "my arm went numb after my session yesterday",
    "i cant feel my fingers since the needling",
    "new numbness in my foot after dry needling my calf",
    "my leg is weak and i can't lift my foot properly since treatment",
    "weakness in my arm since the needles in my neck",
    "i can't move my fingers properly after the session",
    "pins and needles that won't stop in my hand",
    "my mom just had dry needling and now she's struggling to breathe",
    "my husband fainted after his needling session",
    "I feel faint and I'm about to pass out",
]

MILD = [
    "a bit sore today after my session",
    "my back is achy where the needles were, is that normal",
    "i have a small bruise on my shoulder from the needling",
    "there was a tiny drop of blood after one needle",
    "feeling really tired after treatment",
    "i was dizzy after but it passed",
    "felt lightheaded for a minute when I stood up, fine now",
    "my muscle keeps twitching a little since the session",
    "i cried after my session, felt very emotional",
    "the area feels tender to touch",
    "sore like after a hard workout",
    "how long does the soreness last",
    "no chest pain but my shoulder is sore",
    "i don't have a fever, just a bit of bruising",
    "can dry needling cause chest pain?",
    "what are the signs of infection i should watch for",
    "is it normal to feel a bit wiped out the day after",
    "small bruise on my calf, should i worry",
    "stiff neck the day after needling",
    "my legs feel heavy after the session but otherwise fine",
    "I'm aching a bit but breathing fine",
    "is numbness a possible side effect?",
    "what if i faint during the session",
    "could you get a collapsed lung from it",
    "slight bleeding where the needle went in, stopped now",
    "felt a bit emotional afterwards, is that common",
    "twitchy muscles during the treatment, weird feeling",
    "feel kind of drained today",
    "a bit sore and bruised but ok",
    "my friend fainted once at a blood test, is that common with needling",
    "no numbness or weakness, just sore",
]


@pytest.fixture(scope="module")
def detector():
    return get_detector()


def test_table_sizes():
    assert len(RED_FLAGS) >= 30 and len(MILD) >= 30


@pytest.mark.parametrize("text", RED_FLAGS)
def test_red_flag_is_urgent(detector, text):
    assert detector.red_flags(text), text


@pytest.mark.parametrize("text", MILD)
def test_mild_after_effect_is_not_urgent(detector, text):
    assert detector.red_flags(text) == [], text


def test_red_flags_and_conditions_are_reported_separately(detector):
    analysis = detector.analyse("I'm pregnant and since the session I can't breathe")
    assert analysis.conditions == ["pregnancy"]
    assert analysis.red_flags == ["breathing_or_chest"]
