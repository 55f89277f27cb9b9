"""Formula safety of CSV cells, one rule for what we write and what we read back.

A spreadsheet runs a cell that starts with `=`, `-`, `@`, a tab, a carriage return, or
`+` as a formula. Such a cell is written with a `'` in front, except a `+` followed by
digits only (an E.164 number stays as it is); the importer removes exactly that `'`.
"""

import re

_FORMULA_FIRST = frozenset("=-@+\t\r")
_E164 = re.compile(r"\+[0-9]+")


def _is_formula(cell: str) -> bool:
    return bool(cell) and cell[0] in _FORMULA_FIRST and not _E164.fullmatch(cell)


def formula_escape(cell: str) -> str:
    """The cell as written to a CSV file."""
    return "'" + cell if _is_formula(cell) else cell


def formula_unescape(cell: str) -> str:
    """The cell `formula_escape` was given, for a cell it wrote; any other cell as it is."""
    return cell[1:] if cell[:1] == "'" and _is_formula(cell[1:]) else cell
