"""The value-type registry: every rule a value must pass, at its edges."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Q

from customfields.types import (
    PREDEFINED_CONTACT_FIELDS,
    VALUE_TYPES,
    InvalidValue,
    _email_validator,
    normalize_date,
    normalize_email,
    normalize_phone,
    normalize_text,
    value_normalize,
)


def _code(normalize, raw):
    with pytest.raises(InvalidValue) as excinfo:
        normalize(raw)
    return excinfo.value.code


def test_text_is_trimmed_and_at_most_1000_characters():
    assert normalize_text("  hello  ") == "hello"
    assert normalize_text("x" * 1000) == "x" * 1000
    assert normalize_text("  " + "x" * 1000 + "  ") == "x" * 1000
    assert _code(normalize_text, "x" * 1001) == "too_long"


def test_text_keeps_unicode_and_refuses_nul():
    assert normalize_text("Zoë 🎉 日本") == "Zoë 🎉 日本"
    assert _code(normalize_text, "a\x00b") == "invalid_value"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("2026-05-01", "2026-05-01"), (" 2024-02-29 ", "2024-02-29"), ("2000-02-29", "2000-02-29")],
)
def test_real_calendar_dates_are_accepted(raw, stored):
    assert normalize_date(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2026-02-31",  # no 31 February
        "2023-02-29",  # not a leap year
        "1900-02-29",  # century, not a leap year
        "2026-13-01",
        "2026-00-10",
        "2026-5-1",
        "20260501",
        "01/05/2026",
        "2026-05-01T10:00:00",
        "tomorrow",
        "２０２６-０５-０１",  # full-width digits are digits to Python, not to us
    ],
)
def test_other_dates_are_invalid_date(raw):
    assert _code(normalize_date, raw) == "invalid_date"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ada.Lovelace@Example.COM", "ada.lovelace@example.com"),
        ("  bob+tag@sub.example.org ", "bob+tag@sub.example.org"),
    ],
)
def test_email_is_lower_cased(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    "raw", ["not-an-email", "a@b", "@example.com", "a b@example.com", "a@" + "x" * 250 + ".com"]
)
def test_invalid_email(raw):
    assert _code(normalize_email, raw) == "invalid_email"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+1 (415) 555-0123", "+14155550123"),
        ("+14155550123", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+91 98765-43210", "+919876543210"),
        ("+81 3.1234.5678", "+81312345678"),
        ("+55 11 91234-5678", "+5511912345678"),
    ],
)
def test_phone_numbers_from_several_countries_become_e164(raw, stored):
    assert normalize_phone(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "4155550123",  # no country code
        "+1 555 0123",  # too short for its country
        "+999 123 4567",  # no such country code
        "+1-800-FLOWERS",  # letters
        "+1 415 555 0123 ext 5",  # extensions are not E.164
        "+",
        "phone",
    ],
)
def test_invalid_phone(raw):
    assert _code(normalize_phone, raw) == "invalid_phone"


def test_value_normalize_uses_the_predefined_rules_and_clears_on_blank():
    assert value_normalize("cf_email", "text", " A@B.CO ") == "a@b.co"
    assert value_normalize("cf_phone", "text", "+1 (415) 555-0123") == "+14155550123"
    assert value_normalize("cf_01ABCDEFGHJKMNPQRSTVWXYZ0", "date", "2026-01-02") == "2026-01-02"
    assert value_normalize("cf_01ABCDEFGHJKMNPQRSTVWXYZ0", "text", "") is None
    assert value_normalize("cf_email", "text", "   ") is None
    with pytest.raises(InvalidValue):
        value_normalize("cf_email", "text", "nope")


def test_predefined_fields_are_email_and_phone_of_type_text():
    assert {(f.id, f.name, f.type) for f in PREDEFINED_CONTACT_FIELDS.values()} == {
        ("cf_email", "Email", "text"),
        ("cf_phone", "Phone", "text"),
    }


def test_every_type_has_a_complete_entry():
    for name, value_type in VALUE_TYPES.items():
        assert value_type.name == name
        assert value_type.openapi["type"] == "string"
        assert isinstance(value_type.form_field(required=False), forms.Field)
        assert isinstance(value_type.filter("cf_x", "v"), Q)


def test_form_values_round_trip_through_the_type():
    date_field = VALUE_TYPES["date"].form_field(required=False)
    assert VALUE_TYPES["date"].from_form(date_field.clean("2026-05-01")) == "2026-05-01"
    assert VALUE_TYPES["date"].from_form(None) == ""
    assert VALUE_TYPES["text"].from_form(" x ") == " x "


@pytest.mark.parametrize(
    "address",
    [
        "a@b.co",
        "first.last+tag@sub.example.com",
        '"quoted local"@example.com',
        "user@[192.168.0.1]",
        "user@[IPv6:::1]",
        "user@localhost",
        "user@xn--bcher-kva.example",
        "user@bücher.example",
        "user@-bad.example",
        "user@example",
        "us..er@example.com",
        ".user@example.com",
        "user@example.c",
        "a" * 65 + "@example.com",
        "user@" + "a" * 64 + ".com",
    ],
)
def test_email_rules_are_djangos(address):
    """normalize_email's validator only compiles Django's patterns eagerly."""

    def verdict(validator):
        try:
            validator(address)
        except ValidationError:
            return False
        return True

    assert verdict(_email_validator) == verdict(EmailValidator())
