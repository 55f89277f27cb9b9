"""One CSV row → one checked contact, by the same rules as the API (contacts/validation.py).

Pure: no queries. Every bad cell becomes its own RowError, and a row with any
bad cell is not imported at all.
"""

from dataclasses import dataclass, field
from functools import partial

from customfields.types import PREDEFINED_CONTACT_FIELDS, InvalidValue, value_normalizer
from flownally_admin.errors import ValidationFailed
from tags.services import tag_name_normalize

from ..csvcells import formula_unescape
from ..validation import (
    MAX_IDENTITIES,
    ContactRules,
    IdentityInput,
    normalize_external_id,
    normalize_name,
)
from .columns import ColumnMap, Kind, Target
from .reader import RawRow

ERROR_VALUE_LENGTH = 200
TAG_SEPARATORS = (";", "|")
# Several identities of one channel in one cell, as the export writes them (§10).
IDENTITY_SEPARATOR = ";"
# InvalidValue codes that the import reports under another ImportError code.
_IMPORT_CODES = {"required": "invalid_value"}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # "" for the whole row
    code: str
    message: str
    value: str = ""


@dataclass
class CheckedRow:
    number: int
    end_offset: int
    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    identities: list[tuple[str, IdentityInput]] = field(default_factory=list)  # (column, identity)
    tag_names: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    empty: bool = False

    def __reduce__(self):
        # Pickled by the checking process and unpickled by the worker, a million of them
        # for a million rows: as their fields, half the cost of pickle's default for a
        # dataclass (the class and a dict of its attributes, set one by one).
        return (
            CheckedRow,
            (
                self.number,
                self.end_offset,
                self.name,
                self.values,
                self.identities,
                self.tag_names,
                self.errors,
                self.empty,
            ),
        )

    @property
    def failed(self) -> bool:
        return bool(self.errors) and not self.empty

    def identity_keys(self) -> list[str]:
        return [f"i:{i.channel}:{i.external_id}" for _, i in self.identities]

    def other_keys(self) -> list[str]:
        """E-mail, then phone: matched after identities, in the contract's order."""
        keys = []
        if "cf_email" in self.values:
            keys.append(f"e:{self.values['cf_email']}")
        if "cf_phone" in self.values:
            keys.append(f"p:{self.values['cf_phone']}")
        return keys


class RowChecker:
    """Checks the rows of one file, cell by cell.

    What each column means, and the function that normalises its cells, is worked out
    once for the file rather than for every cell: a file of a million rows has millions
    of cells. Cells of custom fields other than e-mail and phone, and of tags, repeat
    (a plan, a renewal date, a few tag names), and are remembered per column when short
    (normalising is pure): at most MEMO_SIZE cells of MEMO_CELL_CHARS, so that even 200
    such columns hold a few tens of MB at most.
    """

    MEMO_SIZE = 512
    MEMO_CELL_CHARS = 64

    def __init__(self, columns: ColumnMap, rules: ContactRules):
        self._cells = [
            (index, column, *self._reader(target, rules))
            for index, (column, target) in enumerate(
                zip(columns.header, columns.targets, strict=True)
            )
            if target is not None
        ]
        self._width = len(columns.header)

    def _reader(self, target: Target, rules: ContactRules):
        """(kind, key, normalize, memo) for a column."""
        if target.kind is Kind.NAME:
            return Kind.NAME, "", normalize_name, None
        if target.kind is Kind.IDENTITY:
            return Kind.IDENTITY, target.key, partial(normalize_external_id, target.key), None
        if target.kind is Kind.TAGS:
            return Kind.TAGS, "", _tag_names, {}
        definition = rules.definitions[target.key]
        normalize = value_normalizer(target.key, definition.type)
        memo = None if target.key in PREDEFINED_CONTACT_FIELDS else {}  # e-mails, phones: unique
        return Kind.FIELD, target.key, normalize, memo

    def __call__(self, raw: RawRow) -> CheckedRow:
        row = CheckedRow(number=raw.number, end_offset=raw.end_offset)
        if raw.cells is None:
            row.errors.append(
                RowError(raw.number, "", "malformed_row", raw.error or "Malformed row.")
            )
            return row
        if len(raw.cells) != self._width:
            raise ValueError(f"Row {raw.number} has {len(raw.cells)} cells, not {self._width}.")
        seen_identities = set()
        for index, column, kind, key, normalize, memo in self._cells:
            cell = raw.cells[index]
            if cell[:1] == "'":  # the export's formula-safety prefix (§10), if it is one
                cell = formula_unescape(cell)
            if not cell.strip():
                continue
            if kind is Kind.IDENTITY:
                self._identities(row, column, key, cell, normalize, seen_identities)
                continue
            try:
                if memo is None or len(cell) > self.MEMO_CELL_CHARS:
                    value = normalize(cell)
                elif (value := memo.get(cell)) is None:
                    value = normalize(cell)
                    if len(memo) >= self.MEMO_SIZE:
                        memo.clear()
                    memo[cell] = value
                if kind is Kind.FIELD:
                    row.values[key] = value
                elif kind is Kind.NAME:
                    row.name = value
                else:
                    row.tag_names.extend(value)
            except InvalidValue as exc:
                code = _IMPORT_CODES.get(exc.code, exc.code)
                row.errors.append(RowError(raw.number, column, code, exc.message, _shown(cell)))
            except ValidationFailed as exc:
                violation = exc.violations[0]
                code = "too_long" if violation.code == "too_long" else "invalid_value"
                row.errors.append(
                    RowError(raw.number, column, code, violation.message, _shown(cell))
                )
        if not row.errors and not (row.name or row.values or row.identities):
            row.empty = True
            row.errors.append(
                RowError(
                    raw.number, "", "empty_row", "The row has no name, identity or field value."
                )
            )
        return row

    @staticmethod
    def _identities(row: CheckedRow, column: str, channel: str, cell, normalize, seen) -> None:
        """The identities of a channel's cell: one, or several joined by `;` (an export's).

        Blank parts are skipped. The first bad part is the column's error (one error per
        cell, as for any column), and a row may list at most MAX_IDENTITIES identities, as
        a request may.
        """
        parts = cell.split(IDENTITY_SEPARATOR) if IDENTITY_SEPARATOR in cell else (cell,)
        for part in parts:
            if not part.strip():
                continue
            try:
                identity = IdentityInput(channel, normalize(part))
            except InvalidValue as exc:
                code = _IMPORT_CODES.get(exc.code, exc.code)
                row.errors.append(RowError(row.number, column, code, exc.message, _shown(part)))
                return
            if identity.key in seen:
                continue
            if len(seen) >= MAX_IDENTITIES:
                row.errors.append(
                    RowError(
                        row.number,
                        column,
                        "invalid_value",
                        f"A contact has at most {MAX_IDENTITIES} identities.",
                        _shown(cell),
                    )
                )
                return
            seen.add(identity.key)
            row.identities.append((column, identity))


def _tag_names(cell: str) -> tuple[str, ...]:
    parts = [cell]
    for separator in TAG_SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    return tuple(tag_name_normalize(part) for part in parts if part.strip())


def _shown(cell: str) -> str:
    return cell[:ERROR_VALUE_LENGTH]
