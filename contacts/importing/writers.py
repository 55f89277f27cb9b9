"""Applying a batch plan: what the lookups found, what the plan says, written set-wise.

`known_keys` reads which contacts hold a batch's keys (three queries whatever
the batch size). `batch_rows` turns the plan's new contacts into table rows and
`write_batch` writes them with the merges, tag links, errors and (dry runs) keys
and drafts of the batch, inside the batch's transaction: on PostgreSQL with COPY into the
tables or into temporary staging tables merged by one statement each; elsewhere
with the ORM's bulk operations.
"""

import dataclasses
from collections import defaultdict
from dataclasses import dataclass

import orjson
from django.db import IntegrityError, connection
from django.utils import timezone
from psycopg import Copy
from psycopg.copy import Writer
from psycopg.types.json import set_json_dumps

from flownally_admin.ids import new_ids
from tags.services import tags_ensure, tags_hold

from ..models import (
    Contact,
    ContactImport,
    ContactImportDraft,
    ContactImportError,
    ContactImportKey,
    ContactTag,
    Identity,
)
from ..selectors import contact_search_text
from ..services import contact_count_add
from .plan import BatchPlan, ContactRef, rows_unchanged
from .rows import CheckedRow


def known_keys(imp: ContactImport, rows: list[CheckedRow]) -> dict[str, ContactRef]:
    """Which contacts hold the identities, e-mails and phones of these rows."""
    identities = {i.key for row in rows for _, i in row.identities}
    emails = {row.values["cf_email"] for row in rows if "cf_email" in row.values}
    phones = {row.values["cf_phone"] for row in rows if "cf_phone" in row.values}
    known: dict[str, ContactRef] = {}
    if imp.dry_run:
        keys = {k for row in rows for k in row.identity_keys() + row.other_keys()}
        for key, ref, created_here in ContactImportKey.objects.filter(
            contact_import=imp, key__in=keys
        ).values_list("key", "contact_ref", "created_here"):
            known[key] = ContactRef(ref, created_here)
    if identities:
        for channel, external_id, contact_id, source in _identity_holders(imp, identities):
            known.setdefault(f"i:{channel}:{external_id}", ContactRef(contact_id, source == imp.pk))
    for prefix, field, wanted in [("e", "cf_email", emails), ("p", "cf_phone", phones)]:
        if wanted:
            for value, contact_id, source in _holders(imp.tenant_id, field, list(wanted)):
                known.setdefault(f"{prefix}:{value}", ContactRef(contact_id, source == imp.pk))
    return known


# On PostgreSQL the batch's keys travel as one JSON array parameter (the cheapest to build
# and send: `IN (…)` lists and array parameters cost the worker more CPU than PostgreSQL
# spent answering), and each key is looked up in the index by a LATERAL subquery.
#
# The plans must not depend on statistics: a tenant that an import is filling has them from
# when it was empty, and the plain join was planned as a hash of every contact of the
# tenant instead of index probes (bench/README.md). OFFSET 0 keeps the subquery from being
# flattened into a join and the outer WHERE from being pushed into it; inside it, the only
# indexes that fit are the matching ones (`contact_by_email` / `contact_by_phone`,
# `uniq_live_identity`), as the partial list indexes need `deleted_at IS NULL`, which is
# applied outside.


def _identity_holders(imp: ContactImport, identities: set[tuple[str, str]]):
    """(channel, external id, contact id, source import) of live identities among these."""
    if connection.vendor != "postgresql":
        held = Identity.objects.filter(
            tenant_id=imp.tenant_id,
            active=True,
            channel__in={channel for channel, _ in identities},
            external_id__in={external_id for _, external_id in identities},
        ).values_list("channel", "external_id", "contact_id", "contact__source_import_id")
        return [row for row in held if (row[0], row[1]) in identities]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.channel, h.external_id, h.contact_id, h.source_import_id "
            "FROM jsonb_array_elements(%s::jsonb) AS k(pair) CROSS JOIN LATERAL ("
            " SELECT i.channel, i.external_id, i.contact_id, c.source_import_id"
            " FROM contacts_identity i JOIN contacts_contact c ON c.id = i.contact_id"
            " WHERE i.tenant_id = %s AND i.active"
            " AND i.channel = k.pair ->> 0 AND i.external_id = k.pair ->> 1"
            " OFFSET 0) AS h",
            [_json_text(list(identities)), imp.tenant_id],
        )
        return cursor.fetchall()


