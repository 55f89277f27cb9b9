"""Writes of contacts. Every door (API, admin, importer) changes contacts through these."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from customfields.models import EntityType
from customfields.selectors import custom_field_definition_get
from events.services import event_record
from events.types import EventType
from flownally_admin.errors import ApplicationError, Conflict, ValidationFailed, ViolationCollector
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant
from tags.selectors import TagNotFound, tag_get
from tags.services import tags_hold

from .models import Contact, ContactCountDelta, ContactTag, Identity
from .representation import contact_changes, contact_data
from .selectors import (
    ContactNotFound,
    contact_definitions,
    contact_get,
    contact_not_found,
    contact_search_text,
)
from .validation import (
    ContactRules,
    IdentityInput,
    check_custom_fields,
    check_identities,
    check_name,
    check_tag_ids,
)

# A bucket with more deltas than this is folded into one row by the periodic compaction.
COUNT_COMPACT_THRESHOLD = 500


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()  # "member omitted": leave as is (distinct from None, "clear")


class EmptyContact(ApplicationError):
    code = "empty_contact"
    default_detail = "A contact needs a non-empty name, an identity or a custom field value."


class IdentityConflict(Conflict):
    code = "identity_conflict"

    def __init__(self, identity: IdentityInput, holder_id: str, field: str | None = None):
        self.identity = identity
        self.holder_id = holder_id
        self.field = field
        super().__init__(
            f"The {identity.channel} identity '{identity.external_id}' already belongs to "
            f"contact {holder_id}."
        )


class MergedIdentityHeld(IdentityConflict):
    """A merged contact's identity still lives on a live contact, most likely the one it
    was merged into: restoring it would take the identity away from there."""

    def __init__(self, contact: Contact, conflict: IdentityConflict):
        super().__init__(conflict.identity, conflict.holder_id, conflict.field)
        target = f"{contact.merged_into} ({contact.merged_into_id})"
        identity = f"{conflict.identity.channel} identity '{conflict.identity.external_id}'"
        if conflict.holder_id == contact.merged_into_id:
            detail = (
                f"It was merged into {target}, which still holds its {identity}. Remove the "
                f"identity from {contact.merged_into} (or delete it) before restoring this one."
            )
        else:
            detail = (
                f"It was merged into {target}; its {identity} is now held by contact "
                f"{conflict.holder_id}. Free that identity before restoring this one."
            )
        ApplicationError.__init__(self, detail)


class ContactAlreadyArchived(Conflict):
    code = "contact_already_archived"
    default_detail = "The contact is already archived."


class ContactNotArchived(Conflict):
    code = "contact_not_archived"
    default_detail = "The contact is not archived."


class PreconditionFailed(ApplicationError):
    code = "precondition_failed"
    default_detail = "The contact has changed since the ETag sent in If-Match."


@dataclass
class _Changes:
    """A validated create/update: UNSET members are left as they are."""

    name: str | _Unset = UNSET
    identities: list[IdentityInput] | _Unset = UNSET
    tag_ids: list[str] | _Unset = UNSET
    custom_fields: dict[str, str | None] | _Unset = UNSET


def _check(
    tenant: Tenant, *, name, identities, tag_ids, custom_fields
) -> tuple[_Changes, ContactRules]:
    rules = ContactRules.load(tenant, tag_ids=None if tag_ids is UNSET else tag_ids)
    errors = ViolationCollector()
    changes = _Changes()
    if name is not UNSET:
        changes.name = check_name(name, errors)
    if identities is not UNSET:
        changes.identities = check_identities(identities, errors)
    if tag_ids is not UNSET:
        changes.tag_ids = check_tag_ids(tag_ids, rules, errors)
    if custom_fields is not UNSET:
        changes.custom_fields = check_custom_fields(custom_fields, rules, errors)
    errors.raise_if_any()
    return changes, rules


def contact_validate(
    *, tenant: Tenant, name=UNSET, identities=UNSET, tag_ids=UNSET, custom_fields=UNSET
) -> None:
    """Check members as contact_create and contact_update do, and write nothing.

    For a form with errors of its own (a date it could not read): the members it could
    read are checked here, so that all the errors of a submission are shown at once.
    Raises ValidationFailed."""
    _check(tenant, name=name, identities=identities, tag_ids=tag_ids, custom_fields=custom_fields)


def contact_create(
    *,
    tenant: Tenant,
    created_by: str,
    name: str | None = None,
    identities: list[dict] | None = None,
    tag_ids: list[str] | None = None,
    custom_fields: dict[str, str] | None = None,
) -> Contact:
    changes, _ = _check(
        tenant,
        name=name,
        identities=identities or [],
        tag_ids=tag_ids or [],
        custom_fields=custom_fields or {},
    )
    values = {k: v for k, v in changes.custom_fields.items() if v is not None}
    if not (changes.name or changes.identities or values):
        raise EmptyContact()
    with transaction.atomic():
        _ensure_identities_free(tenant, changes.identities, contact_id=None)
        contact = Contact(
            tenant=tenant, name=changes.name, custom_fields=values, created_by=created_by
        )
        contact.search_text = contact_search_text(
            name=contact.name, custom_fields=values, identities=changes.identities
        )
        contact.save(force_insert=True)
        contact_count_add(tenant=tenant, archived=False, delta=1)
        _replace_identities(contact, changes.identities, existing=[])
        _replace_tags(contact, changes.tag_ids, existing=set())
        contact = _record_contact(tenant, EventType.CONTACT_CREATED, contact.pk)
    return contact


def contact_update(
    *,
    tenant: Tenant,
    contact_id: str,
    if_match: str | None = None,
    name=UNSET,
    identities=UNSET,
    tag_ids=UNSET,
    custom_fields=UNSET,
) -> Contact:
    """PATCH semantics: omitted members unchanged; identities and tags replace the set;
    custom fields merge (`""` clears, unlisted ids untouched). A PATCH that changes
    nothing writes nothing: no event, and `updatedAt` stays."""
    changes, rules = _check(
        tenant, name=name, identities=identities, tag_ids=tag_ids, custom_fields=custom_fields
    )
    with transaction.atomic():
        contact = _lock(tenant, contact_id, if_match)
        before = _picture(tenant, contact.pk)
        original = (contact.name, dict(contact.custom_fields))
        current_identities = list(contact.identities.filter(active=True))
        if changes.name is not UNSET:
            contact.name = changes.name
        if changes.custom_fields is not UNSET:
            merged = dict(contact.custom_fields)
            for definition_id, value in changes.custom_fields.items():
                if value is None:
                    merged.pop(definition_id, None)
                else:
                    merged[definition_id] = value
            contact.custom_fields = merged
        new_identities = current_identities if changes.identities is UNSET else changes.identities
        live_values = [k for k in contact.custom_fields if k in rules.definitions]
        if not (contact.name or new_identities or live_values):
            raise EmptyContact()
        links_changed = False
        if changes.identities is not UNSET:
            _ensure_identities_free(tenant, changes.identities, contact_id=contact.pk)
            links_changed |= _replace_identities(
                contact, changes.identities, existing=current_identities
            )
        if changes.tag_ids is not UNSET:
            existing_tags = set(contact.tag_links.values_list("tag_id", flat=True))
            links_changed |= _replace_tags(contact, changes.tag_ids, existing=existing_tags)
        if not links_changed and (contact.name, contact.custom_fields) == original:
            return contact_get(tenant=tenant, contact_id=contact.pk)
        _save(contact, new_identities)
        contact = _record_contact(tenant, EventType.CONTACT_UPDATED, contact.pk, before=before)
    return contact


def contact_set_custom_field(
    *, tenant: Tenant, contact_id: str, definition_id: str, value: str
) -> Contact:
    """Set (or with `""`, clear) one value."""
    contact_get(tenant=tenant, contact_id=contact_id)
    custom_field_definition_get(
        tenant=tenant, entity_type=EntityType.CONTACT, definition_id=definition_id
    )
    return contact_update(
        tenant=tenant, contact_id=contact_id, custom_fields={definition_id: value}
    )


def contact_archive(*, tenant: Tenant, contact_id: str) -> Contact:
    with transaction.atomic():
        contact = _lock(tenant, contact_id)
        if contact.archived:
            raise ContactAlreadyArchived()
        contact.archived, contact.archived_at = True, timezone.now()
        _touch(contact, "archived", "archived_at")
        contact_count_add(tenant=tenant, archived=False, delta=-1)
        contact_count_add(tenant=tenant, archived=True, delta=1)
        contact = _record_contact(tenant, EventType.CONTACT_ARCHIVED, contact.pk)
    return contact


def contact_unarchive(*, tenant: Tenant, contact_id: str) -> Contact:
    with transaction.atomic():
        contact = _lock(tenant, contact_id)
        if not contact.archived:
            raise ContactNotArchived()
        contact.archived, contact.archived_at = False, None
        _touch(contact, "archived", "archived_at")
        contact_count_add(tenant=tenant, archived=True, delta=-1)
        contact_count_add(tenant=tenant, archived=False, delta=1)
        contact = _record_contact(tenant, EventType.CONTACT_UNARCHIVED, contact.pk)
    return contact


def contact_delete(*, tenant: Tenant, contact_id: str) -> None:
    """Soft delete: the row stays for a restore, its identities are freed at once."""
    with transaction.atomic():
        contact = _lock(tenant, contact_id)
        contact.deleted_at = timezone.now()
        _touch(contact, "deleted_at")
        contact.identities.update(active=False)
        contact_count_add(tenant=tenant, archived=contact.archived, delta=-1)
        event_record(
            tenant=tenant,
            type=EventType.CONTACT_DELETED,
            data={"contactId": contact.pk, "mergedInto": None},
            contact_id=contact.pk,
        )


def contact_restore(*, tenant: Tenant, contact_id: str) -> Contact:
    """Bring back a soft-deleted contact, provided nobody has claimed its identities since.

    A merged contact kept inactive copies of the identities it gave its target
    (contacts.merging): while the target holds them, it cannot come back."""
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update()
            .filter(tenant=tenant, pk=contact_id, deleted_at__isnull=False)
            .first()
        )
        if contact is None:
            raise ContactNotFound(f"No deleted contact with id '{contact_id[:64]}'.")
        identities = [
            IdentityInput(i.channel, i.external_id, i.metadata) for i in contact.identities.all()
        ]
        try:
            _ensure_identities_free(tenant, identities, contact_id=contact.pk)
        except IdentityConflict as conflict:
            if contact.merged_into_id:
                raise MergedIdentityHeld(contact, conflict) from None
            raise
        contact.identities.update(active=True)
        contact.deleted_at, contact.merged_into = None, None
        _touch(contact, "deleted_at", "merged_into")
        contact_count_add(tenant=tenant, archived=contact.archived, delta=1)
        contact = _record_contact(tenant, EventType.CONTACT_RESTORED, contact.pk)
    return contact


def contact_tag_add(*, tenant: Tenant, contact_id: str, tag_id: str) -> None:
    """Idempotent: tagging twice is tagging once."""
    with transaction.atomic():
        contact = _lock(tenant, contact_id)
        tag = tag_get(tenant=tenant, tag_id=tag_id)
        if not tags_hold(tag_ids=[tag.pk]):  # deleted since
            raise TagNotFound(f"No tag with id '{tag_id}'.")
        before = _picture(tenant, contact.pk)
        _, created = ContactTag.objects.get_or_create(tenant=tenant, contact=contact, tag=tag)
        if created:
            _touch(contact)
            _record_contact(tenant, EventType.CONTACT_UPDATED, contact.pk, before=before)


def contact_tag_remove(*, tenant: Tenant, contact_id: str, tag_id: str) -> None:
    """Idempotent: removing a tag the contact does not have changes nothing."""
    with transaction.atomic():
        contact = _lock(tenant, contact_id)
        tag = tag_get(tenant=tenant, tag_id=tag_id)
        before = _picture(tenant, contact.pk)
        removed, _ = ContactTag.objects.filter(contact=contact, tag=tag).delete()
        if removed:
            _touch(contact)
            _record_contact(tenant, EventType.CONTACT_UPDATED, contact.pk, before=before)


def contact_count_add(*, tenant: Tenant, archived: bool, delta: int) -> None:
    """Record that `delta` live contacts entered (or left) a bucket; part of the caller's
    transaction, so the count changes exactly when the contacts do."""
    if delta:
        ContactCountDelta.objects.create(tenant=tenant, archived=archived, delta=delta)


def contact_counts_compact() -> int:
    """Fold every bucket that holds more than COUNT_COMPACT_THRESHOLD deltas; returns how
    many were folded. Run periodically so that reading a count stays a read."""
    crowded = (
        ContactCountDelta.objects.values("tenant_id", "archived")
        .annotate(rows=Count("id"))
        .filter(rows__gt=COUNT_COMPACT_THRESHOLD)
        .values_list("tenant_id", "archived")
    )
    buckets = list(crowded)
    for tenant_id, archived in buckets:
        contact_count_compact(tenant=Tenant(pk=tenant_id), archived=archived)
    return len(buckets)


def contact_count_compact(*, tenant: Tenant, archived: bool) -> None:
    """Replace a bucket's deltas by their sum, without blocking writers that add new ones."""
    with transaction.atomic():
        rows = ContactCountDelta.objects.select_for_update(skip_locked=True).filter(
            tenant=tenant, archived=archived
        )
        folded = list(rows.values_list("pk", "delta"))
        if len(folded) < 2:
            return
        ContactCountDelta.objects.filter(pk__in=[pk for pk, _ in folded]).delete()
        contact_count_add(tenant=tenant, archived=archived, delta=sum(d for _, d in folded))


