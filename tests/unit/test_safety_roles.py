"""The safety rules added for issue #10's weak areas, each checked in every role a visitor uses.

Roles: the visitor (self), a person they book for, someone else, negated, hypothetical, resolved.
The sentences are written for these tests, not taken from a development or evaluation set.
"""

from __future__ import annotations

import pytest

from bot.safety.detector import Analysis, Mention, get_detector
from bot.safety.learned import Prediction
from bot.safety.screen import decide, get_screen

# (message, conditions that must lead to a handoff)
DISCLOSURES = [
    # Needle phobia: fear or a reaction a few words from a needle word, on lemmas ("passes", "jabs").
    ("honestly i keel over whenever they take my bloods", {"needle_phobia"}),  # self
    ("booking for my wife, she passes out at the sight of a syringe", {"needle_phobia"}),  # booked for
    ("my flatmate freaks out around injections, I'm the one booked in", set()),  # someone else
    ("needles don't scare me at all", set()),  # negated
    ("what if someone is terrified of jabs?", set()),  # hypothetical
    ("I used to dread injections but therapy sorted it years ago", set()),  # resolved
    # A reaction to the treatment's own needle is an after-effect, not a phobia.
    ("I went a bit teary when the needle went in, fine now", set()),
    ("felt queasy after the needles, all good now", set()),
    # Pregnancy in lay words; "no 3" is a number, not a negation.
    ("preg with no 2 and my hips ache", {"pregnancy"}),  # self
    ("booking for my partner, she's expecting and about 14 weeks along", {"pregnancy"}),  # booked for
    ("my sister is expecting twins, I'm booking for my own back", set()),  # someone else
    ("definitely not pregnant, just bloated", set()),  # negated
    # A skin problem at the site with a named cause is a disclosure, not an infection red flag.
    ("got an infected ingrown hair on my thigh where you're going to needle", {"skin_infection"}),  # self
    ("my son has a cat scratch that looks infected on the arm he wants done, can you treat him", {"skin_infection"}),  # booked for
    ("my daughter's tattoo is 3 days old but I'm the patient", set()),  # someone else
    ("no cuts, no rashes, no broken skin", set()),  # negated
    ("had a graze on that knee as a kid, long gone", set()),  # resolved
    # Neurological: a symptom the condition explains, or one that has lasted years, is that condition.
    ("my toes have been numb for years from diabetic neuropathy", {"neurological"}),  # self
    ("numb down the outside of my leg since a back operation in 2019, never came back", {"neurological"}),  # self, long-standing
    ("writing for my father, he has MS and tight calves", {"neurological"}),  # booked for
    ("my uncle has Parkinson's, the appointment is for me", set()),  # someone else
    ("I don't have any nerve problems", set()),  # negated
    ("had Bell's palsy years ago, fully recovered now", set()),  # resolved
    # A child by age, when the parent asks about their own child; not a baby who comes along.
    ("is needling ok for a 9 year old? my daughter has sore heels", {"child_patient"}),  # booked for
    ("my little boy is 4, can he wait in the waiting room while I'm treated?", set()),  # someone else
    ("I'll bring my 5 month old, she'll nap in the buggy", set()),  # a baby, not a patient
    # Answers and lists.
    ("Blood thinners? No. Pregnant? No.", set()),  # negated, question and answer
    ("Anticoagulants, no. Steroids, no.", set()),  # negated, answer after the item
    # Work and pets are not the visitor; idioms are not conditions.
    ("I work in a dementia unit and my back is shot", set()),
    ("my dog is pregnant again, my shoulder is the problem", set()),
    ("that was a rash decision, booking three sessions", set()),
    # A medicine started months ago is still taken.
    ("started methotrexate a few months ago for my joints", {"immunocompromised"}),
    # Booking for a body part is booking for oneself.
    ("my grandma had a stroke last year, I'm booking for my shoulder", set()),
    # Booking for one person, a condition of another: the family word nearest the condition says whose it is.
    ("booking for my dad, it's my aunt who has lymphoedema, dad just has a stiff neck", set()),  # someone else
    ("booking for my mum, my mum is on apixaban", {"blood_thinners"}),  # the same person: booked for
    ("booking for my mother, mum is on apixaban", {"blood_thinners"}),  # two words for one person
    ("booking for my nan, she's on clopidogrel", {"blood_thinners"}),  # a pronoun never decides against a booking
    # A question about what a family member can do asks for them.
    ("my husband has a pacemaker. could he have dry needling on his shoulder?", {"implanted_device"}),  # booked for
    ("my husband has a pacemaker. could I have dry needling while he waits?", set()),  # someone else
    # Pregnancy by months carried; long-term steroids in plain words.
    ("my partner is carrying 5 months, can she get needled for her sciatica", {"pregnancy"}),  # booked for
    ("been on steroids for my asthma for two years now", {"immunocompromised"}),  # self
    ("had a steroid injection in my knee once", set()),  # a single injection is not immunosuppression
    # A child by an age set off after them, a school year, or "turned N".
    ("for my nephew please, 6 years old, sore heel", {"child_patient"}),  # booked for
    ("booking my grandson in, he turned 9 in may", {"child_patient"}),  # booked for
    ("my youngest is in primary 2 and keeps complaining about her knee", {"child_patient"}),  # booked for (asks for her)
    ("my car is 8 years old and so is my back pain", set()),  # not a person
    # A resolution after "but" about the same thing; a new subject after "but" is about something else.
    ("my psoriasis flared last winter but it's completely cleared now", set()),  # resolved
    ("had seizures in my twenties but grew out of them, off meds for 15 years", set()),  # resolved
    ("I'm on warfarin but the bruise from my fall has healed", {"blood_thinners"}),  # self
    # Booking for a named person, the visitor's own condition is not the patient's; "booking for Monday" names no one.
    ("booking my daughter for her neck, I'm the one on apixaban, not her", set()),  # someone else (the visitor)
    ("booking for Monday, I'm on apixaban", {"blood_thinners"}),  # self
    # Work: "a/an" + an occupation; the visitor's own state after "and" is theirs.
    ("I'm a hospice nurse, give chemo and morphine every day, my back is wrecked", set()),  # someone else
    ("I'm a nurse and 22 weeks pregnant", {"pregnancy"}),  # self
    # A skin problem away from the area to be needled; a normal test.
    ("my eczema is only on my elbows, nowhere near my back where you'd needle", set()),  # negated (elsewhere)
    ("my platelets came back normal last month", set()),  # negated
    # A child the visitor only mentions beside their own body part; a child writing for themselves.
    ("my kids are 4 and 6 and my neck is in knots from carrying them", set()),  # someone else
    ("im 10 and my knee hurts, can i have the needles", {"child_patient"}),  # self
    # "expecting" a person, not guests or results; hearing aids are not AIDS.
    ("we're expecting guests so I need my neck sorted", set()),  # harmless word
    ("expecting my second in june and my pelvis aches", {"pregnancy"}),  # self
    ("got new hearing aids last week, neck is stiff", set()),  # harmless word
    # Pregnancy by a scan or by weeks + days; planning one is not being pregnant.
    ("we had our 12 week scan on friday, all perfect! is needling my back still ok?", {"pregnancy"}),  # self
    ("the midwife put me at 14+2 yesterday and my hips ache", {"pregnancy"}),  # self
    ("we're planning to start trying for a baby soon, could I keep having needling once I'm pregnant?", set()),  # hypothetical
    # No spleen is a weakened defence against infection.
    ("I don't have a spleen since a car crash, so I take antibiotics every day", {"immunocompromised"}),  # self
    # On a waiting list is not yet; healed is over.
    ("I'm on the waiting list for a knee replacement next year", set()),  # hypothetical
    ("had stitches on my back in the summer, completely healed now", set()),  # resolved
    # A person with dementia speaking for themselves is the patient; a carer's resident asked for is the patient too.
    ("I was diagnosed with Alzheimer's last year, my daughter helps me type. can I have needling for my hip?", {"cannot_communicate"}),
    ("I work in a care home and one of our residents with dementia wants needling, can you help her?", {"cannot_communicate"}),
    ("I work in a care home with dementia residents and my back has given up, can I book for needling?", set()),  # someone else
    # Operations in lay words or by their ending, recent; implants and metalwork in plain words.
    ("had my gallbladder out last week and my shoulders ache", {"recent_surgery"}),  # self
    ("I'm recovering from a thyroidectomy and my neck is stiff", {"recent_surgery"}),  # self
    ("had my tonsils out as a kid", set()),  # resolved
    ("my elbow has a plate and 8 screws after a bad break", {"implanted_device"}),  # self
    ("i do metal work and my forearms are shot", set()),  # harmless word
    # Steroids taken now, not a single injection; a negation right before the medicine.
    ("not on steroids or anything like that", set()),  # negated
    # Booking in for a person, with a word between ("my teenage son"); bringing someone along is not booking for them.
    ("booking in my teenage son (16), he has von willebrand disease", {"bleeding_disorder"}),  # booked for
    ("I'll bring my pregnant sister along, she's my lift and won't be treated", set()),  # someone else
    # Clinicians reporting about the visitor are not another patient.
    ("they've found a sarcoma in my thigh, can you needle my hamstring?", {"cancer"}),  # self
    # A GP practice is a "surgery"; an operation still to come is not a recent one.
    ("I'm going to my doctor's surgery tomorrow for bloods, can I come in after?", set()),  # harmless word
    ("I'm having knee surgery in 3 months, can I have needling before then?", set()),  # hypothetical
    # Tests that came back negative; becoming pregnant later.
    ("had a cancer scare but everything came back negative", set()),  # negated
    ("my patch test was negative for nickel", set()),  # negated
    ("If I get pregnant later this year would I have to stop?", set()),  # hypothetical
    # The visitor's own condition while booking for someone else; a clinician for one's own condition.
    ("booking for my daughter, she's fine with metal, it's me who has the nickel allergy", set()),  # someone else
    ("swollen arm since my node clearance, my lymphoedema therapist said to check first", {"lymphedema"}),  # self
    ("I'm a lymphoedema therapist and my hands are sore from massage", set()),  # someone else (work)
    # Damaged skin matters where the needles go: another region of the body is not a disclosure, the same one is.
    ("got eczema on my feet but the appointment is for my neck", set()),  # elsewhere
    ("eczema on my shin is raw at the moment, booked for calf needling", {"skin_infection"}),  # same leg
    ("my mum has an ulcer on her ankle and is booked for her knee", {"skin_infection"}),  # booked for, same leg
    ("infected graze on my elbow, I'm booked for my forearm", {"skin_infection"}),  # same arm
    # The visitor as a subject between a person word and the condition speaks for the visitor.
    ("booking for my dad, I'm the diabetic one not him", set()),  # visitor's own, booked for someone else
    ("my dad, who I look after, has parkinson's and wants needling for his neck", {"neurological"}),  # booked for
    # A past told as over, however far the resolution stands from it.
    ("had shingles on my back last spring, it went away within a few weeks and the skin is back to normal", set()),  # resolved
    ("I was 30 weeks pregnant when I last came in, she's 2 now and my back is back to normal", set()),  # resolved
    ("I was diagnosed with epilepsy in 2012, seizures stopped with meds", {"epilepsy"}),  # diagnosed: still there
    # Numbers that count something else: how often, how long ago.
    ("I give blood every 16 weeks, no issues", set()),
    ("had my daughter 3 years ago and my pelvis still aches", set()),
    # Person words without their apostrophe; drugs handled for other people at work.
    ("my sisters on clexane after her op, I'm booking for my own shoulder", set()),  # someone else
    ("I dispense apixaban and warfarin for other people all day, my feet are killing me", set()),  # work
    ("the invoice is due in march, can I pay by card?", set()),  # harmless: a bill falls due
    ("my pelvis has ached since my last pregnancy, she's 4 now", set()),  # a pregnancy that ended
    ("pregnant again and my pelvis aches like in my last pregnancy", {"pregnancy"}),  # a current one beside it
    # Fainting at needles every time is a fear of needles (a handoff), not an emergency now.
    ("whenever they take bloods I go grey and end up on the floor", {"needle_phobia"}),  # self
    ("every time I give blood it's fine, no fainting at all", set()),  # negated
    # "but" ends a negation before it, however far the negation would reach.
    ("not taking any tablets or anything like that but I am pregnant, about 14 weeks", {"pregnancy"}),  # self
    # Booking for someone in the words people use: "appt", a heading naming them, what they can "see" or "cope" with.
    ("made an appt for my mum, she has MS", {"neurological"}),  # booked for
    ("re my dad - he's on xarelto", {"blood_thinners"}),  # booked for
    ("my husband is on xarelto, the appt is for me though", set()),  # someone else
    # A child by a nickname or "the boy", and an age that ends the message; a baby by months is not a child patient.
    ("kiddo is 7 and his heels hurt after footy", {"child_patient"}),  # booked for
    ("the boy is 6, can he have it for his knee?", {"child_patient"}),  # booked for
    ("booking for my daughter, she's 6", {"child_patient"}),  # the age ends the message
    ("booking for my wife, she's 6 months pregnant", {"pregnancy"}),  # months, not an age
    # Pregnancy by "expecting" followed by what comes next, not by what is expected.
    ("we're expecting again and my back is killing me", {"pregnancy"}),  # self
    ("I'm expecting a parcel so can we do mornings?", set()),  # harmless word
    # Needle fear in stories; needles in general are not the session's needle.
    ("I black out when needles go in, every single time", {"needle_phobia"}),  # self
    ("I had to be sedated for my last blood test, that's how bad it is", {"needle_phobia"}),  # self
    ("my nerves are shot before exams, neck is tight", set()),  # harmless: "shot"
    # Clinicians who put the visitor on a medicine, and comparisons, are not another person or a general question.
    ("after my hip op they've got me on clexane injections for 4 weeks", {"blood_thinners"}),  # self
    ("I have von willebrand so I bruise more than most people", {"bleeding_disorder"}),  # self
    ("my kidney cancer has spread to my bones, my back aches", {"cancer"}),  # not an infection red flag
    # The nearer cue wins when a past and a present one stand on either side of "and".
    ("my pregnancy was 3 years ago and I still get pelvic pain", set()),  # historical
    ("had chemo in 2016 and still on tamoxifen", {"cancer"}),  # the medicine is now
    ("say I start humira next year, would that matter?", set()),  # hypothetical
    ("the form asks about fits - never had one", set()),  # negated
    ("I work as a podiatrist with lots of diabetic patients", set()),  # work
    ("my dog has seizures, the vet says it's epilepsy, anyway my neck is sore", set()),  # a pet
    # A cue listed both before and after a mention reaches both ways.
    ("I stopped taking warfarin back in 2019", set()),  # resolved
    # "the backs of my knees" is the knees; a medicine taken weekly goes on.
    ("my eczema is weepy on the backs of my knees and the physio wants to needle my hamstrings", {"skin_infection"}),  # same leg
    ("alendronate weekly for my thin bones, I broke my wrist last year", {"older_adult_precautions"}),  # self
]

