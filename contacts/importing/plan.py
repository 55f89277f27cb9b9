"""A batch of checked rows → what to create, what to update, and what to report.

Matching follows the contract: a row's identities first, then its e-mail, then
its phone. `known` maps each such key to the contact that holds it — from the
database, from earlier batches (real rows, or a dry run's recorded keys) and,
as the batch is planned, from its own earlier rows, so the same person twice
in one file merges (upsert) or is a `duplicate_in_file` (create).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from events.services import PreparedEvents
from flownally_admin.ids import new_ids

from ..models import ImportMode
from ..validation import IdentityInput
from .rows import CheckedRow, RowError


@dataclass
class ContactRef:
    id: str
    created_here: bool  # created by this import (a later match is a duplicate_in_file)


@dataclass
class ContactChange:
    """A contact to create, or what to merge into an existing one.

    An update keeps the rows merged into it (`rows`), in file order: whether each one
    changes the contact is only known against its stored state, in the batch's
    transaction (`writers`).
    """

    id: str
    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    identities: list[IdentityInput] = field(default_factory=list)
    # An ordered set (keys only): the first spelling of a new tag in the file names it,
    # whatever the hash seed (the order of a set would pick one at random).
    tag_names: dict[str, None] = field(default_factory=dict)
    rows: list[CheckedRow] = field(default_factory=list)

    @classmethod
    def of(cls, contact_id: str, row: CheckedRow) -> "ContactChange":
        """A contact to create from its first row: what `merge` into an empty one gives, cheaper."""
        return cls(
            contact_id,
            row.name,
            dict(row.values),
            [identity for _, identity in row.identities],
            dict.fromkeys(row.tag_names),
        )

    def merge(self, row: CheckedRow) -> None:
        """A later row wins for the name and values it has; identities and tags add up."""
        if row.name:
            self.name = row.name
        self.values.update(row.values)
        have = {i.key for i in self.identities}
        self.identities += [i for _, i in row.identities if i.key not in have]
        self.tag_names.update(dict.fromkeys(row.tag_names))

    def changed_by(self, row: CheckedRow) -> bool:
        """Whether merging `row` would change this contact to create."""
        return _changes(
            row,
            name=self.name,
            values=self.values,
            identities={i.key for i in self.identities},
            tag_keys={n.lower() for n in self.tag_names},
        )


def _changes(
    row: CheckedRow, *, name: str, values: dict, identities: set, tag_keys: set[str]
) -> bool:
    """Whether `row` changes a contact of this name, custom-field values, identity keys and
    tag names (lower-cased): an import's row that changes nothing writes nothing (§10)."""
    return bool(
        (row.name and row.name != name)
        or any(values.get(key) != value for key, value in row.values.items())
        or any(identity.key not in identities for _, identity in row.identities)
        or any(tag.lower() not in tag_keys for tag in row.tag_names)
    )


def rows_unchanged(
    change: ContactChange,
    *,
    name: str,
    values: dict,
    identities: set,
    tag_keys: set[str],
    adds_tags: bool,
) -> int:
    """How many of an update's rows change nothing, each against the contact as the rows
    before it left it: the stored contact's name, values, identity keys and tag names
    (lower-cased). `adds_tags`: the import's own tags are not all on it yet, which the
    first row adds whatever it holds."""
    values, identities, tag_keys = dict(values), set(identities), set(tag_keys)
    unchanged = 0
    for row in change.rows:
        if not adds_tags and not _changes(
            row, name=name, values=values, identities=identities, tag_keys=tag_keys
        ):
            unchanged += 1
            continue
        adds_tags = False
        name = row.name or name
        values.update(row.values)
        identities.update(identity.key for _, identity in row.identities)
        tag_keys.update(tag.lower() for tag in row.tag_names)
    return unchanged


@dataclass
class BatchPlan:
    creates: dict[str, ContactChange] = field(default_factory=dict)
    updates: dict[str, ContactChange] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    new_keys: dict[str, ContactRef] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    # The created contacts' events, prepared before the batch's transaction (services).
    created_events: PreparedEvents | None = None


def plan_batch(rows: list[CheckedRow], *, mode: str, known: dict[str, ContactRef]) -> BatchPlan:
    """Decide every row of the batch; `known` is extended with the keys the batch claims."""
    plan = BatchPlan()
    new_contact_ids = iter(new_ids("ctc", len(rows)))  # as many as the batch could create
    for row in rows:
        plan.errors += row.errors
        if row.empty:
            plan.skipped += 1
        elif row.failed:
            plan.failed += 1
        else:
            _plan_row(row, mode, known, plan, new_contact_ids)
    return plan


def _first_known(keys: list[str], known: dict[str, ContactRef]) -> ContactRef | None:
    for key in keys:
        if key in known:
            return known[key]
    return None


def _refusal(
    row: CheckedRow, identity_keys: list[str], match: ContactRef, mode: str, known: dict
) -> RowError | None:
    """Why a row that matched `match` is not imported: one of its identities belongs to
    another contact, or the mode only creates."""
    for (column, identity), key in zip(row.identities, identity_keys, strict=True):
        if key in known and known[key].id != match.id:
            return RowError(
                row.number,
                column,
                "identity_conflict",
                f"{identity.external_id} already belongs to contact {known[key].id}.",
                identity.external_id,
            )
    if mode == ImportMode.CREATE:
        code, why = (
            ("duplicate_in_file", "An earlier row of this file has the same")
            if match.created_here
            else ("duplicate", f"Contact {match.id} has the same")
        )
        return RowError(row.number, "", code, f"{why} identity, e-mail or phone.")
    return None


def _plan_row(
    row: CheckedRow,
    mode: str,
    known: dict[str, ContactRef],
    plan: BatchPlan,
    new_contact_ids: Iterator[str],
) -> None:
    identity_keys, other_keys = row.identity_keys(), row.other_keys()
    match = _first_known(identity_keys + other_keys, known)
    if match is None:  # most rows of a first import: nothing to conflict with
        match = ContactRef(next(new_contact_ids), created_here=True)
        plan.creates[match.id] = ContactChange.of(match.id, row)
        plan.created += 1
    elif error := _refusal(row, identity_keys, match, mode, known):
        plan.errors.append(error)
        plan.failed += 1
        return
    elif match.id in plan.creates:  # an earlier row of the batch creates it
        change = plan.creates[match.id]
        if change.changed_by(row):
            plan.updated += 1
        else:
            plan.skipped += 1
        change.merge(row)
    else:  # counted as an update until the write finds it changes nothing
        change = plan.updates.setdefault(match.id, ContactChange(match.id))
        change.rows.append(row)
        plan.updated += 1
        change.merge(row)
    for key in identity_keys:
        known[key] = plan.new_keys[key] = match
    for key in other_keys:  # e-mail and phone are not unique: the first holder keeps them
        if key not in known:
            known[key] = plan.new_keys[key] = match