def contact_count_rebuild(*, tenant: Tenant) -> None:
    """Recount both buckets from the contacts themselves (after a manual data repair)."""
    with transaction.atomic():
        ContactCountDelta.objects.filter(tenant=tenant).delete()
        for archived in (False, True):
            live = Contact.objects.filter(tenant=tenant, archived=archived, deleted_at__isnull=True)
            contact_count_add(tenant=tenant, archived=archived, delta=live.count())


# --- helpers ------------------------------------------------------------------


def _lock(tenant: Tenant, contact_id: str, if_match: str | None = None) -> Contact:
    """The live contact, locked for this transaction; checks an If-Match ETag against it."""
    contact = None
    if is_valid_id(contact_id, "ctc"):
        contact = (
            Contact.objects.select_for_update()
            .filter(tenant=tenant, pk=contact_id, deleted_at__isnull=True)
            .first()
        )
    if contact is None:
        raise contact_not_found(tenant=tenant, contact_id=contact_id)
    contact_check_etag(contact, if_match)
    return contact


def contact_check_etag(contact: Contact, if_match: str | None) -> None:
    """Raise PreconditionFailed unless `if_match` (absent, `*` or a list of ETags) accepts
    the contact as it is now."""
    if if_match is not None and if_match.strip() != "*":
        accepted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if contact.etag not in accepted:
            raise PreconditionFailed()