# (message, red-flag groups that must be urgent now; empty = not urgent)
RED_FLAGS = [
    # A growing swelling or bruise after needling is bleeding under the skin.
    ("the swelling where I was needled keeps getting bigger and feels tense", {"bleeding"}),  # self
    ("my husband's calf has ballooned since his session, huge and purple", {"bleeding"}),  # someone else, now
    ("a small bruise, not growing, barely noticeable", set()),  # mild
    ("what if the bruise got bigger?", set()),  # hypothetical
    # Dizziness that lasts, breathing that hurts, blue lips, in everyday words.
    ("still dizzy hours after my session and my vision is blurry", {"fainting_or_dizziness"}),
    ("it hurts to breathe in since the needling on my back", {"breathing_or_chest"}),
    ("my lips have gone bluish and I feel short of puff", {"breathing_or_chest"}),
    ("pins and needles in my hand for a whole day since the treatment", {"numbness_or_weakness"}),
    # Inability is not negation; a habitual cue does not make a present symptom past.
    ("I can't grip anything, my hand is weak since you needled my forearm", {"numbness_or_weakness"}),
    ("it starts bleeding again every time I take the plaster off", {"bleeding"}),
    # A negated ending is a symptom that goes on; a question about one's own session today is about now.
    ("the dizziness hasn't eased at all since my needling this morning", {"fainting_or_dizziness"}),
    ("is it normal for it to hurt to breathe?? my upper back was needled this afternoon", {"breathing_or_chest"}),
    ("is it normal for needling to make it hurt to breathe?", set()),  # a general question
    # Idioms and exertion are not red flags.
    ("my hay fever is awful this week", set()),
    # Someone else's past symptom, when the visitor says they are the patient, is not an emergency now.
    ("my brother fainted at his dentist once, I'm the patient though", set()),
    # Bleeding that drips or pours; breathing in Patois; a numbness that has not worn off; woozy since the session.
    ("blood is dripping from one of the needle holes and I've pressed on it for 20 minutes", {"bleeding"}),
    ("mi cyaan ketch mi breath since di needling inna mi back", {"breathing_or_chest"}),
    ("the numbness hasn't worn off, it's been a full day since the needling", {"numbness_or_weakness"}),
    ("felt woozy and unsteady since the session, it's been 5 hours", {"fainting_or_dizziness"}),
    ("I faint every time I stand up since the needling this morning", {"fainting_or_dizziness"}),  # tied to a session
    # "can't ... without" happens; "isn't X, it's Y" is Y; a red flag about someone else in the words said of oneself.
    ("I can't lie down without getting short of breath since the needling", {"breathing_or_chest"}),
    ("this isn't normal soreness, it's a huge swelling that keeps getting bigger since my session", {"infection_signs"}),
    ("my dad had his back needled and now he can't catch his breath", {"breathing_or_chest"}),
    ("the bleeding stopped after a minute, all fine", set()),  # resolved
]


