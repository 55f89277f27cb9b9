"""Reads of contacts, always inside one tenant; deleted contacts are never returned."""

import re
import string
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Exists, JSONField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan

from customfields.models import EntityType
from customfields.selectors import custom_field_definitions_cached
from customfields.types import VALUE_TYPES
from flownally_admin.api.pagination import KeysetOrdering
from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

from .models import (
    PHONE_CHANNELS,
    Contact,
    ContactCountDelta,
    ContactImport,
    ContactImportError,
    ContactTag,
    Identity,
)

# How far along the list order a search looks before it asks the trigram index instead:
# first this far, then as far as the matches' density says a page needs, up to the maximum
# (bench/README.md, "Which index serves which query").
SEARCH_PROBE_ROWS = 2000
SEARCH_PROBE_MAX_ROWS = 40_000
_DIGIT_RUN = re.compile(r"[0-9]{5}")


class ContactNotFound(NotFound):
    code = "contact_not_found"
    default_detail = "No such contact."

    def __init__(self, detail: str | None = None, *, merged_into: str | None = None):
        self.merged_into = merged_into
        super().__init__(detail)

    def members(self) -> dict:
        return {"mergedInto": self.merged_into} if self.merged_into else {}


def contact_not_found(*, tenant: Tenant, contact_id: str) -> ContactNotFound:
    """The error for an id that names no live contact; for one that a merge folded into
    another, it says which (one more query, on this path only)."""
    merged_into = None
    if is_valid_id(contact_id, "ctc"):
        merged_into = (
            Contact.objects.filter(tenant=tenant, pk=contact_id, deleted_at__isnull=False)
            .values_list("merged_into_id", flat=True)
            .first()
        )
    if merged_into:
        return ContactNotFound(
            f"Contact '{contact_id}' was merged into contact '{merged_into}'.",
            merged_into=merged_into,
        )
    return ContactNotFound(f"No contact with id '{contact_id[:64]}'.")


class IdentityRef(NamedTuple):
    id: str
    channel: str
    external_id: str
    metadata: dict


class TagRef(NamedTuple):
    id: str
    name: str


def contact_queryset(*, tenant: Tenant) -> QuerySet[Contact]:
    """Live contacts of the tenant, each row carrying its identities and tags as JSON
    arrays (read them with `contact_identities` and `contact_tags`).

    Not `prefetch_related`: a page of 50 contacts carries some 150 identities and tags,
    and two more queries making a model instance of each cost more than the rest of the
    page together; two correlated subqueries are ~100 index lookups for PostgreSQL.
    """
    identities, tags = _RELATED_JSON[connection.vendor]
    return Contact.objects.filter(tenant=tenant, deleted_at__isnull=True).annotate(
        name_key=Lower("name"),
        # Constant SQL below; nothing of a request goes into it.
        identity_items=RawSQL(identities, [], output_field=JSONField()),  # noqa: S611
        tag_items=RawSQL(tags, [], output_field=JSONField()),  # noqa: S611
    )


# The subqueries of `contact_queryset` in SQL, per database: composed with the ORM, their
# resolving and compiling on every request was a tenth of the web processes' CPU.
# (SQLite keeps JSON as text: JSON() makes metadata an object inside the object.)
_RELATED_JSON = {
    "postgresql": (
        "SELECT JSONB_AGG(JSONB_BUILD_OBJECT('id', i.id, 'channel', i.channel, "
        "'external_id', i.external_id, 'metadata', i.metadata, 'created_at', i.created_at)) "
        "FROM contacts_identity i WHERE i.contact_id = contacts_contact.id",
        "SELECT JSONB_AGG(JSONB_BUILD_OBJECT('id', t.id, 'name', t.name)) "
        "FROM contacts_contacttag ct JOIN tags_tag t ON t.id = ct.tag_id "
        "WHERE ct.contact_id = contacts_contact.id",
    ),
    "sqlite": (
        "SELECT JSON_GROUP_ARRAY(JSON_OBJECT('id', i.id, 'channel', i.channel, "
        "'external_id', i.external_id, 'metadata', JSON(i.metadata), "
        "'created_at', i.created_at)) "
        "FROM contacts_identity i WHERE i.contact_id = contacts_contact.id",
        "SELECT JSON_GROUP_ARRAY(JSON_OBJECT('id', t.id, 'name', t.name)) "
        "FROM contacts_contacttag ct JOIN tags_tag t ON t.id = ct.tag_id "
        "WHERE ct.contact_id = contacts_contact.id",
    ),
}


def contact_identities(contact: Contact) -> list[IdentityRef]:
    """The identities of a contact from `contact_queryset`, oldest first. (Timestamps come
    as the database writes them in JSON, fixed-width up to the seconds, so the strings
    sort as the times do.)"""
    items = sorted(contact.identity_items or [], key=lambda i: (i["created_at"], i["id"]))
    return [IdentityRef(i["id"], i["channel"], i["external_id"], i["metadata"]) for i in items]


def contact_tags(contact: Contact) -> list[TagRef]:
    """The tags of a contact from `contact_queryset`, by name ignoring case."""
    items = sorted(contact.tag_items or [], key=lambda t: (t["name"].lower(), t["id"]))
    return [TagRef(t["id"], t["name"]) for t in items]