def _holders(tenant_id: str, field: str, values: list[str]):
    """(value, contact id, source import) of live contacts holding these e-mails or phones,
    oldest first (served by the `contact_by_email` / `contact_by_phone` indexes)."""
    if connection.vendor != "postgresql":
        return (
            Contact.objects.filter(
                tenant_id=tenant_id,
                deleted_at__isnull=True,
                **{f"custom_fields__{field}__in": values},
            )
            .order_by("created_at", "id")
            .values_list(f"custom_fields__{field}", "id", "source_import_id")
        )
    with connection.cursor() as cursor:
        cursor.execute(HOLDERS_SQL, [_json_text(values), tenant_id, field])
        return cursor.fetchall()


HOLDERS_SQL = (
    "SELECT k.value, c.id, c.source_import_id "
    "FROM jsonb_array_elements_text(%s::jsonb) AS k(value) CROSS JOIN LATERAL ("
    " SELECT id, source_import_id, created_at, deleted_at FROM contacts_contact"
    " WHERE tenant_id = %s AND custom_fields ->> %s = k.value"
    " OFFSET 0) AS c "
    "WHERE c.deleted_at IS NULL ORDER BY c.created_at, c.id"
)


def _json_text(value) -> str:
    """JSON for a query parameter, by orjson (much faster than json.dumps)."""
    return orjson.dumps(value).decode()


@dataclass
class BatchRows:
    """The batch as plain table rows, ready for COPY or bulk_create."""

    contacts: list[tuple]
    updates: list[tuple]  # (id, name, custom_fields, search_text), added in the transaction
    identities: list[tuple]
    links: list[tuple]  # (contact_id, tag_id) of new contacts
    merged_links: list[tuple]  # (contact_id, tag_id) of existing ones, some already there
    errors: list[tuple]
    keys: list[tuple]
    tag_ids: dict[str, str]  # by lower-cased name, for the updates' links
    # Dry runs: (import id, contact id, state) of what the batch makes of its contacts.
    drafts: list[tuple] = dataclasses.field(default_factory=list)
    merged_identities: list[tuple] = dataclasses.field(default_factory=list)  # added to updates
    # PostgreSQL: the new contacts, their identities and tag links as COPY data, encoded
    # by `batch_rows` (see `_Encoded`).
    encoded: "_Encoded | None" = None


def batch_rows(imp: ContactImport, plan: BatchPlan) -> BatchRows:
    """The rows of the batch's new contacts, errors and (dry runs) keys.

    Reads no contact, so it can run before the batch's transaction, while the one
    before it is still being written; the merges into existing contacts need their
    current state and are prepared in the transaction (`write_batch`). Tags named in
    the file that do not exist yet are created here, each in its own statement: a
    rolled-back batch leaves them behind, ready for when it is retried.
    """
    now = timezone.now()
    errors = [(imp.pk, e.row, e.column, e.code, e.message[:500], e.value) for e in plan.errors]
    if imp.dry_run:
        keys = [(imp.pk, key, ref.id, ref.created_here) for key, ref in plan.new_keys.items()]
        return BatchRows([], [], [], [], [], errors, keys, {})
    tag_ids = tags_ensure(
        tenant=imp.tenant,
        names=[n for c in (*plan.creates.values(), *plan.updates.values()) for n in c.tag_names],
        created_by=imp.created_by,
    )
    contacts, held_by, links = [], [], []
    for change in plan.creates.values():
        search_text = contact_search_text(
            name=change.name, custom_fields=change.values, identities=change.identities
        )
        contacts.append(
            (
                change.id,
                imp.tenant_id,
                change.name,
                change.values,
                search_text,
                imp.created_by,
                now,
                now,
                False,
                imp.pk,
            )
        )
        held_by += [(change.id, identity) for identity in change.identities]
        links += [(change.id, t) for t in _contact_tags(imp, change, tag_ids)]
    identities = _identity_rows(imp, held_by, now)
    rows = BatchRows(contacts, [], identities, links, [], errors, [], tag_ids)
    if connection.vendor == "postgresql":
        rows.encoded = _Encoded.of(imp, rows, now)
    return rows