@pytest.fixture(scope="module")
def detector():
    return get_detector()


@pytest.mark.parametrize(("text", "expected"), DISCLOSURES, ids=[c[0][:45] for c in DISCLOSURES])
def test_disclosure_rules_in_every_role(detector, text, expected):
    assert set(detector.patient_conditions(text)) == expected


@pytest.mark.parametrize(("text", "expected"), RED_FLAGS, ids=[c[0][:45] for c in RED_FLAGS])
def test_red_flag_rules_in_every_role(detector, text, expected):
    assert set(detector.red_flags(text)) == expected


def test_a_named_cause_makes_an_infection_a_skin_problem_but_not_after_a_session(detector):
    before = detector.analyse("there's an infected cut on my forearm, you were going to needle that arm")
    assert before.red_flags == [] and before.conditions == ["skin_infection"]
    after = detector.analyse("the needle site on my forearm looks infected and is spreading since yesterday's needling")
    assert after.red_flags == ["infection_signs"]


def test_misspellings_keep_their_first_sound(detector):
    assert detector.speller.correct("tiptoes") is None
    assert detector.speller.correct("shovelling") is None  # an inflection of a common word
    assert detector.speller.correct("zarelto") == "xarelto"


NOTHING = Analysis([], [], [])


@pytest.mark.parametrize(
    ("analysis", "learned", "kind"),
    [
        # The lexicon read the symptom as hypothetical: a sure learned reading becomes the quick question, an unsure one nothing.
        (
            Analysis([Mention("bleeding", "keeps bleeding", 0, 5, "hypothetical")], [], [], ruled_out=["bleeding"]),
            Prediction(0.95, "bleeding"),
            "check",
        ),
        (
            Analysis([Mention("bleeding", "keeps bleeding", 0, 5, "hypothetical")], [], [], ruled_out=["bleeding"]),
            Prediction(0.6, "bleeding"),
            None,
        ),
        # The message says it is over ("it stopped straight away"): one step down.
        (Analysis([], [], [], resolved=True), Prediction(0.95, "bleeding"), "check"),
        (Analysis([], [], [], resolved=True), Prediction(0.6, "bleeding"), None),
        # A disclosed condition explains the symptom: its handoff, not an emergency.
        (Analysis([], ["neurological"], [], explained=["numbness_or_weakness"]), Prediction(0.97, "numbness_or_weakness"), "disclose"),
        # Months of it, nothing tying it to a session: the condition it is (chronic_as), for a clinician.
        (Analysis([], [], [], long_standing=True), Prediction(0.97, "numbness_or_weakness"), "disclose"),
        # Nothing of the above: the learned detector alone is enough.
        (NOTHING, Prediction(0.97, "numbness_or_weakness"), "urgent"),
        # Severity: an unsure reading of a symptom tied to a session that lasts or gets worse is one step up, unless
        # something lowers it (the message also says it is over).
        (NOTHING, Prediction(0.6, "infection_signs"), "check"),
        (Analysis([], [], [], worsening=True), Prediction(0.6, "infection_signs"), "urgent"),
        (Analysis([], [], [], worsening=True, resolved=True), Prediction(0.6, "infection_signs"), None),
        (Analysis([], [], [], worsening=True), Prediction(0.2, "infection_signs"), None),
    ],
)
def test_the_lexicon_roles_temper_the_learned_reading(analysis, learned, kind):
    decision = decide(analysis, learned, urgent_at=0.9, check_at=0.4)
    assert decision.kind == kind
    if analysis.long_standing:
        assert decision.analysis.conditions == ["neurological"]


