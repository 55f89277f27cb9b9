"""One CSV row → one checked contact, by the same rules as the API (contacts/validation.py).

Pure: no queries. Every bad cell becomes its own RowError, and a row with any
bad cell is not imported at all.
"""

from dataclasses import dataclass, field

from customfields.types import InvalidValue, value_normalize
from flownally_admin.errors import ValidationFailed
from tags.services import tag_name_normalize

from ..validation import ContactRules, IdentityInput, normalize_external_id, normalize_name
from .columns import ColumnMap, Kind
from .reader import RawRow

ERROR_VALUE_LENGTH = 200
TAG_SEPARATORS = (";", "|")
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


def check_row(raw: RawRow, columns: ColumnMap, rules: ContactRules) -> CheckedRow:
    row = CheckedRow(number=raw.number, end_offset=raw.end_offset)
    if raw.cells is None:
        row.errors.append(RowError(raw.number, "", "malformed_row", raw.error or "Malformed row."))
        return row
    seen_identities = set()
    for column, target, cell in zip(columns.header, columns.targets, raw.cells, strict=True):
        if target is None or not cell.strip():
            continue
        try:
            if target.kind is Kind.NAME:
                row.name = normalize_name(cell)
            elif target.kind is Kind.FIELD:
                definition = rules.definitions[target.key]
                row.values[target.key] = value_normalize(target.key, definition.type, cell)
            elif target.kind is Kind.IDENTITY:
                identity = IdentityInput(target.key, normalize_external_id(target.key, cell))
                if identity.key not in seen_identities:
                    seen_identities.add(identity.key)
                    row.identities.append((column, identity))
            else:
                row.tag_names.extend(_tag_names(cell))
        except InvalidValue as exc:
            code = _IMPORT_CODES.get(exc.code, exc.code)
            row.errors.append(RowError(raw.number, column, code, exc.message, _shown(cell)))
        except ValidationFailed as exc:
            violation = exc.violations[0]
            code = "too_long" if violation.code == "too_long" else "invalid_value"
            row.errors.append(RowError(raw.number, column, code, violation.message, _shown(cell)))
    if not row.errors and not (row.name or row.values or row.identities):
        row.empty = True
        row.errors.append(
            RowError(raw.number, "", "empty_row", "The row has no name, identity or field value.")
        )
    return row


def _tag_names(cell: str) -> list[str]:
    parts = [cell]
    for separator in TAG_SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [tag_name_normalize(part) for part in parts if part.strip()]


def _shown(cell: str) -> str:
    return cell[:ERROR_VALUE_LENGTH]
