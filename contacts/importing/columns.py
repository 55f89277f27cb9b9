"""What each column of an import means, from its header cell.

Header matching ignores case, spaces, `_` and `-` (`normalize_header`). The
recognised names come first; then custom fields by definition name or id;
anything else is ignored and reported as such.
"""

from dataclasses import dataclass
from enum import Enum

from contacts.models import Channel

from ..csvcells import formula_unescape
from .sniff import EXPORT_OWN_COLUMNS, InvalidCsv, normalize_header


class Kind(Enum):
    NAME = "name"
    FIELD = "field"  # a custom field value; key = definition id
    IDENTITY = "identity"  # key = channel
    TAGS = "tags"


@dataclass(frozen=True)
class Target:
    kind: Kind
    key: str = ""


# The columns every tenant's files may have, by the header name the contract gives them
# (§4); the admin's start page lists them from here.
RECOGNISED_COLUMNS: tuple[tuple[str, Target], ...] = (
    ("name", Target(Kind.NAME)),
    ("email", Target(Kind.FIELD, "cf_email")),
    ("phone", Target(Kind.FIELD, "cf_phone")),
    ("whatsapp", Target(Kind.IDENTITY, Channel.WHATSAPP)),
    ("sms", Target(Kind.IDENTITY, Channel.SMS)),
    ("email_identity", Target(Kind.IDENTITY, Channel.EMAIL)),
    ("messenger", Target(Kind.IDENTITY, Channel.MESSENGER)),
    ("instagram", Target(Kind.IDENTITY, Channel.INSTAGRAM)),
    ("livechat", Target(Kind.IDENTITY, Channel.LIVECHAT)),
    ("tags", Target(Kind.TAGS)),
)
_RECOGNISED = {normalize_header(name): target for name, target in RECOGNISED_COLUMNS}


@dataclass(frozen=True)
class ColumnMap:
    header: tuple[str, ...]
    targets: tuple[Target | None, ...]  # one per header cell; None = ignored

    @property
    def ignored(self) -> list[str]:
        return [name for name, target in zip(self.header, self.targets, strict=True) if not target]


def map_columns(header: list[str], definitions) -> ColumnMap:
    """Map each header cell; two cells meaning the same thing is an InvalidCsv.

    `definitions`: the tenant's live contact-field definitions.
    """
    by_name = {}
    for definition in definitions:
        by_name.setdefault(normalize_header(definition.name), definition.public_id)
        by_name.setdefault(normalize_header(definition.public_id), definition.public_id)
    targets, seen = [], {}
    export_own = _export_own_cells(header)
    for index, cell in enumerate(header):
        # An export escapes a custom field's name as any cell ("-Score" as "'-Score").
        normalized = normalize_header(formula_unescape(cell))
        if index in export_own:
            targets.append(None)
            continue
        target = _RECOGNISED.get(normalized)
        if target is None and normalized in by_name:
            target = Target(Kind.FIELD, by_name[normalized])
        if target is not None:
            if target in seen:
                raise InvalidCsv(f"Columns '{seen[target]}' and '{cell}' both set the same thing.")
            seen[target] = cell
        targets.append(target)
    return ColumnMap(header=tuple(header), targets=tuple(targets))


def _export_own_cells(header: list[str]) -> set[int]:
    """The positions of the export's own columns (`id`, `archived`, `createdAt`,
    `updatedAt`: ignored) where the header names one twice, as an export does for a tenant
    with a custom field of that name; the other cell of the name is the custom field's.
    The export writes `id` before the custom fields and the other three after them (§10).
    A name written once is a custom field's if the tenant has one, else ignored: files made
    for such a field keep importing into it.
    """
    positions: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        normalized = normalize_header(cell)
        if normalized in EXPORT_OWN_COLUMNS:
            positions.setdefault(normalized, []).append(index)
    return {
        found[0] if name == "id" else found[-1]
        for name, found in positions.items()
        if len(found) > 1
    }