def test_the_screen_gives_a_long_standing_symptom_a_handoff_not_urgent_care():
    decision = get_screen().screen("tingling down my left arm on and off for years, a neurologist follows it")
    assert decision.kind == "disclose"


@pytest.mark.parametrize(
    ("text", "worsening"),
    [
        ("the red patch where you needled my calf keeps growing", True),
        ("still woozy since the session, it hasn't eased", True),
        ("small lump at the needle site, it's not red or hot or growing", False),  # negated
        ("my calf keeps growing from all the hill runs", False),  # nothing ties it to a session
    ],
)
def test_lasting_or_worsening_counts_only_when_tied_to_a_session(detector, text, worsening):
    assert detector.analyse(text).worsening is worsening


def test_medspacy_terminators_are_not_read_as_negations():
    """ "still" and "but" are medspaCy terminators listed as modifiers with a negation category; a learned reading
    of a sentence that holds one is still the patient's."""
    decision = get_screen().screen("my new tattoo on my calf is 4 days old and still weepy, calf needling on friday ok?")
    assert decision.kind == "disclose"
    assert "skin_infection" in decision.analysis.conditions


@pytest.mark.parametrize("another", [True, False])
def test_sentences_are_read_only_when_the_message_may_hold_another_condition(detector, another):
    """Each sentence read costs a forward pass of the encoder: when the lexicon has found a condition and the message
    as a whole reads as about no other one, the sentences are not read."""
    read: list[list[tuple[int, int]]] = []

    def reader(text: str, spans: list[tuple[int, int]]) -> list[str | None]:
        read.append(spans)
        return [None for _ in spans]

    analysis = detector.analyse("I'm on warfarin. Does needling hurt a lot?", topics=reader, another=lambda seen: another)
    assert analysis.conditions == ["blood_thinners"]
    assert bool(read) is another


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Panic at needles, with a fear word and no session: the phobia, for a clinician.
        ("so scared of needles, my heart pounds and i can't breathe whenever i see one", "disclose"),
        # "Every time I breathe in" after needles near the chest is no habit: a red flag.
        ("sharp pain in my chest every time i breathe in, had needles near my shoulder blade 3 hrs ago", "urgent"),
        # Fainting at the sight of blood is a fear of needles and blood; told as over, it is nothing now.
        ("i faint at the sight of blood, always have", "disclose"),
        ("i used to faint at the sight of needles but i've been totally fine with them for years", None),
    ],
)
def test_habitual_reactions_at_needles_are_the_phobia_unless_tied_to_a_session_or_over(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        ("intake form: no bleeding disorder, no blood thinners, not pregnant", []),  # a form's "no" reaches forward...
        ("blood thinners: no. pregnant: no", []),  # ...and back
        ("did a 7 day course of prednisolone in spring, finished", []),  # "finished" after the medicine
        ("was on warfarin for ages, then they switched me to apixaban last month", ["blood_thinners"]),
        ("hep c test results back negative, can i book?", []),
        ("the form asks about pacemakers and metal implants, i have none", []),
        ("can you needle a grade 3 kid? my son has sore heels from footy", ["child_patient"]),
        ("is it ok for a 2nd grader? my daughter hurt her neck at gymnastics", ["child_patient"]),
    ],
)
def test_forms_courses_switches_tests_and_school_years(detector, text, conditions):
    assert detector.analyse(text).conditions == conditions