class TagDeleted(IntegrityError):
    """A tag the batch links to was deleted after it was looked up: the batch is written
    again from its checkpoint, which creates a tag named in the file anew."""


def write_batch(imp: ContactImport, plan: BatchPlan, rows: BatchRows) -> None:
    """Write the batch; inside its transaction, which also holds its checkpoint."""
    if imp.dry_run:
        _plan_dry_updates(imp, plan, rows)
    elif plan.updates:
        _add_updates(imp, plan, rows)
    linked = {tag_id for _, tag_id in rows.links + rows.merged_links}
    gone = linked - tags_hold(tag_ids=linked)
    if gone:
        raise TagDeleted(f"Tags {sorted(gone)} were deleted while the batch was planned.")
    if connection.vendor == "postgresql":
        _write_postgres(imp, rows)
    else:
        _write_orm(imp, rows)
    if not imp.dry_run:
        contact_count_add(tenant=imp.tenant, archived=False, delta=len(rows.contacts))


@dataclass
class _Stored:
    """What a row is compared with to know whether it changes its contact."""

    name: str
    values: dict
    identities: set[tuple[str, str]]
    tag_ids: set[str]
    tag_keys: set[str]  # lower-cased tag names

    def as_draft(self) -> dict:
        return {
            "name": self.name,
            "values": self.values,
            "identities": sorted(self.identities),
            "tagIds": sorted(self.tag_ids),
            "tagKeys": sorted(self.tag_keys),
        }

    @classmethod
    def from_draft(cls, state: dict) -> "_Stored":
        return cls(
            state["name"],
            state["values"],
            {tuple(i) for i in state["identities"]},
            set(state["tagIds"]),
            set(state["tagKeys"]),
        )

    def merged(self, change, tag_ids) -> "_Stored":
        return _Stored(
            change.name or self.name,
            {**self.values, **change.values},
            self.identities | {i.key for i in change.identities},
            self.tag_ids | set(tag_ids),
            self.tag_keys | {n.lower() for n in change.tag_names},
        )


def _current(ids: list[str], *, lock: bool):
    """The stored state of these contacts: the contacts by id, their live identities by
    contact id, and each one's `_Stored`. `lock`: until COMMIT, in id order, as a merge
    locks its contacts (the two cannot deadlock)."""
    contacts = Contact.objects.filter(pk__in=ids).order_by("pk")
    if lock:
        contacts = contacts.select_for_update()
    current = {c.pk: c for c in contacts}
    held = defaultdict(list)
    for identity in Identity.objects.filter(contact_id__in=ids, active=True):
        held[identity.contact_id].append(identity)
    tagged = defaultdict(list)
    for contact_id, tag_id, name in ContactTag.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "tag_id", "tag__name"
    ):
        tagged[contact_id].append((tag_id, name.lower()))
    stored = {
        pk: _Stored(
            contact.name,
            contact.custom_fields,
            {(i.channel, i.external_id) for i in held[pk]},
            {tag_id for tag_id, _ in tagged[pk]},
            {key for _, key in tagged[pk]},
        )
        for pk, contact in current.items()
    }
    return current, held, stored


def _drop_unchanged(imp: ContactImport, plan: BatchPlan, stored: dict[str, _Stored]) -> None:
    """Count the rows that change nothing as skipped, and take the contacts that no row
    changes out of the plan: they are not written, keep their `updatedAt` and get no event."""
    wanted = set(imp.tag_ids)
    for change in list(plan.updates.values()):
        state = stored.get(change.id)
        if state is None:  # a dry run's contact from before drafts were kept: an update
            continue
        unchanged = rows_unchanged(
            change,
            name=state.name,
            values=state.values,
            identities=state.identities,
            tag_keys=state.tag_keys,
            adds_tags=not wanted <= state.tag_ids,
        )
        plan.updated -= unchanged
        plan.skipped += unchanged
        if unchanged == len(change.rows):
            del plan.updates[change.id]