def contact_get(*, tenant: Tenant, contact_id: str) -> Contact:
    contact = None
    if is_valid_id(contact_id, "ctc"):
        contact = contact_queryset(tenant=tenant).filter(pk=contact_id).first()
    if contact is None:
        raise contact_not_found(tenant=tenant, contact_id=contact_id)
    return contact


def contact_check_live(*, tenant: Tenant, contact_id: str) -> None:
    """Raise ContactNotFound unless the tenant has this live contact: `contact_get` for a
    caller that needs only to know (it reads no identities or tags)."""
    live = is_valid_id(contact_id, "ctc") and (
        Contact.objects.filter(tenant=tenant, pk=contact_id, deleted_at__isnull=True).exists()
    )
    if not live:
        raise contact_not_found(tenant=tenant, contact_id=contact_id)


def contact_definitions(*, tenant: Tenant) -> list:
    """The live contact-field definitions, in the order values are shown (by name)."""
    return sorted(
        custom_field_definitions_cached(tenant=tenant, entity_type=EntityType.CONTACT),
        key=lambda d: (d.name.lower(), d.public_id),
    )


# The filters of the contact list (contacts/filtersets.py applies them; so may the admin).


def contact_filter_by_values(
    contacts: QuerySet[Contact], values: dict[str, tuple[str, str]]
) -> QuerySet[Contact]:
    """Contacts holding every one of `values` ({definition id: (its type, the stored
    value)}), exactly."""
    for definition_id, (type_name, value) in values.items():
        contacts = contacts.filter(VALUE_TYPES[type_name].filter(definition_id, value))
    return contacts


def contact_filter_by_tags(contacts: QuerySet[Contact], tag_ids) -> QuerySet[Contact]:
    """Contacts carrying any of the tags."""
    return contacts.filter(
        Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag_id__in=tag_ids))
    )


def contact_filter_by_channels(contacts: QuerySet[Contact], channels) -> QuerySet[Contact]:
    """Contacts with an active identity on any of the channels."""
    return contacts.filter(
        Exists(Identity.objects.filter(contact=OuterRef("pk"), channel__in=channels, active=True))
    )


def contact_count(*, tenant: Tenant, archived: bool) -> int:
    """Live contacts in the bucket: the sum of its deltas (see ContactCountDelta), which a
    periodic task keeps few (`contact_counts_compact`)."""
    deltas = ContactCountDelta.objects.filter(tenant=tenant, archived=archived)
    return deltas.aggregate(total=Sum("delta"))["total"] or 0