def test_a_session_named_by_its_day_ties_an_infection_to_the_needling():
    decision = get_screen().screen("since tuesday's session the spot on my hip is hot and red and there's pus coming out")
    assert decision.kind == "urgent"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Someone else's symptom told as past is a story; someone else's symptom now is still an emergency.
        ("my neighbour told me she got short of breath after needling years ago, is that a thing?", None),
        ("my wife couldn't breathe properly after her needling yesterday and it's still bad", "urgent"),
        # The person booked for, by a pronoun: "the appointment is for him".
        ("my husband's on xarelto, the appointment is for him, is that ok?", "disclose"),
        # Pregnancy in app notation and by the early scan.
        ("im 7w2d, can i still get my neck needled", "disclose"),
        ("just had my 9 week scan, all good! is needling ok for my back?", "disclose"),
        # Vocabulary: anti-rejection medicine; told as sorted, a phobia is over.
        ("kidney transplant years ago, on anti rejection meds every day", "disclose"),
        ("had counselling for my fear of needles last year, it's sorted now", None),
    ],
)
def test_stories_pronouns_pregnancy_notation_and_vocabulary(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    "text",
    ["on a doac for my AF, is needling ok?", "i take cartia every morning", "i'm a haemophilia carrier, booked for my hip"],
)
def test_blood_thinner_classes_brands_and_clotting_in_lay_words_are_disclosures(text):
    assert get_screen().screen(text).kind == "disclose"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # How long a symptom has lasted is not a stage of pregnancy.
        ("trapped nerve in my back, my foot has been tingly for about 5 weeks. ok to needle?", "disclose"),
        ("pregnant and my back has ached for 6 weeks.", "disclose"),
        ("is it ok for my 4 year old? her calves are tight", "disclose"),
        # A resolution that never came keeps a condition current; one that came ends it.
        ("the cancer is long gone but the neuropathy from chemo never went away, numb toes", "disclose"),
        ("had a pinched nerve years ago, the physio sorted it out", None),
    ],
)
def test_durations_and_resolutions_that_never_came(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    "text",
    [
        "temp is 38.9 and the needle spot on my back is red",
        "my mum's face is drooping on one side and her words are coming out funny since her session",
    ],
)
def test_a_fever_by_the_thermometer_and_stroke_signs_in_lay_words_are_red_flags(text):
    assert get_screen().screen(text).kind == "urgent"