def _plan_dry_updates(imp: ContactImport, plan: BatchPlan, rows: BatchRows) -> None:
    """A dry run's updates counted as a real run counts them, against the contacts as the
    dry run would have left them so far (its drafts, else the stored contacts); and the
    drafts of what this batch would make of them and of the contacts it would create."""
    states: dict[str, _Stored] = {}
    if plan.updates:
        ids = list(plan.updates)
        states = _current(ids, lock=False)[2]
        for ref, state in ContactImportDraft.objects.filter(
            contact_import=imp, contact_ref__in=ids
        ).values_list("contact_ref", "state"):
            states[ref] = _Stored.from_draft(state)
        _drop_unchanged(imp, plan, states)
    new = _Stored("", {}, set(), set(), set())
    rows.drafts = [
        (imp.pk, change.id, states.get(change.id, new).merged(change, imp.tag_ids).as_draft())
        for change in (*plan.creates.values(), *plan.updates.values())
    ]


def _add_updates(imp: ContactImport, plan: BatchPlan, rows: BatchRows) -> None:
    """The merges into existing contacts, from their current state (locked until COMMIT)."""
    now = timezone.now()
    current, held, stored = _current(list(plan.updates), lock=True)
    _drop_unchanged(imp, plan, stored)
    held_by = []
    for change in plan.updates.values():
        contact = current[change.id]
        have = stored[change.id].identities
        added = [i for i in change.identities if i.key not in have]
        name = change.name or contact.name
        values = {**contact.custom_fields, **change.values}
        search_text = contact_search_text(
            name=name, custom_fields=values, identities=[*held[change.id], *added]
        )
        rows.updates.append((change.id, name, values, search_text))
        held_by += [(change.id, identity) for identity in added]
        rows.merged_links += [(change.id, t) for t in _contact_tags(imp, change, rows.tag_ids)]
    rows.merged_identities += _identity_rows(imp, held_by, now)


def _identity_rows(imp: ContactImport, held_by: list[tuple], now) -> list[tuple]:
    """Rows of new identities, from (contact id, IdentityInput) pairs."""
    ids = new_ids("idt", len(held_by))
    return [
        (
            identity_id,
            imp.tenant_id,
            contact_id,
            identity.channel,
            identity.external_id,
            identity.metadata,
            True,
            now,
        )
        for identity_id, (contact_id, identity) in zip(ids, held_by, strict=True)
    ]


def _contact_tags(imp: ContactImport, change, tag_ids: dict[str, str]) -> set[str]:
    return set(imp.tag_ids) | {tag_ids[name.lower()] for name in change.tag_names}


# --- PostgreSQL: COPY ---------------------------------------------------------------------

# Rows are sent in COPY's binary format, which PostgreSQL reads without parsing text
# (timestamps, booleans) and psycopg writes with less CPU too (bench/README.md). The types
# say what each column is.
_CONTACT_COLUMNS = (
    "contacts_contact (id, tenant_id, name, custom_fields, search_text, created_by, "
    "created_at, updated_at, archived, source_import_id)",
    (
        *("varchar", "varchar", "varchar", "jsonb", "text", "varchar"),
        *("timestamptz", "timestamptz", "bool", "varchar"),
    ),
)
_IDENTITY_COLUMNS = (
    "contacts_identity (id, tenant_id, contact_id, channel, external_id, metadata, active, "
    "created_at)",
    (*("varchar",) * 5, "jsonb", "bool", "timestamptz"),
)
_LINK_COLUMNS = (
    "contacts_contacttag (tenant_id, contact_id, tag_id, created_at)",
    ("varchar", "varchar", "varchar", "timestamptz"),
)


@dataclass(frozen=True)
class _StagingTable:
    """A temporary table (emptied at COMMIT) that rows are copied into, and the statement
    that merges them into the real table where COPY cannot (updates, conflicts)."""

    name: str
    columns: str
    types: tuple[str, ...]  # for COPY
    merge: str


