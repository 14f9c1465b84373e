"""Practical questions (opening hours, location, parking, cancellation, referrals, payment), answered from clinic.yml.

These are facts only the clinic knows, so they come from its settings and nowhere else: a subject the
clinic has not filled in gets an honest "I don't have that here" with the phone and booking options,
never the fallback or a passage from the documents.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import ClinicSettings
from bot.content.messages import message, message_group
from bot.content.replies import BOOK_BUTTON, Reply

SUBJECTS = ("opening_hours", "location", "parking", "cancellation", "referral", "payment")
ENTITY = "clinic_topic"  # data/nlu/clinic_info.yml: lookup table + synonyms to these subjects


def subject_label(subject: str, clinic: ClinicSettings) -> str:
    return message_group("clinic_info_subjects", subject, clinic)


def subject_button(subject: str, clinic: ClinicSettings) -> dict[str, str]:
    label = subject_label(subject, clinic)
    return {"title": label[:1].upper() + label[1:], "payload": f'/ask_clinic_info{{"{ENTITY}": "{subject}"}}'}


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def clinic_info_reply(clinic: ClinicSettings, subjects: Iterable[str]) -> Reply:
    """The clinic's own words for each subject asked; what it has not written is said to be missing."""
    asked = [s for s in dict.fromkeys(subjects) if s in SUBJECTS]
    known = [s for s in asked if clinic.practical.get(s)]
    missing = [s for s in asked if s not in known]
    parts = [f"{subject_label(s, clinic)[:1].upper()}{subject_label(s, clinic)[1:]}: {clinic.practical[s]}" for s in known]
    if missing:
        parts.append(message("clinic_info_missing", clinic, subjects=_join([subject_label(s, clinic) for s in missing])))
    if not asked:
        parts.append(message("clinic_info_general", clinic))
    others = [s for s in SUBJECTS if clinic.practical.get(s) and s not in asked]
    buttons = [subject_button(s, clinic) for s in others[:3]] + [BOOK_BUTTON]
    if others and not asked:
        parts.append(message("clinic_info_more", clinic))
    custom = {"reply": "clinic_info", "subjects": asked, "answered": known}
    return Reply("\n\n".join(parts), buttons=buttons, custom=custom, failed_turns=0.0)
