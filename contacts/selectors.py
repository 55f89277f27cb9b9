"""Reads of contacts, always inside one tenant; deleted contacts are never returned."""

import string

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from customfields.models import EntityType
from customfields.selectors import custom_field_definition_list
from customfields.types import VALUE_TYPES
from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

from .filtersets import ContactFilters
from .models import PHONE_CHANNELS, Contact, ContactTag, Identity


class ContactNotFound(NotFound):
    code = "contact_not_found"
    default_detail = "No such contact."


def contact_queryset(*, tenant: Tenant) -> QuerySet[Contact]:
    """Live contacts of the tenant with everything their representation needs, prefetched."""
    return (
        Contact.objects.filter(tenant=tenant, deleted_at__isnull=True)
        .annotate(name_key=Lower("name"))
        .prefetch_related(
            Prefetch("identities", queryset=Identity.objects.order_by("created_at", "id")),
            Prefetch(
                "tags",
                queryset=Tag.objects.annotate(name_key=Lower("name")).order_by("name_key", "id"),
            ),
        )
    )


def contact_get(*, tenant: Tenant, contact_id: str) -> Contact:
    contact = None
    if is_valid_id(contact_id, "ctc"):
        contact = contact_queryset(tenant=tenant).filter(pk=contact_id).first()
    if contact is None:
        raise ContactNotFound(f"No contact with id '{contact_id[:64]}'.")
    return contact


def contact_definitions(*, tenant: Tenant) -> list:
    """The live contact-field definitions, in the order values are shown (by name)."""
    return sorted(
        custom_field_definition_list(tenant=tenant, entity_type=EntityType.CONTACT),
        key=lambda d: (d.name.lower(), d.public_id),
    )


def contact_list(*, tenant: Tenant, filters: ContactFilters) -> QuerySet[Contact]:
    """Contacts matching every filter (AND across filters, OR within tagIds and channels)."""
    contacts = contact_queryset(tenant=tenant).filter(archived=filters.archived)
    if filters.search:
        contacts = contacts.filter(_search(tenant, filters.search))
    for definition_id, (type_name, value) in filters.custom_fields.items():
        contacts = contacts.filter(VALUE_TYPES[type_name].filter(definition_id, value))
    if filters.tag_ids:
        contacts = contacts.filter(
            Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag_id__in=filters.tag_ids))
        )
    if filters.channels:
        contacts = contacts.filter(
            Exists(
                Identity.objects.filter(
                    contact=OuterRef("pk"), channel__in=filters.channels, active=True
                )
            )
        )
    if filters.created_after:
        contacts = contacts.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        contacts = contacts.filter(created_at__lt=filters.created_before)
    return contacts


def contact_count(*, tenant: Tenant, archived: bool) -> int:
    return Contact.objects.filter(tenant=tenant, archived=archived, deleted_at__isnull=True).count()


def _search(tenant: Tenant, term: str) -> Q:
    """Name, e-mail, phone and phone identities through `search_text`; tag names through tags.

    Tags are looked up first (a tenant has few): when no tag name matches, the
    search is a single trigram-indexed substring match.
    """
    needle = search_needle(term)
    matched = Q(search_text__contains=needle)
    tag_ids = list(
        Tag.objects.filter(tenant=tenant, name__icontains=term).values_list("pk", flat=True)
    )
    if tag_ids:
        matched |= Exists(ContactTag.objects.filter(contact=OuterRef("pk"), tag_id__in=tag_ids))
    return matched


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
    return "\n".join(part.lower() for part in parts if part)
