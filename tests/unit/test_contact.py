"""Contact validation: what a visitor types must be one reachable phone number or email."""

from __future__ import annotations

import dataclasses

import pytest

from bot.handoff.contact import Contact, mask, parse_contact


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("+1 403 555 0123", "+14035550123"),
        ("(403) 555-0123", "+14035550123"),
        ("403.555.0123", "+14035550123"),
        ("403-555-0123", "+14035550123"),
        ("4035550123", "+14035550123"),
        ("1-403-555-0123", "+14035550123"),
        ("1 (403) 555 0123", "+14035550123"),
        ("  403 555 0123.  ", "+14035550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0) 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+61 2 9876 5432", "+61298765432"),
        ("555-0123", "5550123"),
        ("020 7946 0958", "02079460958"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_phone_numbers_are_normalised(text: str, value: str) -> None:
    assert parse_contact(text) == Contact("phone", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe+physio@Example.COM", "Jane.Doe+physio@example.com"),
        ("  j_o'neil@mail.clinic.co.uk ", "j_o'neil@mail.clinic.co.uk"),
        ("x@sub-domain.example.org.", "x@sub-domain.example.org"),
    ],
)
def test_emails_keep_local_part_and_lowercase_domain(text: str, value: str) -> None:
    assert parse_contact(text) == Contact("email", value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "call me",
        "123456",  # too short
        "555 012",
        "000 000 0000",  # filler
        "+1234567890123456",  # 16 digits
        "403 555 0123 403 555 9999",  # two numbers
        "403-555-0123, jane@example.com",  # two contacts
        "jane@example.com or bob@example.com",
        "jane@example.com bob@example.com",
        "403 555 O123",  # letter O
        "403-555-0123 ext 4",
        "four oh three 555 0123",
        "403--555--0123",
        "-403 555 0123",
        "(403 555 0123",
        "((403)) 555 0123",
        "() 403 555 0123",
        "+ 1 403 555 0123 +",
        "jane@",
        "@example.com",
        "jane@example",
        "jane@@example.com",
        "jane..doe@example.com",
        ".jane@example.com",
        "jane@-example.com",
        "jane@example.c0m",
        "jane doe@example.com",
        "<jane@example.com>",
        "a" * 65 + "@example.com",
        "a@" + "b" * 63 + "." + ("c" * 63 + ".") * 3 + "com",  # longer than 254
    ],
)
def test_everything_else_is_rejected(text: str) -> None:
    assert parse_contact(text) is None


def test_contact_is_frozen() -> None:
    contact = Contact("phone", "+14035550123")
    with pytest.raises(dataclasses.FrozenInstanceError):
        contact.value = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("contact", "masked"),
    [
        (Contact("phone", "+14035550123"), "+1 ••• ••• 0123"),
        (Contact("phone", "+442079460958"), "+••• ••• 0958"),
        (Contact("phone", "5550123"), "••• ••• 0123"),
        (Contact("email", "jane@example.com"), "j•••@example.com"),
    ],
)
def test_mask_hides_all_but_a_hint(contact: Contact, masked: str) -> None:
    assert mask(contact) == masked
    assert contact.value not in masked