def contact_counts(*, tenant_ids: list[str]) -> dict[str, dict[str, int]]:
    """`contact_count` of both buckets of several tenants in one read, as
    {tenant id: {"active": n, "archived": n}} (every tenant asked for is in it)."""
    counts = {tenant_id: {"active": 0, "archived": 0} for tenant_id in tenant_ids}
    sums = (
        ContactCountDelta.objects.filter(tenant_id__in=tenant_ids)
        .values_list("tenant_id", "archived")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    for tenant_id, archived, total in sums:
        counts[tenant_id]["archived" if archived else "active"] = total
    return counts


@dataclass(frozen=True)
class ContactSearch:
    """`search`: name, e-mail, phone and phone identities through `search_text`; tag names
    through the tags that match (a tenant has few, so they are looked up first).

    As a keyset-pagination refinement: a common term (half the tenant is called
    Smith) is found fastest by walking the list order and testing rows; a rare
    one by the trigram index. `probe` tries the first for a stretch.
    """

    needle: str
    tag_ids: tuple[str, ...]

    def q(self) -> Q:
        """The search as a filter the trigram index serves."""
        indexed = self.indexed_part
        matched = Q(search_text__contains=indexed)
        if indexed != self.needle:  # the rest is checked on the rows the index found
            matched &= self._contains()
        if self.tag_ids:
            tagged = ContactTag.objects.filter(contact=OuterRef("pk"), tag_id__in=self.tag_ids)
            matched |= Exists(tagged)
        return matched

    def _contains(self) -> Q:
        """`search_text` contains the needle, in a form no index serves."""
        return Q(GreaterThan(StrIndex("search_text", Value(self.needle)), 0))

    @property
    def indexed_part(self) -> str:
        """What the trigram index is asked for: the needle, or for an e-mail address its
        part up to the `@`. The trigrams of a domain are in every address at it
        (`example.com`: a million rows), and the index reads each trigram's whole list of
        rows before intersecting them; the local part alone is as selective at a
        fraction of the reading."""
        local, at, _ = self.needle.partition("@")
        return local + at if at and len(local) >= 3 else self.needle

    @property
    def looks_rare(self) -> bool:
        """An e-mail address or a run of five digits (a phone number, an order number) is
        in a handful of rows: the trigram index finds those at once, and walking the list
        for them would only add its cost. Matching tags may be common: those never are."""
        return not self.tag_ids and ("@" in self.needle or _DIGIT_RUN.search(self.needle))

    def probe(self, ordered: QuerySet, ordering: KeysetOrdering, needed: int) -> list[str] | None:
        """Look for the first `needed` matches along the list order, in SQL, within a
        window of SEARCH_PROBE_ROWS rows; when the window holds a few matches but not
        enough, once more within the window their density says would be enough (at most
        SEARCH_PROBE_MAX_ROWS). A term seen nowhere in the first window goes to the
        trigram index at once."""
        if self.looks_rare:
            return None
        hits, whole_list = self._matches_within(ordered, ordering, needed, SEARCH_PROBE_ROWS)
        if len(hits) >= needed or whole_list:
            return hits
        if not hits:
            return None
        rows = SEARCH_PROBE_ROWS * needed * 3 // (2 * len(hits))  # half again, for chance
        if rows > SEARCH_PROBE_MAX_ROWS:
            return None
        hits, whole_list = self._matches_within(ordered, ordering, needed, rows)
        return hits if len(hits) >= needed or whole_list else None

    def _matches_within(
        self, ordered: QuerySet, ordering: KeysetOrdering, needed: int, rows: int
    ) -> tuple[list[str], bool]:
        """The first `needed` matching pks among the first `rows` rows of `ordered`, and
        whether those rows were the whole list. The scan along the ordering's index stops
        at the window's last sort key (one index-only scan finds it)."""
        last = list(ordered.values_list(*ordering.fields)[rows - 1 : rows])
        window = ordered.filter(ordering.through(last[0])) if last else ordered
        # Worded so that PostgreSQL cannot take the trigram index (or hash every link of a
        # common tag) for it: the rows are the window's, reached along the ordering.
        matched = self._contains()
        if self.tag_ids:
            tagged = ContactTag.objects.filter(
                tag_id__in=self.tag_ids, contact__in=window.values("pk")
            )
            matched |= Q(pk__in=tagged.values("contact_id"))
        hits = list(window.filter(matched).values_list("pk", flat=True)[:needed])
        return hits, not last


def contact_search(*, tenant_ids: list[str], term: str) -> ContactSearch:
    """The search for `term` among contacts of these tenants (the API: one; a staff
    member in the admin: each tenant they belong to)."""
    tags = Tag.objects.filter(tenant_id__in=tenant_ids, name__icontains=term)
    return ContactSearch(
        needle=search_needle(term), tag_ids=tuple(tags.values_list("pk", flat=True))
    )


def search_needle(term: str) -> str:
    """What to look for in `search_text`. A term that looks like a phone number is reduced
    to its digits (and leading +), so `(415) 555` finds `+14155550123`."""
    term = term.strip().lower()
    digits = "".join(ch for ch in term if ch in string.digits)
    if len(digits) >= 3 and all(ch in string.digits or ch in "+ -()." for ch in term):
        return ("+" if term.startswith("+") else "") + digits
    return term


def contact_search_text(*, name: str, custom_fields: dict, identities) -> str:
    """The text `search` looks in: lower-cased, one entry per line."""
    parts = [name, custom_fields.get("cf_email"), custom_fields.get("cf_phone")]
    parts += [i.external_id for i in identities if i.channel in PHONE_CHANNELS]
    return "\n".join(filter(None, parts)).lower()  # one lower() for all: an import's every row


class ImportNotFound(NotFound):
    code = "import_not_found"
    default_detail = "No such import."


IMPORT_ERRORS_SHOWN = 1000


def contact_import_get(*, tenant: Tenant, import_id: str) -> ContactImport:
    imp = None
    if is_valid_id(import_id, "imp"):
        imp = ContactImport.objects.filter(tenant=tenant, pk=import_id).first()
    if imp is None:
        raise ImportNotFound(f"No import with id '{import_id[:64]}'.")
    return imp


def contact_import_list(
    *, tenant_ids: list[str] | None, statuses: tuple[str, ...]
) -> QuerySet[ContactImport]:
    """Imports of these tenants (None: of every tenant) in these statuses, newest first,
    with their tenant; the caller takes the first few."""
    imports = ContactImport.objects.filter(status__in=statuses)
    if tenant_ids is not None:
        imports = imports.filter(tenant_id__in=tenant_ids)
    return imports.select_related("tenant").order_by("-created_at", "-id")


def contact_import_first_errors(
    *, contact_import: ContactImport, limit: int = IMPORT_ERRORS_SHOWN
) -> list[dict]:
    """The first errors in row order, as dicts of row, column, code, message and value.

    As many as an ImportStatus shows by default. Plain values, not model instances: a
    client polling a running import gets these on every poll, and building a thousand
    instances and serializing them field by field cost ~19 ms of CPU per poll.
    """
    return list(
        ContactImportError.objects.filter(contact_import=contact_import)
        .order_by("row", "column")
        .values("row", "column", "code", "message", "value")[:limit]
    )


def contact_import_error_rows(*, contact_import: ContactImport):
    """Every error as (row, column, code, message, value), streamed in row order."""
    return (
        ContactImportError.objects.filter(contact_import=contact_import)
        .order_by("row", "column")
        .values_list("row", "column", "code", "message", "value")
        .iterator(chunk_size=2000)
    )
