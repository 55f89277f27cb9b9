"""The formula-safety rule of exported cells, and its exact inverse for the importer (§10)."""

from itertools import product

import pytest

from contacts.csvcells import formula_escape, formula_unescape

# (cell, as the export writes it)
CASES = [
    ("", ""),
    ("Ada", "Ada"),
    ("+14155550123", "+14155550123"),  # E.164 stays a number
    ("+1", "+1"),
    ("+", "'+"),
    ("+ 1", "'+ 1"),
    ("+1 (415) 555-0123", "'+1 (415) 555-0123"),
    ("+SUM(1)", "'+SUM(1)"),
    ("+1²", "'+1²"),  # not ASCII digits
    ("+١٢٣", "'+١٢٣"),  # Arabic-Indic digits are not "digits only" either
    ("=1+1", "'=1+1"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("-3", "'-3"),
    ("-", "'-"),
    ("@x", "'@x"),
    ("\tx", "'\tx"),
    ("\t", "'\t"),
    ("\rx", "'\rx"),
    ("\r", "'\r"),
    ("a=1", "a=1"),
    (" =1", " =1"),  # only the first character counts
    ("'", "'"),
    ("''", "''"),
    ("'quoted'", "'quoted'"),
    ("'+14155550123", "'+14155550123"),
    # A user's own quote in front of a trigger gets one more, so the import can tell it
    # from an escaped cell.
    ("'=1", "''=1"),
    ("''=1", "'''=1"),
    ("'-3", "''-3"),
    ("'+ 1", "''+ 1"),
]


@pytest.mark.parametrize(("cell", "written"), CASES)
def test_escape_writes_the_cell_and_unescape_reads_it_back(cell, written):
    assert formula_escape(cell) == written
    assert formula_unescape(written) == cell


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("'=cmd", "=cmd"),
        ("'-3", "-3"),
        ("'+SUM(1)", "+SUM(1)"),
        ("'\t", "\t"),
        ("''=1", "'=1"),
        # Not what the export writes: read as written.
        ("'", "'"),
        ("'quoted'", "'quoted'"),
        ("'+14155550123", "'+14155550123"),
        ("'+", "+"),
        ("'abc", "'abc"),
        ("x'=1", "x'=1"),
        ("=1", "=1"),  # an unescaped trigger in a hand-written file is a plain value
    ],
)
def test_unescape_removes_exactly_the_exports_prefix(cell, read):
    assert formula_unescape(cell) == read


# Every string of up to five characters over the characters the rule looks at, and a few it
# does not: the round trip holds for each, and what the export writes is always safe.
_ALPHABET = "'=-@\t\r+1a ²"


def _all_cells():
    for length in range(6):
        for chars in product(_ALPHABET, repeat=length):
            yield "".join(chars)


def test_the_round_trip_holds_for_every_short_cell():
    count = 0
    for cell in _all_cells():
        written = formula_escape(cell)
        assert formula_unescape(written) == cell, repr(cell)
        assert written in (cell, "'" + cell), repr(cell)
        # Nothing a spreadsheet would run: no trigger first, and `+` only before digits.
        first = written[:1]
        assert first not in ("=", "-", "@", "\t", "\r"), repr(cell)
        if first == "+":
            assert written[1:].isdigit() and written[1:].isascii(), repr(cell)
        count += 1
    assert count == sum(len(_ALPHABET) ** n for n in range(6))