def _picture(tenant: Tenant, contact_id: str) -> dict:
    """The contact as the API shows it now (what events carry)."""
    contact = contact_get(tenant=tenant, contact_id=contact_id)
    return contact_data(contact, contact_definitions(tenant=tenant))


def _record_contact(
    tenant: Tenant, type: str, contact_id: str, *, before: dict | None = None
) -> Contact:
    """Record a contact event, the last write of its service's transaction: `data` is the
    contact after the change, with the `changes` since `before` for an update. Returns the
    contact as it was read for the event."""
    contact = contact_get(tenant=tenant, contact_id=contact_id)
    data = {"contact": contact_data(contact, contact_definitions(tenant=tenant))}
    if before is not None:
        data["changes"] = contact_changes(before, data["contact"])
    event_record(tenant=tenant, type=type, data=data, contact_id=contact_id)
    return contact


def _touch(contact: Contact, *fields: str) -> None:
    contact.updated_at = timezone.now()
    contact.save(update_fields=[*fields, "updated_at"])


def _save(contact: Contact, identities) -> None:
    contact.search_text = contact_search_text(
        name=contact.name, custom_fields=contact.custom_fields, identities=identities
    )
    _touch(contact, "name", "custom_fields", "search_text")


def _ensure_identities_free(tenant: Tenant, identities, *, contact_id: str | None) -> None:
    """Raise IdentityConflict naming the holder if another live contact has one of them."""
    if not identities:
        return
    wanted = Q()
    for identity in identities:
        wanted |= Q(channel=identity.channel, external_id=identity.external_id)
    held = Identity.objects.filter(wanted, tenant=tenant, active=True)
    if contact_id is not None:
        held = held.exclude(contact_id=contact_id)
    holder = held.values_list("channel", "external_id", "contact_id").first()
    if holder is not None:
        index = next(i for i, x in enumerate(identities) if x.key == holder[:2])
        raise IdentityConflict(
            identities[index], holder[2], field=f"identities[{index}].externalId"
        )


