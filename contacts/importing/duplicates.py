"""ImportStatus `possibleDuplicates` (contract §11): the contacts an import created that share
an e-mail or phone with another live contact of the tenant, in the sense of the duplicates
selector (`cf_email` or an `email` identity; `cf_phone` or a `whatsapp`/`sms` identity).

Taken batch by batch, in the batch's transaction, from the contacts the batch has just
written: the count and the list of those contacts (ContactImportDuplicate, which the
admin's review list reads) commit with the batch's checkpoint, so a batch replayed after a
crash was never counted. The cost is a few index probes per created contact, spread over
the import; nothing at the end reads the import's contacts again.

Only the other key is probed. A row sharing a key of the same kind with a live contact
(`cf_email` with `cf_email`, an identity with the same identity) matches that contact and
updates it (or, in `create` mode, is rejected), so a created contact can share only across
kinds: its `cf_phone` as another's WhatsApp number, its `cf_email` as another's `email`
identity, its WhatsApp number as another's SMS number. Probing the same kind as well would
double the probes to find what matching has already ruled out.

A contact that this import created in an earlier batch and that a later one duplicates is
counted then, so a pair from one file counts twice, whichever batches they fall in.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists

from flownally_admin.tenancy.models import Tenant

from ..merging import MATCH_KEYS, contact_key_holders
from ..models import ContactImport, ContactImportDuplicate, Identity

# For each key a contact can have, its kind and where another contact holds it under the
# other key: a custom field's value as identities of these channels; an identity's
# external id as this custom field's value, or as identities of these other channels.
_FIELD_PROBES = {field: (kind, tuple(channels)) for kind, field, channels in MATCH_KEYS}
_CHANNEL_PROBES = {
    channel: (kind, field, tuple(c for c in channels if c != channel))
    for kind, field, channels in MATCH_KEYS
    for channel in channels
}


@dataclass
class DuplicatesProbe:
    """A batch's created contacts, who holds each of their keys, and the other keys to
    probe for them: worked out from the plan alone, on the planning thread, before the
    batch's transaction."""

    created: set[str] = field(default_factory=set)  # contact ids
    # (kind, value) -> the created contacts that have it: the few holders the probe finds
    # are matched to their contacts through it, not every contact to its keys.
    owners: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    values: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    identities: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def import_duplicates_probe(imp: ContactImport, plan) -> DuplicatesProbe:
    """What `import_duplicates_record` looks for, for `plan`'s created contacts: each
    contact's keys are those of `match_keys`, read straight off its fields and identities
    (a call per contact was ~6 µs of the planning thread's time)."""
    probe = DuplicatesProbe()
    if imp.dry_run:
        return probe
    values, identities, owners = probe.values, probe.identities, probe.owners
    for change in plan.creates.values():
        contact_id = change.id
        for field_name, (kind, channels) in _FIELD_PROBES.items():
            if value := change.values.get(field_name):
                owners[kind, value].add(contact_id)
                for channel in channels:
                    identities[channel].add(value)
        for identity in change.identities:
            if found := _CHANNEL_PROBES.get(identity.channel):
                kind, field_name, channels = found
                value = identity.external_id
                owners[kind, value].add(contact_id)
                values[field_name].add(value)
                for channel in channels:
                    identities[channel].add(value)
    probe.created.update(plan.creates)
    return probe


def _of_channels_held(tenant_id: str, identities: dict[str, set[str]]) -> dict[str, set[str]]:
    """The identities to probe, of the channels some live identity of the tenant is on.

    Each key probed is one descent of `uniq_live_identity`, and most tenants use a few
    channels: one with no SMS identity at all has no holder of a phone number as SMS to
    find. One question (a descent per channel) spares the batch's probes of the channels
    nobody is on, two in three of them for a file of WhatsApp numbers, e-mails and phones
    (bench/README.md). The batch's own identities are written by then, so they count.
    """
    channels = sorted(channel for channel, wanted in identities.items() if wanted)
    if not channels:
        return {}
    on = {
        f"on_{channel}": Exists(
            Identity.objects.filter(tenant_id=tenant_id, channel=channel, active=True)
        )
        for channel in channels
    }
    held = Tenant.objects.filter(pk=tenant_id).values(**on).first() or {}
    return {channel: identities[channel] for channel in channels if held.get(f"on_{channel}")}


def import_duplicates_record(imp: ContactImport, probe: DuplicatesProbe) -> int:
    """Record which contacts of this import look like duplicates after the batch of `probe`
    was written (in its transaction); returns how many were not recorded before."""
    if not probe.created:
        return 0
    identities = _of_channels_held(imp.tenant_id, probe.identities)
    flagged, earlier = set(), set()
    for holder in contact_key_holders(
        tenant_id=imp.tenant_id, values=probe.values, identities=identities
    ):
        others = probe.owners.get((holder.kind, holder.value), set()) - {holder.contact_id}
        if others:
            flagged |= others
            if holder.source_import_id == imp.pk and holder.contact_id not in probe.created:
                earlier.add(holder.contact_id)
    if earlier:
        earlier -= set(
            ContactImportDuplicate.objects.filter(
                contact_import=imp, contact_id__in=earlier
            ).values_list("contact_id", flat=True)
        )
    new = sorted(flagged | earlier)
    ContactImportDuplicate.objects.bulk_create(
        ContactImportDuplicate(contact_import=imp, contact_id=contact_id) for contact_id in new
    )
    return len(new)