def test_a_normal_temperature_is_no_fever():
    assert get_screen().screen("temp is 36.8, all normal, just a sore shoulder").kind is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # People in the plural after a condition word are those people, even in a sentence about the visitor.
        ("i'm a nurse on a ward full of diabetic patients and my shoulders are wrecked", None),
        ("i teach yoga to pregnant ladies three times a week, can you do my hamstrings", None),
        ("i'm pregnant and my back aches, is needling ok?", "disclose"),  # the visitor herself
        # A job that holds the condition word, or hands out the medicine.
        ("i'm an epilepsy support worker and my wrists are sore from lifting", None),
        ("i work the counter at a chemist handing out warfarin all day, my calves ache", None),
        ("i'm a pharmacist and i'm on warfarin myself", "disclose"),  # "and I'm": the visitor's own state
        # A course still under way, though a round of it just finished.
        ("just finished cycle 2 of 6 of chemo, can i get my neck done", "disclose"),
        ("finished my chemo in 2015, all clear since", None),
        # A month to come.
        ("my wife is expecting in march, she wants her back needled", "disclose"),
        ("i'm expecting in the parcel today lol, can i book for 3pm", None),
        # "for her" in a question about needling makes her the patient.
        ("my mum has bad osteoporosis, is needling even suitable for her?", "disclose"),
        ("my mum has bad osteoporosis, so i'm booking for myself to help carry her", None),
    ],
)
def test_people_described_jobs_courses_months_and_questions_for_someone(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        # A new subject after a comma is outside the negation before it.
        ("my daughter doesn't like the dentist and hates loud noises, she's 6, can you see her", ["child_patient"]),
        ("she doesn't have epilepsy, she is just clumsy", []),
        # "a bit" (lemma "bite") is not a bite.
        ("the bruise has gone a bit yellow and green", []),
        ("got bitten by a spider on my calf and it's oozing yellow stuff, booked for calves", ["skin_infection"]),
        # A child who does not talk.
        ("booking for my son, he doesn't talk and gets overwhelmed", ["cannot_communicate"]),
    ],
)
def test_negation_ends_at_a_new_subject_and_a_bit_is_not_a_bite(detector, text, conditions):
    assert detector.analyse(text).conditions == conditions