def _replace_identities(contact: Contact, wanted: list[IdentityInput], *, existing) -> bool:
    """Make the contact's identities exactly `wanted`; matching ones keep their ids.
    Returns whether anything changed."""
    by_key = {(i.channel, i.external_id): i for i in existing}
    wanted_keys = {w.key for w in wanted}
    gone = [i.pk for key, i in by_key.items() if key not in wanted_keys]
    if gone:
        Identity.objects.filter(pk__in=gone).delete()
    new, added, changed = [], [], False
    for identity in wanted:
        kept = by_key.get(identity.key)
        if kept is None:
            added.append(identity)
            new.append(
                Identity(
                    tenant_id=contact.tenant_id,
                    contact=contact,
                    channel=identity.channel,
                    external_id=identity.external_id,
                    metadata=identity.metadata,
                )
            )
        elif kept.metadata != identity.metadata:
            kept.metadata = identity.metadata
            kept.save(update_fields=["metadata"])
            changed = True
    try:
        with transaction.atomic():
            Identity.objects.bulk_create(new)
    except IntegrityError:
        # Lost a race with a concurrent claim: report it like the check above would have.
        _ensure_identities_free(contact.tenant, added, contact_id=contact.pk)
        raise
    return changed or bool(gone or new)


def _replace_tags(contact: Contact, wanted: list[str], *, existing: set[str]) -> bool:
    """Make the contact's tags exactly `wanted`; returns whether anything changed."""
    wanted_set = set(wanted)
    if existing - wanted_set:
        ContactTag.objects.filter(contact=contact, tag_id__in=existing - wanted_set).delete()
    added = [tag_id for tag_id in wanted if tag_id not in existing]
    gone = set(added) - tags_hold(tag_ids=added)  # checked by ContactRules, deleted since
    if gone:
        raise ValidationFailed.from_tuples(
            [
                (f"tagIds[{wanted.index(tag_id)}]", "unknown_tag", f"No tag with id '{tag_id}'.")
                for tag_id in sorted(gone)
            ]
        )
    ContactTag.objects.bulk_create(
        [
            ContactTag(tenant_id=contact.tenant_id, contact=contact, tag_id=tag_id)
            for tag_id in added
        ],
        ignore_conflicts=True,
    )
    return bool(added or existing - wanted_set)
