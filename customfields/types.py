"""The one registry of custom-field value types.

Each entry says, for one type, how a raw string is validated and normalised,
how the value looks in the API and OpenAPI, how it is filtered, and which
admin form field edits it. Nothing else in the project branches on a field's
type: adding a type is adding one entry to VALUE_TYPES.

The API, the admin and the CSV importer all call `value_normalize`, so a
value accepted by one door is accepted by every door.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection
from django.db.models import Func, JSONField, Q, Value
from django.db.models.fields.json import DataContains, KeyTextTransform
from django.db.models.lookups import Exact

TEXT_MAX_LENGTH = 1000
EMAIL_MAX_LENGTH = 254


class InvalidValue(Exception):
    """A value that a field cannot hold; `code` is a FieldViolation / ImportError code."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


def _reject_control_characters(value: str) -> None:
    # PostgreSQL cannot store NUL in text or JSONB; no field has a use for it.
    if "\x00" in value:
        raise InvalidValue("invalid_value", "The value contains a NUL character.")


def normalize_text(raw: str) -> str:
    value = raw.strip()
    _reject_control_characters(value)
    if len(value) > TEXT_MAX_LENGTH:
        raise InvalidValue("too_long", f"Text values have at most {TEXT_MAX_LENGTH} characters.")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def normalize_date(raw: str) -> str:
    value = raw.strip()
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidValue(
            "invalid_date", f"'{value[:40]}' is not a calendar date in YYYY-MM-DD form."
        ) from None


class _EmailValidator(EmailValidator):
    """Django's e-mail rules, with its two patterns compiled when this module loads.

    Django compiles them lazily, behind proxies that cost two attribute lookups each
    per call: 4.2 µs per address, against 1.25 µs here, and an import checks one or
    two addresses per row. Only the pattern objects differ; every rule is Django's.
    """

    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
    domain_regex = re.compile(
        EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags
    )


_email_validator = _EmailValidator()


def normalize_email(raw: str) -> str:
    """A syntactically valid address, lower-cased (addresses are matched case-insensitively)."""
    value = raw.strip().lower()
    _reject_control_characters(value)
    try:
        if len(value) > EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        _email_validator(value)
    except ValidationError as error:
        # Django's ValidationError lists itself (`error_list = [self]`): a reference cycle
        # that would keep its traceback, and through it the caller's frames and the row
        # being checked, until a cyclic collection, which imports run with few of
        # (contacts/importing/services.py).
        error.error_list = []
        raise InvalidValue(
            "invalid_email", f"'{value[:80]}' is not a valid e-mail address."
        ) from None
    return value


# Digits and the punctuation people write numbers with; letters and extensions are refused.
_PHONE_CHARACTERS = re.compile(r"\+[0-9 \-().]+")
_PHONE_PUNCTUATION = str.maketrans("", "", " -().")


def normalize_phone(raw: str) -> str:
    """E.164 (`+14155550123`) for a plausible number in international form."""
    value = raw.strip()
    invalid = InvalidValue(
        "invalid_phone",
        f"'{value[:40]}' is not a valid phone number in international form (+ and country code).",
    )
    if not _PHONE_CHARACTERS.fullmatch(value):
        raise invalid
    number = _plainly_international(value)
    if number is None:
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise invalid from None
    # "Plausible" (contract §2): a full-length number of the country's numbering plan (a
    # local-only number is not: it cannot be dialled from abroad). The stricter
    # is_valid_number also checks allocated ranges and costs twice as much per number,
    # which an import of a million phone numbers pays in full.
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise invalid
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plainly_international(value: str) -> phonenumbers.PhoneNumber | None:
    """The number `phonenumbers.parse(value)` reads, when reading it is plain; else None.

    `value` is `+`, digits and punctuation (`_PHONE_CHARACTERS`). It reads plainly when
    its digits are a country calling code and then a national number of 2–17 digits
    that starts with neither a zero nor the country's national prefix: then parse's
    only outcome is exactly that (country code, national number), and this takes ~3 µs
    where parse's general reading (extensions, letters, dialling prefixes) takes ~15 µs,
    which an import of a million rows with two phone columns pays for every number.
    Anything else goes to parse; tests/customfields/test_phone_parsing.py holds the two
    to the same answers across every country calling code.
    """
    digits = value[1:].translate(_PHONE_PUNCTUATION)
    if len(digits) < 3 or digits[0] == "0":
        return None
    # Country calling codes are prefix-free, 1–3 digits: parse takes the first that is one.
    for width in (1, 2, 3):
        country_code = int(digits[:width])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[width:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    if metadata is None:
        return None
    national_prefix = metadata.national_prefix_for_parsing
    if national_prefix and re.match(national_prefix, national):
        return None  # parse may strip it: its rules decide
    return phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))


