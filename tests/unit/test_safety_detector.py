"""Condition disclosures: who is it about, and is it now? Handoff recall and precision must be 100%."""

import pytest

from bot.safety.detector import get_detector
from bot.safety.lexicon import load_groups

# (message, groups that must lead to a handoff; empty = no handoff)
HANDOFF = [
    ("I'm absolutely terrified of needles", {"needle_phobia"}),
    ("i have a real fear of needles, is that a problem", {"needle_phobia"}),
    ("needle phobic here lol, would i even cope", {"needle_phobia"}),
    ("I have hemophilia, can I still have dry needling?", {"bleeding_disorder"}),
    ("i've got von willebrand disease", {"bleeding_disorder"}),
    ("my platelets are low, I have thrombocytopenia", {"bleeding_disorder"}),
    ("I'm on warfarin", {"blood_thinners"}),
    ("im on eliquis, will i bruise more?", {"blood_thinners"}),
    ("I take Xarelto every morning", {"blood_thinners"}),
    ("currently on plavix, is that ok?", {"blood_thinners"}),
    ("I inject enoxaparin after my surgery", {"blood_thinners", "recent_surgery"}),
    ("I'm taking pradaxa for afib", {"blood_thinners"}),
    ("i take a baby aspirin every day", {"blood_thinners"}),
    ("I'm on heparin right now", {"blood_thinners"}),
    ("i use ticagrelor since my stent", {"blood_thinners"}),
    ("I'm on blood thinners and my mom says it's fine", {"blood_thinners"}),
    ("If it matters, I'm on coumadin", {"blood_thinners"}),
    ("I'm 10 weeks pregnant", {"pregnancy"}),
    ("im pregnant and want to book for my back", {"pregnancy"}),
    ("I just found out I'm expecting a baby", {"pregnancy"}),
    ("i'm in my first trimester, is needling ok for my neck?", {"pregnancy"}),
    ("I'm pregnant, can pregnant women get it?", {"pregnancy"}),
    ("I'm having chemotherapy for breast cancer", {"immunocompromised", "cancer"}),
    # Asking whether it is safe for someone asks on their behalf: they are the patient (issue #10).
    ("my husband is on xarelto, is it safe for him?", {"blood_thinners"}),
    ("I have cancer and my oncologist said to ask first", {"cancer"}),
    ("i had a kidney transplant and take tacrolimus", {"immunocompromised"}),
    ("I'm HIV positive", {"immunocompromised"}),
    ("i've been on prednisone for months", {"immunocompromised"}),
    ("I have a weakened immune system", {"immunocompromised"}),
    ("I have an open wound on my calf", {"skin_infection"}),
    ("i've got cellulitis on my leg right now", {"skin_infection"}),
    ("I have a skin infection near my shoulder", {"skin_infection"}),
    ("I have multiple sclerosis", {"neurological"}),
    ("i was diagnosed with parkinson's", {"neurological"}),
    ("I have peripheral neuropathy in my feet", {"neurological"}),
    ("my 6 year old has knee pain, can she get it", {"child_patient"}),
    ("my son is 8 and plays hockey, could he have dry needling", {"child_patient"}),
    ("is it ok for my toddler", {"child_patient"}),
    ("my daughter is nonverbal, would you needle her shoulder", {"cannot_communicate"}),
    ("my dad has advanced dementia and a stiff neck", {"cannot_communicate"}),
    ("I have osteoporosis", {"older_adult_precautions"}),
    ("i'm 80 with very thin skin", {"older_adult_precautions"}),
    ("I have epilepsy", {"epilepsy"}),
    ("i get seizures sometimes", {"epilepsy"}),
    ("I have a pacemaker", {"implanted_device"}),
    ("i've got an insulin pump", {"implanted_device"}),
    ("I have lymphedema in my arm", {"lymphedema"}),
    ("i'm diabetic, type 2", {"diabetes"}),
    ("I have type 1 diabetes", {"diabetes"}),
    ("I'm allergic to nickel", {"metal_allergy"}),
    ("i have a metal allergy", {"metal_allergy"}),
    ("I have heart failure, my back has been sore", {"long_term_illness"}),
    # A message only about a relative's condition and their treatment is written for them (they would be the patient).
    ("my mom takes warfarin, her physio wants to try needling", {"blood_thinners"}),
    ("been on dialysis since last year", {"long_term_illness"}),
    ("I'm pregnant and on blood thinners", {"pregnancy", "blood_thinners"}),
    ("preggo with #2, can i get my hip done", {"pregnancy"}),
    ("hi, 28 weeks along and my back is killing me", {"pregnancy"}),
    ("on thinners (apixaban) - will that be a problem", {"blood_thinners"}),
    ("I've been taking Lovenox shots since my knee replacement", {"blood_thinners", "implanted_device"}),
    ("i have ITP so i bruise really easily", {"bleeding_disorder"}),
    ("just started chemo, my shoulder is so tight", {"immunocompromised"}),
    ("i'm a transplant patient on immunosuppressants", {"immunocompromised"}),
    ("there's a bit of an open sore on my lower back", {"skin_infection"}),
    ("I had a stroke last year and still have weakness in my arm", {"neurological"}),
    ("i have brittle bones, my doctor calls it osteopenia", {"older_adult_precautions"}),
    ("I have an ICD implanted", {"implanted_device"}),
    ("Im insulin dependent", {"diabetes"}),
    ("i faint when i see needles honestly", {"needle_phobia"}),
    ("can my 10yo have it for her sore calves", {"child_patient"}),
    # Pregnancy by its weeks or trimester, without the word (issue #10, development sets 3 and 4).
    ("im 11 weeks and my hips ache, can i come in", {"pregnancy"}),
    ("at 30wks now, is needling still an option", {"pregnancy"}),
    ("had our 20 week scan yesterday, all fine, but my neck is stiff", {"pregnancy"}),
    ("2nd tri and my upper back is so tight", {"pregnancy"}),
    ("guess what, we're expecting! can i still keep my booking?", {"pregnancy"}),
    # A young child by school year or "has N years".
    ("my daughter is in grade 1 and her calves are tight", {"child_patient"}),
    ("my son have 6 years and his knee hurts from football", {"child_patient"}),
    # An operation in the last weeks.
    ("had my ACL reconstruction 5 weeks ago, can you needle my quad", {"recent_surgery"}),
    ("im 6 weeks post-op from my shoulder and 3 weeks into physio", {"recent_surgery"}),  # weeks after, not a pregnancy
    ("my gp asked me to check with you first, i'm 14 wks", {"pregnancy"}),  # weeks at the very end of the message
    ("me and my husband just found out we're having a baby!", {"pregnancy"}),  # "we", not the husband's
    ("is it ok to book for a 9yo? her calves are tight", {"child_patient"}),
    ("he's in 3rd grade and fractured his wrist last year, now the forearm is tight", {"child_patient"}),  # still a child
    # A medicine taken now with a past event after it; a greeting is not a relative; a visitor in their own question.
    ("im on rivaroxaban since my clot last spring", {"blood_thinners"}),
    ("hi brother, I take warfarin, is needling ok", {"blood_thinners"}),
    ("do you treat people on clopidogrel? asking for myself", {"blood_thinners"}),
    ("I'm 36 weeks pregnant and the midwife at the hospital suggested physio", {"pregnancy"}),
    # Asking what a family member can do is asking for them: they are the patient.
    ("my dad has a pacemaker, can he try it", {"implanted_device"}),
]

