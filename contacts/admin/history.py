"""A contact's history in the admin: its events as a timeline, in words staff can read."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.urls import reverse

from customfields.models import CustomFieldDefinition
from events.models import Event
from events.selectors import contact_event_list
from flownally_admin.tenancy.models import ApiKey, ServiceAccount, User

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
    entries = [_entry(event, names, fields) for event in page.object_list]
    return entries, page


def _entry(event: Event, names: "_ActorNames", fields: dict[str, str]) -> TimelineEntry:
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
        changes=change_lines(event.data.get("changes") or {}, fields) + _merge_lines(event.data),
    )


def _merge_lines(data: dict) -> list[str]:
    if data.get("sourceIds"):
        return [f"Merged in: {', '.join(data['sourceIds'])}"]
    if data.get("mergedInto"):
        return [f"Merged into {data['mergedInto']}"]
    return []


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
        actor_ids = {event.actor_id for event in events}
        key_ids = {event.api_key_id for event in events if event.api_key_id}
        self.users = {
            user.pk: user.get_full_name() or user.get_username()
            for user in User.objects.filter(pk__in=actor_ids)
        }
        self.accounts = dict(
            ServiceAccount.objects.filter(pk__in=actor_ids).values_list("pk", "name")
        )
        self.keys = dict(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", "token_prefix"))

    def describe(self, event: Event) -> tuple[str, str]:
        actor = event.actor_id
        if actor in self.users:
            return self.users[actor], actor
        if actor in self.accounts:
            key = self.keys.get(event.api_key_id)
            name = f"{self.accounts[actor]} (key {key}…)" if key else self.accounts[actor]
            return name, " ".join(filter(None, [actor, event.api_key_id]))
        if actor == "system":
            return "System", actor
        return actor, actor  # deleted since
