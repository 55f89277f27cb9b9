"""Formula safety of CSV cells: one rule for the export that writes them and the import that
reads them back (contract §10).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, tab or CR) as
a formula, so an exported cell that starts so is written with a `'` in front. A phone number
in E.164 (`+` and digits only) is left as it is: a spreadsheet reads it as a number, runs
nothing, and the number is what a user expects to see and to import elsewhere.

The rule reaches one step further than the contract's words so that the round trip holds
for every cell: a cell that already starts with `'`s in front of such a start (a user's own
`'=1`) gets one more, else the import could not tell it from an escaped `=1`. So
`formula_unescape(formula_escape(x)) == x` for every string, and a cell the export would
not have escaped (`'quoted'`, `'+14155550123`) is read exactly as written.

Both run on every cell of files of a million rows: the first character decides almost
every cell, and nothing else is looked at unless it could be a trigger.
"""

# The characters a cell can start with and need a look past the first one: the triggers,
# `+` (a trigger unless digits follow), and `'` (a trigger may follow it).
_MAYBE = frozenset("=-@\t\r+'")
_TRIGGERS = frozenset("=-@\t\r")


def _escaped(cell: str) -> bool:
    """Whether `formula_escape` prefixes `cell`; its first character is in `_MAYBE`."""
    rest = cell.lstrip("'")
    if not rest:
        return False
    first = rest[0]
    if first in _TRIGGERS:
        return True
    if first != "+":
        return False
    digits = rest[1:]
    # ASCII digits only: str.isdigit also accepts "²" and other scripts' digits.
    return not (digits.isdigit() and digits.isascii())


def formula_escape(cell: str) -> str:
    """`cell` as an export writes it: with a `'` in front if a spreadsheet could run it."""
    if not cell or cell[0] not in _MAYBE:
        return cell
    return "'" + cell if _escaped(cell) else cell


def formula_unescape(cell: str) -> str:
    """`cell` as it was before `formula_escape`: without the `'` that the export added, and
    untouched if it does not start with one that the export would have added."""
    if not cell or cell[0] != "'":
        return cell
    rest = cell[1:]
    return rest if rest and rest[0] in _MAYBE and _escaped(rest) else cell