@pytest.mark.parametrize(
    ("text", "worsening"),
    [
        # A session named with words between ("since the calf needling") and lasting told with numbers.
        ("my foot has been weak since the calf needling, 2 days already", True),
        ("still oozing blood from the spot after the needle in my thigh, been pressing it 15 min", True),
        ("dizzy after the session, whole afternoon now", True),
        # Rest is not a symptom lasting; a fear since childhood is not tied to a session.
        ("tired after the session, slept for 3 hours", False),
        ("scared of needles since forever, fainted at every blood test for years", False),
    ],
)
def test_sessions_and_lasting_told_in_many_words(detector, text, worsening):
    assert detector.analyse(text).worsening is worsening


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A red flag of one's own told as long past, or dated by its session, is a story.
        ("had a bit of chest tightness during a session in 2019 but it was nerves, loads of sessions since no problem", None),
        ("got an infected cut on my knee when i was a teen, nothing like that since", None),
        ("my arm went numb after needling years ago, is it safe to try again?", None),
        # The same symptom now stays urgent.
        ("chest tightness since my session this morning and it's getting worse", "urgent"),
        # Panic around needles with a breathing word is the phobia, not an emergency.
        ("i get proper panic attacks around needles, heart racing, can't breathe", "disclose"),
    ],
)
def test_own_past_red_flags_are_stories_and_panic_around_needles_is_the_phobia(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        # An age in brackets ("(8)" is an emoticon to spaCy), and a child the message goes on about.
        ("my niece (7) has a sore heel, can she be needled?", ["child_patient"]),
        ("do you needle a grade 2 kid? he's got sore shins from soccer", ["child_patient"]),
        ("do you needle grade 2 kids? just curious", []),
        # Phobia said with a negation, doubting one can cope, and working on one's own fear.
        ("still cannot even look at a needle without going white", ["needle_phobia"]),
        ("i can look at the needle marks, they're tiny", []),
        ("not sure if i can handle it, needles make me panic", ["needle_phobia"]),
        ("i'm working on my fear of needles with a counsellor, still bad", ["needle_phobia"]),
    ],
)
def test_ages_in_brackets_children_asked_about_and_phobia_said_many_ways(detector, text, conditions):
    assert detector.analyse(text).conditions == conditions


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Red flags told by counting, by what one cannot do, or in small words.
        ("i'm on my third tissue already and the spot on my arm is still going after the needling", "urgent"),
        ("since the needling i can't really take a full breath, it catches on the left", "urgent"),
        ("after the shoulder needling my arm feels weak and heavy, can't raise it properly", "urgent"),
        ("the needle spot on my calf is swelling up fast, like it's filling with something", "urgent"),
        ("my arm feels like it's not mine since the needling, numb from the elbow down", "urgent"),
        # A session named by its day or by where the needle went ties an infection to it.
        ("there's pus where they put the needle in my back and the redness is spreading", "urgent"),
        ("the spot from this morning's needling is hot and red and spreading up my neck", "urgent"),
        # Over: a fainting spell or a drop of blood that already passed.
        ("nearly fainted after the needling, was fine after a glass of water", None),
        ("a drop of blood after the session, not bleeding now, all good", None),
        # How often is not when; a single past occasion of someone else's is a story.
        ("i take methotrexate once a week for my psoriasis", "disclose"),
        ("my flatmate passed out at acupuncture once, does that happen with dry needling?", None),
        # A pregnancy in brackets, and the wife who has the booking.
        ("rib pain is unreal (31wks), can needling help", "disclose"),
        ("my partner is pregnant and has a booking on friday for her back", "disclose"),
        ("there's a bump on my shoulder where they needled, it's hot and getting bigger", "urgent"),
    ],
)
def test_red_flags_told_by_counting_sessions_named_many_ways_and_what_is_over(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A general question, then the visitor says the condition is theirs.
        ("can you needle someone with lymphoedema? i've got it in my right leg", "disclose"),
        ("is needling ok with a nickel allergy? i react to cheap jewellery", "disclose"),
        ("can you needle someone with lymphoedema? just wondering for a uni essay", None),
        # Breath and spinning in everyday words.
        ("since the session i'm having trouble catching my breath", "urgent"),
        ("still spinny and cant get up off the couch since my needling", "urgent"),
    ],
)
def test_a_question_then_its_mine_and_everyday_red_flag_words(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A whole-body sign is not explained by a skin condition in the same message; the skin condition alone is.
        ("there's pus coming out of a spot on my shoulder and i've got a fever of 38.9", "urgent"),
        ("got a skin infection on my forearm with a bit of pus, on antibiotics, can you needle that arm?", "disclose"),
        # Red flags in Tagalog words, as Filipino visitors write them.
        ("po after needling sa likod ko, hirap huminga ako", "urgent"),
        ("manhid pa rin yung braso ko since kahapon after needling", "urgent"),
        # Swelling that grows by the minute is bleeding under the skin.
        ("the lump on my calf is getting bigger and bigger since the needling", "urgent"),
    ],
)
def test_whole_body_signs_tagalog_red_flags_and_growing_swelling(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A child by a hyphenated age, by "mine is", by school year before a child word, and "I have a" child.
        ("can you needle a 9-year-old? she's a swimmer with sore shoulders", "disclose"),
        ("do you do dry needling on kids? mine is 10, sore shins from running", "disclose"),
        ("grade 2 kid with sore heels, can he have needling?", "disclose"),
        ("would a 10 year old be able to have dry needling? just wondering for the future", None),
        ("a grade 2 tear in my calf, can you needle it?", None),
        # "if" before a present state is the visitor's situation; "what if" and "the form asks if" still suppose.
        ("is it ok if i'm pregnant?", "disclose"),
        ("can u still do it if im on eliquis", "disclose"),
        ("what if i'm pregnant?", None),
        ("why does the intake form ask if i'm pregnant?", None),
        # A message only about a relative's condition and their treatment is written for them; one that says
        # something of the visitor is not.
        ("my mum had a stroke in may, right side is still weak, her physio mentioned needling", "disclose"),
        ("my husband has fits, his epilepsy isn't well controlled at the moment. neck pain", "disclose"),
        ("my husband has epilepsy but i'm the one with the sore neck", None),
        ("my sister wants to know if you treat people with MS, she might book at some point", None),
        # A question about needling "for him" makes him the patient.
        ("my husband faints at needles, every single time. is needling a no-go for him?", "disclose"),
    ],
)
def test_children_by_any_age_and_if_before_a_present_state(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Serious long-term illnesses go to a clinician; everyday ones do not.
        ("i have heart failure and take a lot of tablets. upper back pain", "disclose"),
        ("on dialysis 3 times a week, my neck and shoulders hurt", "disclose"),
        ("i take a statin for my cholesterol, booking for my back", None),
        ("my dad had heart failure and passed away last year, i'm booking for my own back", None),
        # A lung condition explains the learned reading of breathing words; a breathing red flag stays urgent.
        ("I have COPD/emphysema, on oxygen at night. upper back pain between the shoulder blades", "disclose"),
        ("i have copd and i can't breathe properly since the needling", "urgent"),
        ("copd here, chest feels tight and i can't get air in", "urgent"),
    ],
)
def test_long_term_illness_is_disclosed_and_never_hides_a_red_flag(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Out of breath at rest, and a leg that keeps giving way, are red flags; exertion and idioms are not.
        ("husband is puffing and panting just sitting on the couch after his shoulder needling", "urgent"),
        ("my leg went weak after they needled my glute and it's still giving way hours later", "urgent"),
        ("puffing and panting after my run, is needling ok tomorrow?", None),
        ("my knees went weak when i saw the bill lol", None),
        # Numbing the skin is a question about the procedure, not numbness.
        ("do they numb the area first?", None),
        # A baby's age in months says the birth happened: a new mother is not pregnant.
        ("my baby is 3 months and I want my neck done, can I bring her in the pram?", None),
    ],
)
def test_breathless_at_rest_giving_way_and_what_is_not_a_symptom(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A past cue in a later clause with its own subject dates that clause only.
        ("my head is spinning nonstop since the needles in my neck, i threw up once and can't stand up", "urgent"),
        # A new clause starting "my ..." after an answer is outside the answer's negation.
        ("not now, my chest has gone really tight and i cant get a full breath in", "urgent"),
        # A simile is not someone else.
        ("chest feels tight like someone sitting on it, started on the drive home from dry needling", "urgent"),
        # A face or speech that changed, in lay words; bleeding "and won't stop".
        ("my mum's face looks droopy on one side since her needling session, and she talks funny", "urgent"),
        ("its the needle point on my jaw muscle, bleeding and won't stop after 15 minutes", "urgent"),
        # "for my nan" books for her; "for me, not him" does not.
        ("hi, the appointment is for my nan, she's on blood thinners (xarelto i think)", "disclose"),
        ("my husband has a nasty cut on his hand, can he still come in with me? the needling is for me, not him", None),
        # Carers and people typing for someone; an appointment told as theirs.
        ("carer here - my client is HIV positive and on antiretrovirals, booked for thursday", "disclose"),
        ("my partner is allergic to nickel (patch tested). he's having needling on tuesday", "disclose"),
        # A resolution that did not happen; a cure that may come later; an imagined case.
        ("my hand has been numb since a nerve injury in my elbow, still not recovered. booking for my shoulder", "disclose"),
        ("my surgeon said i might need a plate in my wrist in future. would that stop me getting needled?", None),
        ("imagine i turned up with a sunburn on my back, would you still do it?", None),
        # A child asked about with a body part of their own; a child who only comes along.
        ("hi! would dry needling be ok for a 7 yr old gymnast with a sore back?", "disclose"),
        ("my little one is 5 and i'd need to bring him with me to my appointment, is there somewhere he can sit?", None),
        # A skin condition over a list of sites that includes the treated one.
        ("i have psoriasis plaques all over my elbows and lower back, they're flared up. booked for low back needling", "disclose"),
        # Harmless words.
        ("i fainted once 10 years ago from heat stroke at a festival, never since", None),
    ],
)
def test_clauses_similes_carers_and_lists_of_sites(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A fear toned down is first-timer nerves; a fear not toned down, or one of several, is a phobia.
        ("i'm a bit nervous about needles but keen to try", None),
        ("slightly anxious about the needles tbh", None),
        ("im booked but i'm kind of panicking, i hate needles so much my heart is racing", "disclose"),
        # "I am not." answers and negates what came before.
        ("Doctor asked me am I pregnant, I am not. I am 55 years old. Want needles for knee", None),
        ("I'm pregnant. I am not on any meds.", "disclose"),
        # A story relayed about another clinic is not an emergency now; one happening now is.
        ("a friend said she got short of breath after needling at another clinic and ended up in ED. is my lower back risky?", None),
        ("my friend said she had needling elsewhere and right now she can't breathe", "urgent"),
        ("my son had needling at another clinic yesterday and his leg went numb", "urgent"),
        # "book me in for my son" books for him.
        ("can you book me in for my son, he's on warfarin", "disclose"),
        # Resolutions and harmless phrases.
        ("i had carpal tunnel surgery 5 years ago, hand works perfectly now, no numbness", None),
        ("I'm numb to pain after 3 kids lol so go hard with the needles", None),
    ],
)
def test_toned_down_fear_answers_relayed_stories_and_bookings(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # A symptom said to be over, of "it", is history; one that is back, or was fine only before, is not.
        ("nearly fainted?? felt clammy and weird for a minute after the neck needles but it passed and i've been fine all evening", None),
        ("i fainted after the session, it passed but now i'm dizzy again", "urgent"),
        ("my arm went numb after needling, the bleeding has stopped though", "urgent"),
        ("can't catch my breath since i got home from needling, was totally fine before", "urgent"),
        # Not needled yet: a red flag asked about before booking is a question.
        ("would chest pain after needling be something to worry about? asking before i book", None),
        # A question about a symptom happening now is the visitor's own.
        ("is it a problem if the spot where i had needling is red and getting bigger every day? no fever but it's spreading", "urgent"),
        # "no" answering a question negates it; "no" before a mention of its own negates that one.
        ("pregnant? no", None),
        # Breathless talking, and dizziness from the session that has lasted.
        ("Can't finish a sentence without stopping for air since my session this arvo", "urgent"),
        ("the dizziness from my session hasn't gone. it's been 24 hours. i feel off balance all the time", "urgent"),
    ],
)
def test_what_is_over_what_is_not_yet_and_questions_about_now(text, kind):
    assert get_screen().screen(text).kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Fainting and weakness in lay words; a question about bleeding that has lasted is about now.
        ("everything went black for a sec and i woke up on the kitchen floor. had needling earlier today", "urgent"),
        ("i dropped my phone three times, my hand feels weak and tingly. dry needling was on my neck yesterday", "urgent"),
        ("is it bad if the bleeding doesnt stop? been 25 mins of pressure on my shin", "urgent"),
        ("what do i do if the bleeding doesnt stop?", None),
        ("i have weak muscles in my back, that's why i'm coming", None),
        # "the spot on my shoulder" is the needle's: an infection there is not explained by a skin condition.
        ("oozing yellow stuff from the spot on my shoulder plus it's really hot to touch", "urgent"),
        # A child by "kid is 7" or "nearly 7"; a metal allergy told in a list.
        ("kid is 7 and plays soccer, hamstring is tight. can he have dry needling", "disclose"),
        ("hi im allergic to latex and also to stainless steel / chromium, anything i should know", "disclose"),
        ("nearly fainted when i saw the price of parking near you lol. is there free parking?", None),
    ],
)
def test_lay_fainting_weakness_lasting_questions_children_and_allergies(text, kind):
    assert get_screen().screen(text).kind == kind
