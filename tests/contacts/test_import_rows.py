"""Checking rows: a column's repeated cells are remembered, with the same outcome."""

import pickle
from types import SimpleNamespace

from contacts.importing.columns import ColumnMap, Kind, Target
from contacts.importing.reader import RawRow
from contacts.importing.rows import CheckedRow, RowChecker, RowError
from contacts.validation import ContactRules, IdentityInput

COLUMNS = ColumnMap(
    header=("name", "renewal", "tags"),
    targets=(Target(Kind.NAME), Target(Kind.FIELD, "cf_renewal"), Target(Kind.TAGS)),
)
RULES = ContactRules(definitions={"cf_renewal": SimpleNamespace(type="date")}, tag_ids=frozenset())

MANY_TAGS = ";".join(f"t{n}" for n in range(30))  # longer than RowChecker.MEMO_CELL_CHARS


def _check(rows, monkeypatch, memo_size):
    monkeypatch.setattr(RowChecker, "MEMO_SIZE", memo_size)
    check = RowChecker(COLUMNS, RULES)
    return [check(RawRow(n, cells, None, 10 * n)) for n, cells in enumerate(rows, start=1)]


def test_repeated_and_distinct_cells_give_the_same_rows_whatever_is_remembered(monkeypatch):
    rows = [
        ["A", " 2027-01-02 ", "vip; trial"],
        ["B", "2027-02-30", "vip; trial"],  # not a date
        ["C", " 2027-01-02 ", "vip|x"],
        ["D", "2027-02-30", ""],  # the same bad date again: its own error
        ["E", "2027-03-04", "vip; trial"],
        ["F", " 2027-01-02 ", "vip; trial"],
        ["G", "2027-03-04", MANY_TAGS],  # too long to be remembered
        ["H", "2027-03-04", MANY_TAGS],
    ]
    remembered_one = _check(rows, monkeypatch, memo_size=1)  # forgets at almost every cell
    remembered_all = _check(rows, monkeypatch, memo_size=512)
    assert remembered_one == remembered_all
    outcome = [(r.name, r.values, r.tag_names, [e.code for e in r.errors]) for r in remembered_all]
    assert outcome == [
        ("A", {"cf_renewal": "2027-01-02"}, ["vip", "trial"], []),
        ("B", {}, ["vip", "trial"], ["invalid_date"]),
        ("C", {"cf_renewal": "2027-01-02"}, ["vip", "x"], []),
        ("D", {}, [], ["invalid_date"]),
        ("E", {"cf_renewal": "2027-03-04"}, ["vip", "trial"], []),
        ("F", {"cf_renewal": "2027-01-02"}, ["vip", "trial"], []),
        ("G", {"cf_renewal": "2027-03-04"}, MANY_TAGS.split(";"), []),
        ("H", {"cf_renewal": "2027-03-04"}, MANY_TAGS.split(";"), []),
    ]


def test_a_checked_row_crosses_the_pipe_from_the_checking_process_whole():
    # The checking process pickles its rows for the worker; each must arrive equal, every
    # field of it, identities' metadata and errors included.
    row = CheckedRow(
        7,
        1234,
        "Ada",
        {"cf_email": "ada@example.com"},
        [("whatsapp", IdentityInput("whatsapp", "+14155550123", {"profileName": "A"}))],
        ["vip"],
        [RowError(7, "renewal", "invalid_value", "Not a date.", "2027-02-30")],
        empty=False,
    )
    copy = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 (our own)
    assert copy == row
    assert copy.identities[0][1].metadata == {"profileName": "A"}
    assert [copy.failed, copy.identity_keys()] == [True, ["i:whatsapp:+14155550123"]]
