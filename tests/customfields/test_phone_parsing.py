"""`normalize_phone` reads plain international numbers itself; it must agree with parse.

The shortcut (`_plainly_international`) answers only when phonenumbers' reading is
plain; everywhere else parse decides. These tests hold the whole of
`normalize_phone` to what parsing every value with phonenumbers answers, over every
country calling code, every national length the parser takes and more, every leading
digit (national prefixes, leading zeros) and the punctuation people write.
"""

import random

import phonenumbers
import pytest

from customfields.types import InvalidValue, _plainly_international, normalize_phone

PUNCTUATION = [" ", "-", ".", "(", ")", "  "]


def parsed_outcome(value: str) -> str:
    """What normalising `value` means, by phonenumbers' own reading of it alone."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return "invalid_phone"
    if (
        phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return "invalid_phone"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalized_outcome(value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidValue as exc:
        return exc.code


def written(rng: random.Random, digits: str) -> str:
    """`+digits` as a person might write it: punctuation between some of the digits."""
    parts = ["+"]
    for digit in digits:
        if rng.random() < 0.25:
            parts.append(rng.choice(PUNCTUATION))
        parts.append(digit)
    if rng.random() < 0.1:
        parts.append(rng.choice(PUNCTUATION))
    return "".join(parts)


def candidate_numbers(seed: int):
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    for country_code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(1, 19):
            for first in "0123456789":
                national = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
                yield written(rng, f"{country_code}{national}")


def test_normalize_phone_agrees_with_phonenumbers_on_every_country_code():
    disagreements, plain = [], 0
    for value in candidate_numbers(seed=20261126):
        if _plainly_international(value) is not None:
            plain += 1
        if normalized_outcome(value) != parsed_outcome(value):
            disagreements.append((value, normalized_outcome(value), parsed_outcome(value)))
    assert disagreements == []
    # The shortcut took a real share of them (else this would compare parse with itself).
    assert plain > 10_000


@pytest.mark.parametrize(
    "value",
    [
        "+1 (415) 555-0123",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+39 312 345 6789",
        "+800 1234 5678",  # a non-geographic calling code
        "+1 212 200-0001",
    ],
)
def test_plain_international_numbers_are_read_without_parse(value):
    assert _plainly_international(value) == phonenumbers.parse(value, None)


@pytest.mark.parametrize(
    "value",
    [
        "+44 020 7946 0958",  # the national prefix written after the country code
        "+1 1 415 555 0123",  # NANPA's national prefix
        "+39 06 1234 5678",  # Italy keeps its leading zero
        "+999 123 4567",  # no such country code
        "+0 123 4567",
        "+1 2",
        "+",
    ],
)
def test_anything_else_is_left_to_parse(value):
    assert _plainly_international(value) is None
