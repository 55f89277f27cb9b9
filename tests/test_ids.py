"""Prefixed ULIDs, one at a time and in bulk."""

import pytest
from ulid import ULID

from flownally_admin.ids import is_valid_id, new_id, new_ids


def test_bulk_ids_are_distinct_ulids_in_ascending_order():
    ids = new_ids("ctc", 5000)
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    for value in ids[:50] + ids[-50:]:
        assert is_valid_id(value, "ctc")
        body = value.removeprefix("ctc_")
        assert str(ULID.from_str(body)) == body  # the library reads back what we spelt


def test_bulk_ids_count_up_by_one_from_a_ulid_of_now():
    first, second = new_ids("idt", 2)
    a, b = (ULID.from_str(v.removeprefix("idt_")) for v in (first, second))
    assert int(b) == int(a) + 1
    single = ULID.from_str(new_id("idt").removeprefix("idt_"))
    assert abs(a.timestamp - single.timestamp) < 1


def test_no_ids_asked_none_given():
    assert new_ids("ctc", 0) == []


# The lowest twenty bits are spelt per id and the rest once per run: a run that crosses
# 2**20 or 2**40, and one that ends at the top of the 80-bit range, must still count up.
@pytest.mark.parametrize("start", [2**20 - 3, 2**40 - 2, 2**80 - 1 - 6])
def test_bulk_ids_carry_into_the_spelling_of_their_upper_bits(monkeypatch, start):
    monkeypatch.setattr("flownally_admin.ids.secrets.randbelow", lambda _bound: start)
    ids = new_ids("evt", 6)
    bodies = [int(ULID.from_str(value.removeprefix("evt_"))) & (2**80 - 1) for value in ids]
    assert bodies == list(range(start, start + 6))