class _OtherCustomFields(Func):
    """A contact's custom fields without its e-mail and phone: what the GIN index
    `contact_custom_values` holds (contacts/migrations/0014). The e-mail and phone have
    (tenant, value) indexes of their own; in the GIN index, their unique values were
    four fifths of its cost when contacts are written (0.41 of 0.52 s per 100,000)."""

    template = "(%(expressions)s - '{cf_email,cf_phone}'::text[])"
    output_field = JSONField()


def _exact(definition_id: str, stored: str) -> Q:
    """Exact match on the stored value.

    The e-mail and phone compare the value as text, which their (tenant, value) indexes
    serve. Other fields are JSONB containment (`@>`) on PostgreSQL, which the GIN index
    serves; SQLite has no containment and compares the extracted key.
    """
    if definition_id in PREDEFINED_CONTACT_FIELDS:
        return Q(Exact(KeyTextTransform(definition_id, "custom_fields"), stored))
    if connection.vendor == "postgresql":
        wanted = Value({definition_id: stored}, output_field=JSONField())
        return Q(DataContains(_OtherCustomFields("custom_fields"), wanted))
    return Q(**{f"custom_fields__{definition_id}": stored})


@dataclass(frozen=True)
class ValueType:
    name: str
    label: str
    normalize: Callable[[str], str]
    openapi: dict[str, Any]
    filter: Callable[[str, str], Q]
    form_field: Callable[..., forms.Field]
    from_form: Callable[[Any], str]


VALUE_TYPES: dict[str, ValueType] = {
    "text": ValueType(
        name="text",
        label="Text",
        normalize=normalize_text,
        openapi={"type": "string", "maxLength": TEXT_MAX_LENGTH},
        filter=_exact,
        form_field=lambda **kwargs: forms.CharField(strip=False, **kwargs),
        from_form=lambda value: value or "",
    ),
    "date": ValueType(
        name="date",
        label="Date",
        normalize=normalize_date,
        openapi={"type": "string", "format": "date"},
        filter=_exact,
        form_field=lambda **kwargs: forms.DateField(widget=AdminDateWidget, **kwargs),
        from_form=lambda value: value.isoformat() if value else "",
    ),
}

TYPE_CHOICES = [(value_type.name, value_type.label) for value_type in VALUE_TYPES.values()]
TYPE_NAMES = tuple(VALUE_TYPES)


@dataclass(frozen=True)
class PredefinedField:
    id: str
    name: str
    type: str
    normalize: Callable[[str], str]


# Fields every tenant's contacts have, with stricter rules than their type alone.
PREDEFINED_CONTACT_FIELDS: dict[str, PredefinedField] = {
    "cf_email": PredefinedField("cf_email", "Email", "text", normalize_email),
    "cf_phone": PredefinedField("cf_phone", "Phone", "text", normalize_phone),
}


def value_normalize(definition_id: str, type_name: str, raw: str) -> str | None:
    """The stored form of `raw` for a field, or None when the value is to be cleared.

    An empty (or all-blank) string clears. Raises InvalidValue.
    """
    if not raw.strip():
        return None
    return value_normalizer(definition_id, type_name)(raw)


def value_normalizer(definition_id: str, type_name: str) -> Callable[[str], str]:
    """The function that normalises a non-blank value of a field (what value_normalize
    calls), for a caller that normalises many values of one field."""
    predefined = PREDEFINED_CONTACT_FIELDS.get(definition_id)
    return predefined.normalize if predefined else VALUE_TYPES[type_name].normalize