_CONTACT_UPDATES = _StagingTable(
    "import_contact_updates",
    "id varchar(30), name varchar(255), custom_fields jsonb, search_text text",
    ("varchar", "varchar", "jsonb", "text"),
    "UPDATE contacts_contact c SET name = u.name, custom_fields = u.custom_fields, "
    "search_text = u.search_text, updated_at = now() "
    "FROM import_contact_updates u WHERE c.id = u.id",
)
_CONTACT_TAGS = _StagingTable(  # an existing contact may have some of the links already
    "import_contact_tags",
    "contact_id varchar(30), tag_id varchar(30)",
    ("varchar",) * 2,
    "INSERT INTO contacts_contacttag (tenant_id, contact_id, tag_id, created_at) "
    "SELECT %s, contact_id, tag_id, now() FROM import_contact_tags "
    "ON CONFLICT (contact_id, tag_id) DO NOTHING",
)
_ERRORS = _StagingTable(
    "import_errors",
    "contact_import_id varchar(30), row integer, col varchar(255), code varchar(32), "
    "message varchar(500), value varchar(200)",
    ("varchar", "int4", "varchar", "varchar", "varchar", "varchar"),
    "INSERT INTO contacts_contactimporterror "
    '(contact_import_id, row, "column", code, message, value) '
    "SELECT contact_import_id, row, col, code, message, value FROM import_errors "
    'ON CONFLICT (contact_import_id, row, "column") DO NOTHING',
)
_KEYS = _StagingTable(
    "import_keys",
    "contact_import_id varchar(30), key varchar(300), contact_ref varchar(30), "
    "created_here boolean",
    ("varchar", "varchar", "varchar", "bool"),
    "INSERT INTO contacts_contactimportkey (contact_import_id, key, contact_ref, "
    "created_here) SELECT * FROM import_keys "
    "ON CONFLICT (contact_import_id, key) DO NOTHING",
)
_DRAFTS = _StagingTable(
    "import_drafts",
    "contact_import_id varchar(30), contact_ref varchar(30), state jsonb",
    ("varchar", "varchar", "jsonb"),
    # Emptied as it is read: a batch written inside an outer transaction (a test, an
    # eager task) would find the last one's drafts still there, and one statement cannot
    # update a row twice.
    "WITH d AS (DELETE FROM import_drafts RETURNING *) "
    "INSERT INTO contacts_contactimportdraft (contact_import_id, contact_ref, state) "
    "SELECT * FROM d "
    "ON CONFLICT (contact_import_id, contact_ref) DO UPDATE SET state = EXCLUDED.state",
)
_STAGING = (_CONTACT_UPDATES, _CONTACT_TAGS, _ERRORS, _KEYS, _DRAFTS)
# One round trip for all (a statement of the writing thread costs it a wait for the GIL).
_STAGING_CREATE = "; ".join(
    f"CREATE TEMP TABLE IF NOT EXISTS {table.name} ({table.columns}) ON COMMIT DELETE ROWS"
    for table in _STAGING
)


def _write_postgres(imp: ContactImport, rows: BatchRows) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor: COPY
        set_json_dumps(orjson.dumps, context=raw)  # jsonb columns from dicts, by orjson
        cursor.execute(_STAGING_CREATE)
        encoded = rows.encoded or _NO_ROWS  # a dry run writes no contact
        _send(raw, _CONTACT_COLUMNS, encoded.contacts)
        _send(raw, _IDENTITY_COLUMNS, encoded.identities)
        _copy(raw, _IDENTITY_COLUMNS, rows.merged_identities)
        _merge(cursor, _CONTACT_UPDATES, rows.updates)
        _send(raw, _LINK_COLUMNS, encoded.links)  # a new contact has no links: no conflicts
        _merge(cursor, _CONTACT_TAGS, rows.merged_links, [imp.tenant_id])
        _merge(cursor, _ERRORS, rows.errors)
        _merge(cursor, _KEYS, rows.keys)
        _merge(cursor, _DRAFTS, rows.drafts)


@dataclass(frozen=True)
class _Encoded:
    """A batch's new contacts, their identities and tag links in COPY's binary format.

    Encoded on the planning thread, while the batch before is written: the batch's
    transactions, one after the other, are the import's longest chain, and encoding
    rows there made PostgreSQL wait for them (for the GIL, held by the planning thread,
    as much as for the encoding). psycopg encodes them without a COPY in progress (a
    `Copy` given a `Writer` of its own), as the transaction's COPY then would.
    """

    contacts: bytes
    identities: bytes
    links: bytes

    @classmethod
    def of(cls, imp: ContactImport, rows: BatchRows, now) -> "_Encoded":
        links = [(imp.tenant_id, contact_id, tag_id, now) for contact_id, tag_id in rows.links]
        return cls(
            _encoded(_CONTACT_COLUMNS, rows.contacts),
            _encoded(_IDENTITY_COLUMNS, rows.identities),
            _encoded(_LINK_COLUMNS, links),
        )


