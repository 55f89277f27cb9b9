"""Duplicates and merges (contract §11): the same person under several contacts.

Two contacts look like one person when they share a matching key: a normalised
e-mail (`cf_email` or an `email` identity) or phone (`cf_phone` or a `whatsapp` /
`sms` identity). Values are stored normalised, so sharing is equality, and each
key is looked up in the index the importer matches with.

A merge folds sources into a target in one transaction: the sources' identities
move (keeping their ids), tags become the union, values are picked, the sources
are soft-deleted with `merged_into`. Each source keeps inactive copies of the
identities it gave away: they are what a restore would bring back, and while the
target holds them, `contact_restore` refuses.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import orjson
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import In
from django.utils import timezone

from events.services import NewEvent, events_record
from events.types import EventType
from flownally_admin.errors import Conflict, ViolationCollector
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant
from tags.services import tags_hold

from .models import PHONE_CHANNELS, Channel, Contact, ContactTag, Identity
from .representation import contact_data
from .selectors import (
    contact_definitions,
    contact_get,
    contact_identities,
    contact_not_found,
    contact_queryset,
    contact_search_text,
)
from .services import EmptyContact, contact_check_etag, contact_count_add

DUPLICATES_MAX = 50
MERGE_SOURCES_MAX = 10
# Matching keys: (name in `matchedOn`, custom field, identity channels).
MATCH_KEYS = (
    ("email", "cf_email", (Channel.EMAIL,)),
    ("phone", "cf_phone", PHONE_CHANNELS),
)


class MergeConflict(Conflict):
    code = "merge_conflict"
    default_detail = "A contact of this merge was merged or deleted by another request meanwhile."


@dataclass(frozen=True)
class Duplicate:
    contact: Contact  # from contact_queryset
    matched_on: list[str]


def contact_duplicates(*, tenant: Tenant, contact_id: str) -> list[Duplicate]:
    """Live contacts sharing an e-mail or phone with this one, oldest first, at most
    DUPLICATES_MAX. Index lookups whatever the number of keys: by value (the oldest few
    holders), by identity (each address is held once)."""
    contact = contact_get(tenant=tenant, contact_id=contact_id)
    keys = _match_keys(contact)
    found: dict[str, tuple] = {}
    for pk, created_at, kind in _key_holders(tenant, keys):
        if pk != contact.pk:
            found.setdefault(pk, (created_at, set()))[1].add(kind)
    oldest = sorted(found.items(), key=lambda item: (item[1][0], item[0]))[:DUPLICATES_MAX]
    contacts = contact_queryset(tenant=tenant).in_bulk([pk for pk, _ in oldest])
    return [
        Duplicate(contacts[pk], [kind for kind, _, _ in MATCH_KEYS if kind in kinds])
        for pk, (_, kinds) in oldest
        if pk in contacts
    ]


def _match_keys(contact: Contact) -> dict[str, set[str]]:
    """`{kind: values}` of a contact from `contact_queryset`, for the kinds it has."""
    return match_keys(custom_fields=contact.custom_fields, identities=contact_identities(contact))


def match_keys(*, custom_fields: dict, identities) -> dict[str, set[str]]:
    """`{kind: values}` for the kinds a contact has: what it is matched on as a duplicate.
    `identities`: anything with `channel` and `external_id` (stored or about to be)."""
    keys = {}
    for kind, field, channels in MATCH_KEYS:
        values = {i.external_id for i in identities if i.channel in channels}
        if custom_fields.get(field):
            values.add(custom_fields[field])
        if values:
            keys[kind] = values
    return keys


class KeyHolder(NamedTuple):
    kind: str  # "email" or "phone"
    value: str
    contact_id: str
    source_import_id: str  # the import that created the contact, or ""
    created_at: datetime


KIND_OF_FIELD = {field: kind for kind, field, _ in MATCH_KEYS}
KIND_OF_CHANNEL = {channel: kind for kind, _, channels in MATCH_KEYS for channel in channels}


def contact_key_holders(
    *, tenant_id: str, values: dict[str, set[str]], identities: dict[str, set[str]]
) -> list[KeyHolder]:
    """Every live contact of the tenant holding one of `values` (`{"cf_email" or
    "cf_phone": values}`) or one of `identities` (`{channel: external ids}` of the e-mail
    and phone channels), each as the key it holds.

    For many keys at once (an import's batch), unlike `contact_duplicates`, which looks
    for the oldest few holders of one contact's keys: on PostgreSQL one statement, in
    which each key is one probe of its index (`contact_by_email` / `contact_by_phone`,
    `uniq_live_identity`) whatever the statistics, as the importer's lookups do
    (contacts/importing/writers.py says why).
    """
    values = {field: wanted for field, wanted in values.items() if wanted}
    pairs = [
        (channel, external_id)
        for channel, wanted in identities.items()
        for external_id in sorted(wanted)
    ]
    if connection.vendor == "postgresql":
        return _key_holders_postgres(tenant_id, values, pairs)
    found = []
    if values:
        texts = {field: KeyTextTransform(field, "custom_fields") for field in values}
        by_value = Q()
        for field, wanted in values.items():
            by_value |= Q(In(texts[field], sorted(wanted)))
        holders = (
            Contact.objects.filter(by_value, tenant_id=tenant_id, deleted_at__isnull=True)
            .annotate(**{f"v_{field}": text for field, text in texts.items()})
            .values_list("pk", "source_import_id", "created_at", *(f"v_{field}" for field in texts))
        )
        for pk, source, created_at, *held in holders:
            for field, value in zip(texts, held, strict=True):
                if value in values[field]:
                    found.append(KeyHolder(KIND_OF_FIELD[field], value, pk, source, created_at))
    if pairs:
        wanted_pairs = set(pairs)
        held = Identity.objects.filter(
            tenant_id=tenant_id,
            active=True,
            channel__in={channel for channel, _ in pairs},
            external_id__in={external_id for _, external_id in pairs},
            contact__deleted_at__isnull=True,
        ).values_list(
            "channel",
            "external_id",
            "contact_id",
            "contact__source_import_id",
            "contact__created_at",
        )
        for channel, external_id, pk, source, created_at in held:
            if (channel, external_id) in wanted_pairs:
                kind = KIND_OF_CHANNEL[channel]
                found.append(KeyHolder(kind, external_id, pk, source, created_at))
    return found


# One branch per kind of probe, each row tagged with its kind. The keys travel as JSON
# arrays, and each is looked up by a LATERAL subquery kept apart by OFFSET 0 (see
# contacts/importing/writers.py). The field names are constants in each branch (never a
# parameter), so that each probe fits its expression index.
# With a limit (the oldest few holders of each value), the live ones are chosen inside
# the probe; the planner still has only the matching index to find a value by.
_HOLDERS_BY_VALUE_SQL = (
    "SELECT %s::text, k.value, c.id, c.source_import_id, c.created_at "
    "FROM jsonb_array_elements_text(%s::jsonb) AS k(value) CROSS JOIN LATERAL ("
    " SELECT id, source_import_id, created_at, deleted_at FROM contacts_contact"
    " WHERE tenant_id = %s AND custom_fields ->> '{field}' = k.value"
    " OFFSET 0) AS c "
    "WHERE c.deleted_at IS NULL"
)
_OLDEST_HOLDERS_BY_VALUE_SQL = (
    "SELECT %s::text, k.value, c.id, c.source_import_id, c.created_at "
    "FROM jsonb_array_elements_text(%s::jsonb) AS k(value) CROSS JOIN LATERAL ("
    " SELECT id, source_import_id, created_at FROM contacts_contact"
    " WHERE tenant_id = %s AND custom_fields ->> '{field}' = k.value"
    " AND deleted_at IS NULL ORDER BY created_at, id LIMIT {limit}) AS c"
)
_HOLDERS_BY_IDENTITY_SQL = (
    "SELECT k.pair ->> 0, k.pair ->> 2, h.contact_id, h.source_import_id, h.created_at "
    "FROM jsonb_array_elements(%s::jsonb) AS k(pair) CROSS JOIN LATERAL ("
    " SELECT i.contact_id, c.source_import_id, c.created_at"
    " FROM contacts_identity i JOIN contacts_contact c ON c.id = i.contact_id"
    " WHERE i.tenant_id = %s AND i.active AND c.deleted_at IS NULL"
    " AND i.channel = k.pair ->> 1 AND i.external_id = k.pair ->> 2"
    " OFFSET 0) AS h"
)


def _key_holders_postgres(
    tenant_id: str, values: dict, pairs: list, limit: int | None = None
) -> list[KeyHolder]:
    branches, params = [], []
    for field, wanted in values.items():
        if field not in KIND_OF_FIELD:  # only ever one of two constants in the SQL
            raise ValueError(f"Not a matching field: {field!r}")
        if limit is None:
            branches.append(_HOLDERS_BY_VALUE_SQL.format(field=field))
        else:
            branches.append(_OLDEST_HOLDERS_BY_VALUE_SQL.format(field=field, limit=int(limit)))
        params += [KIND_OF_FIELD[field], orjson.dumps(sorted(wanted)).decode(), tenant_id]
    if pairs:
        branches.append(_HOLDERS_BY_IDENTITY_SQL)
        keys = [(KIND_OF_CHANNEL[channel], channel, value) for channel, value in pairs]
        params += [orjson.dumps(keys).decode(), tenant_id]
    if not branches:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), params)
        rows = cursor.fetchall()
    return [KeyHolder(*row) for row in rows]


def _key_holders(tenant: Tenant, keys: dict[str, set[str]]):
    """(contact id, created at, kind) of the contacts holding any of the keys: of those
    holding a value, the oldest DUPLICATES_MAX + 1 (enough: the contact itself may be
    among them).

    On PostgreSQL in one statement (the oldest holders of each value, and the holders of
    each identity): a request for duplicates is mostly round trips, and under load each
    one waits for a core (bench/README.md, "Duplicates and merge")."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        fields = {kind: field for kind, field, _ in MATCH_KEYS}
        values = {fields[kind]: wanted for kind, wanted in keys.items()}
        pairs = [
            (channel, value)
            for kind, _, channels in MATCH_KEYS
            for channel in channels
            for value in sorted(keys.get(kind, ()))
        ]
        for holder in _key_holders_postgres(tenant.pk, values, pairs, DUPLICATES_MAX + 1):
            yield holder.contact_id, holder.created_at, holder.kind
        return
    by_value, texts = Q(), {}
    for kind, field, _ in MATCH_KEYS:
        if kind in keys:
            # The generic lookup, on the text as the index has it (a JSON key's own `__in`
            # compares JSON on SQLite).
            texts[kind] = KeyTextTransform(field, "custom_fields")
            by_value |= Q(In(texts[kind], sorted(keys[kind])))
    holders = (
        Contact.objects.filter(by_value, tenant=tenant, deleted_at__isnull=True)
        .annotate(**texts)
        .order_by("created_at", "pk")
        .values_list("pk", "created_at", *texts)
    )
    # One more than shown: the contact itself may be among them.
    for pk, created_at, *values in holders[: DUPLICATES_MAX + 1]:
        for kind, value in zip(texts, values, strict=True):
            if value in keys[kind]:
                yield pk, created_at, kind
    channels = {kind: channels for kind, _, channels in MATCH_KEYS if kind in keys}
    identities = Identity.objects.filter(
        tenant=tenant,
        active=True,
        channel__in=[channel for group in channels.values() for channel in group],
        external_id__in=set().union(*keys.values()),
        contact__deleted_at__isnull=True,
    ).values_list("contact_id", "contact__created_at", "channel", "external_id")
    for pk, created_at, channel, external_id in identities:
        for kind, group in channels.items():
            if channel in group and external_id in keys[kind]:
                yield pk, created_at, kind


def contact_merge(
    *,
    tenant: Tenant,
    target_id: str,
    source_ids: list[str],
    pick_name: str | None = None,
    pick_custom_fields: dict[str, str] | None = None,
    preview: bool = False,
    if_match: str | None = None,
) -> Contact:
    """Merge the sources into the target; returns the target as it is (or, with
    `preview`, would be) afterwards. A preview writes nothing and returns an unsaved
    contact shaped like one from `contact_queryset`.

    The name and each custom field are the target's unless empty there (then the first
    source's, in `source_ids` order, that has one) or unless `pick` names the contact
    to take it from (its value, or its lack of one).

    The contacts are locked in id order, so two merges over shared contacts queue
    instead of deadlocking; the one that waited finds a contact gone and raises
    MergeConflict, having changed nothing.
    """
    pick_custom_fields = pick_custom_fields or {}
    definitions = {d.public_id: d for d in contact_definitions(tenant=tenant)}
    _check_request(target_id, source_ids, pick_name, pick_custom_fields, definitions)
    ids = [target_id, *source_ids]
    _ensure_live(tenant, ids)
    with transaction.atomic():
        if not preview:
            _lock_in_id_order(tenant, ids)
        # Read after locking: what a concurrent writer committed meanwhile is seen.
        contacts = contact_queryset(tenant=tenant).in_bulk(ids)
        gone = [contact_id for contact_id in ids if contact_id not in contacts]
        if gone:
            raise MergeConflict(
                f"Contact '{gone[0]}' was merged or deleted by another request meanwhile; "
                "nothing was changed."
            )
        target, sources = contacts[target_id], [contacts[pk] for pk in source_ids]
        contact_check_etag(target, if_match)
        merged = _merged(target, sources, contacts, pick_name, pick_custom_fields, definitions)
        if preview:
            return merged
        _write(tenant, target, sources, merged)
        contact = contact_get(tenant=tenant, contact_id=target_id)
        data = contact_data(contact, list(definitions.values()))
        events_record(
            tenant=tenant,
            events=[
                NewEvent(
                    EventType.CONTACT_MERGED,
                    {"contact": data, "sourceIds": list(source_ids)},
                    target_id,
                ),
                *(
                    NewEvent(
                        EventType.CONTACT_DELETED,
                        {"contactId": source_id, "mergedInto": target_id},
                        source_id,
                    )
                    for source_id in source_ids
                ),
            ],
        )
    return contact


def _check_request(target_id, source_ids, pick_name, pick_custom_fields, definitions) -> None:
    """The contract's 422s: sources 1–MERGE_SOURCES_MAX distinct ids other than the
    target; `pick` names contacts of this merge and live contact fields."""
    errors = ViolationCollector()
    if not 1 <= len(source_ids) <= MERGE_SOURCES_MAX:
        errors.add(
            "sourceIds",
            "out_of_range",
            f"Name 1 to {MERGE_SOURCES_MAX} contacts to merge into this one.",
        )
    first_at = {}
    for index, source_id in enumerate(source_ids):
        if source_id == target_id:
            errors.add(f"sourceIds[{index}]", "invalid", "A contact cannot be merged into itself.")
        elif source_id in first_at:
            errors.add(
                f"sourceIds[{index}]", "invalid", f"Repeats sourceIds[{first_at[source_id]}]."
            )
        else:
            first_at[source_id] = index
    involved = {target_id, *source_ids}
    outside = "is not one of the contacts of this merge."
    if pick_name is not None and pick_name not in involved:
        errors.add("pick.name", "invalid", f"'{pick_name[:64]}' {outside}")
    for definition_id, contact_id in pick_custom_fields.items():
        path = f"pick.customFields.{definition_id}"
        if definition_id not in definitions:
            errors.add(path, "unknown_custom_field", "No contact field with this id.")
        elif contact_id not in involved:
            errors.add(path, "invalid", f"'{contact_id[:64]}' {outside}")
    errors.raise_if_any()


def _ensure_live(tenant: Tenant, ids: list[str]) -> None:
    """404 for the first id that is no live contact of the tenant (saying where a merged
    one went). Checked before waiting for locks: what vanishes while this merge waits is
    a MergeConflict instead."""
    valid = [contact_id for contact_id in ids if is_valid_id(contact_id, "ctc")]
    live = set(
        Contact.objects.filter(tenant=tenant, pk__in=valid, deleted_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    for contact_id in ids:
        if contact_id not in live:
            raise contact_not_found(tenant=tenant, contact_id=contact_id)


def _lock_in_id_order(tenant: Tenant, ids: list[str]) -> None:
    """Lock the live ones of these contacts, in id order: every merge takes its locks in
    the same order, so merges sharing contacts wait for each other instead of deadlocking
    (the other services lock one contact at a time)."""
    locked = Contact.objects.select_for_update().filter(
        tenant=tenant, pk__in=ids, deleted_at__isnull=True
    )
    list(locked.order_by("pk").values_list("pk", flat=True))


def _merged(target, sources, contacts, pick_name, pick_custom_fields, definitions) -> Contact:
    """The target after the merge, unsaved, with the identities and tags of all."""
    everyone = [target, *sources]
    if pick_name is not None:
        name = contacts[pick_name].name
    else:
        name = next((c.name for c in everyone if c.name), "")
    values = dict(target.custom_fields)
    for definition_id in definitions:
        if definition_id in pick_custom_fields:
            value = contacts[pick_custom_fields[definition_id]].custom_fields.get(definition_id)
        else:
            value = next(
                (
                    c.custom_fields[definition_id]
                    for c in everyone
                    if definition_id in c.custom_fields
                ),
                None,
            )
        if value is None:
            values.pop(definition_id, None)
        else:
            values[definition_id] = value
    identity_items = [item for c in everyone for item in c.identity_items or []]
    tag_items = list({t["id"]: t for c in everyone for t in c.tag_items or []}.values())
    if not (name or identity_items or values.keys() & definitions.keys()):
        raise EmptyContact()
    merged = Contact(
        pk=target.pk,
        tenant_id=target.tenant_id,
        name=name,
        custom_fields=values,
        created_by=target.created_by,
        created_at=target.created_at,
        updated_at=target.updated_at,
        archived=target.archived,
        archived_at=target.archived_at,
    )
    merged.identity_items, merged.tag_items = identity_items, tag_items
    return merged


def _write(tenant: Tenant, target: Contact, sources: list[Contact], merged: Contact) -> None:
    now = timezone.now()
    source_ids = [source.pk for source in sources]
    moved = list(Identity.objects.filter(contact_id__in=source_ids, active=True))
    Identity.objects.filter(pk__in=[i.pk for i in moved]).update(contact_id=target.pk)
    Identity.objects.bulk_create(
        Identity(
            tenant_id=tenant.pk,
            contact_id=identity.contact_id,
            channel=identity.channel,
            external_id=identity.external_id,
            metadata=identity.metadata,
            active=False,
            created_at=identity.created_at,
        )
        for identity in moved
    )
    own_tags = {t["id"] for t in target.tag_items or []}
    added = tags_hold(tag_ids=[t["id"] for t in merged.tag_items if t["id"] not in own_tags])
    ContactTag.objects.bulk_create(
        ContactTag(tenant_id=tenant.pk, contact_id=target.pk, tag_id=tag_id)
        for tag_id in sorted(added)
    )
    Contact.objects.filter(pk__in=source_ids).update(
        deleted_at=now, merged_into_id=target.pk, updated_at=now
    )
    for archived, count in Counter(source.archived for source in sources).items():
        contact_count_add(tenant=tenant, archived=archived, delta=-count)
    target.name, target.custom_fields, target.updated_at = (
        merged.name,
        merged.custom_fields,
        now,
    )
    target.search_text = contact_search_text(
        name=target.name,
        custom_fields=target.custom_fields,
        identities=[*contact_identities(target), *moved],
    )
    target.save(update_fields=["name", "custom_fields", "search_text", "updated_at"])
