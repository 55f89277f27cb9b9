"""A contact's history in the admin: its events as a timeline, in words staff can read."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from customfields.models import CustomFieldDefinition
from events.models import Event
from events.selectors import contact_event_list
from events.types import actor_type
from flownally_admin.tenancy.models import ApiKey
from flownally_admin.tenancy.selectors import actor_names

from ..models import Channel, Contact

TIMELINE_PAGE_SIZE = 50
_CHANNELS = dict(Channel.choices)
_HEADLINES = {
    "contact.created": "Created",
    "contact.updated": "Changed",
    "contact.archived": "Archived",
    "contact.unarchived": "Unarchived",
    "contact.deleted": "Deleted",
    "contact.restored": "Restored",
    "contact.merged": "Merged",
}


@dataclass(frozen=True)
class TimelineEntry:
    event: Event
    headline: str
    who: str
    who_title: str  # the ids behind the name, shown on hover
    source: str
    import_url: str | None
    changes: list[str]


def contact_timeline(contact: Contact, page_number) -> tuple[list[TimelineEntry], object]:
    """One page of the contact's events, newest first, each worded for people."""
    events = contact_event_list(tenant=contact.tenant, contact_id=contact.pk).order_by("-sequence")
    page = Paginator(events, TIMELINE_PAGE_SIZE).get_page(page_number)
    names = _ActorNames(page.object_list)
    fields = dict(
        CustomFieldDefinition.objects.filter(tenant_id=contact.tenant_id).values_list(
            "public_id", "name"
        )
    )
    merged = [
        contact_id
        for event in page.object_list
        for contact_id in [*event.data.get("sourceIds", []), event.data.get("mergedInto")]
        if contact_id
    ]
    contacts = dict(
        Contact.objects.filter(tenant_id=contact.tenant_id, pk__in=merged)
        .exclude(name="")
        .values_list("pk", "name")
    )
    entries = [_entry(event, names, fields, contacts) for event in page.object_list]
    return entries, page


def _entry(
    event: Event, names: "_ActorNames", fields: dict[str, str], contacts: dict[str, str]
) -> TimelineEntry:
    import_id = event.data.get("importId")
    who, who_title = names.describe(event)
    return TimelineEntry(
        event=event,
        headline=_HEADLINES.get(event.type, event.type),
        who=who,
        who_title=who_title,
        source=event.get_source_display(),
        import_url=reverse("admin:contacts_contactimport_change", args=[import_id])
        if import_id
        else None,
        changes=change_lines(event.data.get("changes") or {}, fields)
        + _merge_lines(event.data, contacts),
    )


def _merge_lines(data: dict, contacts: dict[str, str]) -> list[str]:
    """The contacts of a merge by name (from `contacts`), their ids on hover."""
    if data.get("sourceIds"):
        return [format_html("Merged in: {}", _contacts_html(data["sourceIds"], contacts))]
    if data.get("mergedInto"):
        return [format_html("Merged into {}", _contacts_html([data["mergedInto"]], contacts))]
    return []


def _contacts_html(contact_ids: list[str], contacts: dict[str, str]) -> str:
    return format_html_join(
        ", ",
        '<span title="{}">{}</span>',
        ((contact_id, contacts.get(contact_id, contact_id)) for contact_id in contact_ids),
    )


def change_lines(changes: dict, field_names: dict[str, str]) -> list[str]:
    """`changes` of a contact.updated event as sentences: "Tag VIP added"."""
    lines = []
    if "name" in changes:
        lines.append(_from_to("Name", changes["name"]))
    for identity in changes.get("identities", {}).get("added", []):
        lines.append(f"{_identity(identity)} added")
    for identity in changes.get("identities", {}).get("removed", []):
        lines.append(f"{_identity(identity)} removed")
    for tag in changes.get("tags", {}).get("added", []):
        lines.append(f"Tag {tag['name']} added")
    for tag in changes.get("tags", {}).get("removed", []):
        lines.append(f"Tag {tag['name']} removed")
    for field_id, change in changes.get("customFields", {}).items():
        lines.append(_from_to(field_names.get(field_id, field_id), change))
    return lines


def _from_to(label: str, change: dict) -> str:
    before, after = change["from"], change["to"]
    if before is None:
        return f"{label} set to {after}"
    if after is None:
        return f"{label} cleared (was {before})"
    return f"{label}: {before} → {after}"


def _identity(identity: dict) -> str:
    return f"{_CHANNELS.get(identity['channel'], identity['channel'])} {identity['externalId']}"


class _ActorNames:
    """The names behind the actor ids of a page of events, looked up once per kind."""

    def __init__(self, events):
        self.names = actor_names(actor_ids={event.actor_id for event in events})
        key_ids = {event.api_key_id for event in events if event.api_key_id}
        self.keys = dict(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", "token_prefix"))

    def describe(self, event: Event) -> tuple[str, str]:
        """(name, the ids behind it): a service account's with the key it used."""
        actor = event.actor_id
        name = self.names[actor]
        key = self.keys.get(event.api_key_id)
        if actor_type(actor) == "service_account" and name != actor:
            return (f"{name} (key {key}…)" if key else name), " ".join(
                filter(None, [actor, event.api_key_id])
            )
        return name, actor