_NO_ROWS = _Encoded(b"", b"", b"")


class _Collected(Writer):
    """Where psycopg writes COPY data that is sent later: kept in memory."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> None:
        self.chunks.append(bytes(data))


def _encoded(columns: tuple[str, tuple[str, ...]], rows: list[tuple]) -> bytes:
    """`rows` as COPY's binary data for `columns` (see `_copy`); b"" for none."""
    if not rows:
        return b""
    collected = _Collected()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        set_json_dumps(orjson.dumps, context=raw)
        with Copy(raw, binary=True, writer=collected) as copy:
            copy.set_types(columns[1])
            for row in rows:
                copy.write_row(row)
    return b"".join(collected.chunks)


def _send(raw_cursor, columns: tuple[str, tuple[str, ...]], data: bytes) -> None:
    """COPY data encoded by `_encoded` into `columns`."""
    if not data:
        return
    with (
        connection.wrap_database_errors,
        raw_cursor.copy(f"COPY {columns[0]} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(data)


def _merge(cursor, table: _StagingTable, rows: list[tuple], params=None) -> None:
    """COPY `rows` into the staging table, then merge them with its statement."""
    if rows:
        _copy(cursor.cursor, (table.name, table.types), rows)
        cursor.execute(table.merge, params)


def _copy(raw_cursor, columns: tuple[str, tuple[str, ...]], rows: list[tuple]) -> None:
    """COPY `rows` into `columns` = (table and its column list, the columns' types)."""
    if not rows:
        return
    target, types = columns
    # The raw cursor's errors are psycopg's own: wrapped, a unique violation is the
    # IntegrityError that sends the import back to its checkpoint.
    with (
        connection.wrap_database_errors,
        raw_cursor.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# --- Other databases: bulk ORM ------------------------------------------------------------


def _write_orm(imp: ContactImport, rows: BatchRows) -> None:
    fields = (
        "id",
        "tenant_id",
        "name",
        "custom_fields",
        "search_text",
        "created_by",
        "created_at",
        "updated_at",
        "archived",
        "source_import_id",
    )
    Contact.objects.bulk_create(
        [Contact(**dict(zip(fields, row, strict=True))) for row in rows.contacts]
    )
    id_fields = (
        "id",
        "tenant_id",
        "contact_id",
        "channel",
        "external_id",
        "metadata",
        "active",
        "created_at",
    )
    Identity.objects.bulk_create(
        [
            Identity(**dict(zip(id_fields, row, strict=True)))
            for row in rows.identities + rows.merged_identities
        ]
    )
    now = timezone.now()
    for contact_id, name, values, search_text in rows.updates:
        Contact.objects.filter(pk=contact_id).update(
            name=name, custom_fields=values, search_text=search_text, updated_at=now
        )
    ContactTag.objects.bulk_create(
        [
            ContactTag(tenant_id=imp.tenant_id, contact_id=c, tag_id=t)
            for c, t in rows.links + rows.merged_links
        ],
        ignore_conflicts=True,
    )
    ContactImportError.objects.bulk_create(
        [
            ContactImportError(
                contact_import_id=i, row=r, column=col, code=code, message=m, value=v
            )
            for i, r, col, code, m, v in rows.errors
        ],
        ignore_conflicts=True,
    )
    ContactImportKey.objects.bulk_create(
        [
            ContactImportKey(contact_import_id=i, key=k, contact_ref=ref, created_here=here)
            for i, k, ref, here in rows.keys
        ],
        ignore_conflicts=True,
    )
    ContactImportDraft.objects.bulk_create(
        [
            ContactImportDraft(contact_import_id=i, contact_ref=ref, state=state)
            for i, ref, state in rows.drafts
        ],
        update_conflicts=True,
        unique_fields=["contact_import", "contact_ref"],
        update_fields=["state"],
    )
