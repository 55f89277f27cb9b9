"""The columns of an export file, in the import's vocabulary (contract §10).

The header is `id,name,email,phone,<the channels>,tags,<the contact custom fields by
name>,archived,createdAt,updatedAt`: every name the importer recognises keeps its
meaning, so a file exported here imports back (contacts/importing/columns.py reads
the same names), and the four bookkeeping columns are ones the importer ignores.
"""

from dataclasses import dataclass

from contacts.importing.columns import RECOGNISED_COLUMNS, Kind
from customfields.types import PREDEFINED_CONTACT_FIELDS
from flownally_admin.errors import ValidationFailed

# (header, channel) of each identity column, in the import's order.
IDENTITY_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, target.key) for name, target in RECOGNISED_COLUMNS if target.kind is Kind.IDENTITY
)
_FIELD_COLUMNS = {
    target.key: name for name, target in RECOGNISED_COLUMNS if target.kind is Kind.FIELD
}  # the predefined fields' columns: {"cf_email": "email", "cf_phone": "phone"}
_TRAILING = ("archived", "createdAt", "updatedAt")


@dataclass(frozen=True)
class ExportColumn:
    """One column: its header and what fills it. `key` is what an export stores: the
    header for the fixed columns, the definition id for a custom field (whose header is
    its name at the time the file is written)."""

    header: str
    kind: str  # "id", "name", "field", "identity", "tags", "archived", "createdAt", "updatedAt"
    key: str = ""  # the definition id ("field") or the channel ("identity")

    @property
    def stored_key(self) -> str:
        return self.key if self.kind == "field" else self.header


def export_columns_all(definitions) -> list[ExportColumn]:
    """Every column, in the contract's order. `definitions`: the live contact-field
    definitions in display order (by name)."""
    columns = [ExportColumn("id", "id"), ExportColumn("name", "name")]
    columns += [ExportColumn(name, "field", key) for key, name in _FIELD_COLUMNS.items()]
    columns += [ExportColumn(name, "identity", channel) for name, channel in IDENTITY_COLUMNS]
    columns.append(ExportColumn("tags", "tags"))
    columns += [
        ExportColumn(d.name, "field", d.public_id)
        for d in definitions
        if d.public_id not in PREDEFINED_CONTACT_FIELDS
    ]
    columns += [ExportColumn(name, name) for name in _TRAILING]
    return columns


def export_columns_pick(definitions, names: list[str] | None) -> list[ExportColumn]:
    """The columns `names` asks for, in its order (all of them when None); a name that is
    no column, or a repeated one, is a violation on `columns`."""
    every = export_columns_all(definitions)
    if names is None:
        return every
    by_header = {column.header: column for column in every}
    problems = []
    if not names:
        problems.append(("columns", "invalid", "columns names at least one column."))
    unknown = [name for name in names if name not in by_header]
    if unknown:
        shown = ", ".join(f"'{name[:64]}'" for name in unknown[:5])
        problems.append(("columns", "invalid_choice", f"No such column: {shown}."))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        shown = ", ".join(f"'{name[:64]}'" for name in repeated[:5])
        problems.append(("columns", "invalid", f"Columns named more than once: {shown}."))
    if problems:
        raise ValidationFailed.from_tuples(problems)
    return [by_header[name] for name in names]


def export_columns_load(definitions, stored_keys: list[str]) -> list[ExportColumn]:
    """An export's stored columns, against the definitions as they are now: a field
    renamed since is headed by its new name; one deleted since is left out (its values
    are invisible everywhere from the moment it is deleted)."""
    every = export_columns_all(definitions)
    by_key = {column.stored_key: column for column in every}
    if not stored_keys:
        return every
    return [by_key[key] for key in stored_keys if key in by_key]