NO_HANDOFF = [
    # negated
    ("I'm not pregnant", set()),
    ("no i am not on warfarin", set()),
    ("i'm not on any blood thinners", set()),
    ("I don't have hemophilia", set()),
    ("i dont take eliquis", set()),
    ("I'm not scared of needles at all", set()),
    ("never had chemo", set()),
    ("I don't have a pacemaker", set()),
    ("I'm not diabetic", set()),
    ("no open wounds or anything", set()),
    ("i do not have epilepsy", set()),
    ("I'm not on plavix or anything like that", set()),
    # other person
    ("my mom takes warfarin", set()),
    ("my mom takes warfarin, I'm booking for my back", set()),
    ("my wife is pregnant, can I still get needled?", set()),
    ("my friend has hemophilia", set()),
    ("my sister is having chemo", set()),
    ("my dad has a pacemaker, can I try it while he waits", set()),
    ("my grandmother has osteoporosis", set()),
    ("my son is 30 and on eliquis", set()),
    ("she is pregnant and wants to know if it's safe", set()),
    ("my partner has epilepsy", set()),
    ("my coworker is diabetic", set()),
    ("my brother has multiple sclerosis", set()),
    # hypothetical / general
    ("can pregnant women get it?", set()),
    ("what if someone has hemophilia", set()),
    ("if i was pregnant could i have it", set()),
    ("is dry needling safe during pregnancy?", set()),
    ("is it safe for people on blood thinners", set()),
    ("can someone with a pacemaker have dry needling", set()),
    ("what about diabetics?", set()),
    ("is it ok for patients on chemotherapy", set()),
    ("can people with epilepsy get it", set()),
    ("what if a person is allergic to nickel", set()),
    ("are people with needle phobia able to do it", set()),
    ("is dry needling safe for seniors with osteoporosis", set()),
    ("can anyone with an open wound get needled", set()),
    ("should women in the first trimester avoid it", set()),
    # historical
    ("I had chemo two years ago", set()),
    ("I used to take warfarin", set()),
    ("i'm no longer on chemo", set()),
    ("I finished chemotherapy last year", set()),
    ("i was on eliquis after surgery but stopped in march", set()),
    ("I had a skin infection last year but it cleared up", set()),
    ("i used to be terrified of needles", set()),
    ("I stopped taking plavix", set()),
    ("my open wound healed", set()),
    ("I had seizures as a child", set()),
    ("i had seizures as a kid but none since", set()),
    ("i was pregnant last year", set()),
    ("I came off prednisone a while ago", set()),
    ("I'm not pregnant but my sister is", set()),
    ("what about people with diabetes", set()),
    ("does dry needling work for people who take blood thinners", set()),
    ("my mom has lymphedema after her surgery", set()),
    ("my 15 year old son is scared of needles", set()),
    ("would it be safe for someone with epilepsy", set()),
    ("i'm not allergic to metal", set()),
    ("my kids are 6 and 9 and my wife is pregnant", set()),
    ("i had cellulitis years ago", set()),
    ("is it ok for kids with hemophilia", set()),
    ("i don't have any neurological conditions", set()),
    ("my girlfriend takes clopidogrel", set()),
    # A strain's grade, a teacher's class, a visitor who said they are the patient.
    ("i have a grade 2 calf tear from netball", set()),
    ("i teach year 3 and my back hurts from the small chairs", set()),
    ("my wife has psoriasis but i'm the one booked in, for my knee", set()),
    ("i had knee surgery in 2015, fully healed", set()),
    ("my 4pm appointment, can i move it", set()),
    ("my covid test came back negative, can i still come", set()),
    ("i'm 5 months postpartum and my upper back is tight", set()),
    ("had warfarin injections after my hip op in 2018, only for a few weeks", set()),
    ("would it matter if i have surgery at some point next year?", set()),
]

CASES = HANDOFF + NO_HANDOFF


@pytest.fixture(scope="module")
def detector():
    return get_detector()


def test_table_is_large_and_covers_every_lexicon_group():
    assert len(CASES) >= 120
    affirmed = set().union(*(groups for _, groups in HANDOFF))
    assert affirmed == set(load_groups())


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_handoff_decision(detector, text, expected):
    assert set(detector.patient_conditions(text)) == expected


def test_recall_and_precision_are_100_percent(detector):
    true_pos = sum(bool(detector.patient_conditions(t)) for t, e in HANDOFF)
    false_pos = sum(bool(detector.patient_conditions(t)) for t, e in NO_HANDOFF)
    recall = true_pos / len(HANDOFF)
    precision = true_pos / max(1, true_pos + false_pos)
    assert (recall, precision) == (1.0, 1.0)


def test_mentions_carry_roles(detector):
    roles = {
        m.role
        for text in [
            "I'm not pregnant",
            "my mom takes warfarin, I'm booking for my back",
            "what if someone has hemophilia",
            "I used to take warfarin",
            "I'm on Eliquis",
        ]
        for m in detector.detect(text)
    }
    assert roles == {"negated", "other_person", "hypothetical", "historical", "patient"}
