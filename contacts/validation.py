"""The rules for contact input, shared by the API, the admin and the CSV importer.

Everything here is pure: callers load what the rules need (the tenant's
definitions and tags) once, in a `ContactRules`, and then check any number of
contacts against it without further queries — one API request or a batch of
ten thousand import rows alike. Problems are collected with their member paths
so that a client sees them all at once.
"""

import json
from dataclasses import dataclass, field

from customfields.models import CustomFieldDefinition, EntityType
from customfields.selectors import custom_field_definitions_cached
from customfields.types import InvalidValue, normalize_email, normalize_phone, value_normalize
from flownally_admin.errors import ViolationCollector
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

from .models import EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH, PHONE_CHANNELS, Channel

METADATA_MAX_BYTES = 4096
# The most a request may list: a person has a handful of addresses, a contact a few dozen
# tags, a tenant a few hundred fields. Bounds keep one request's work (and errors) small.
MAX_IDENTITIES = 50
MAX_TAG_IDS = 100
MAX_CUSTOM_FIELD_VALUES = 200

# InvalidValue codes that the API reports under another FieldViolation code.
_API_CODES = {"invalid_value": "invalid"}


@dataclass(frozen=True)
class IdentityInput:
    channel: str
    external_id: str
    metadata: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.external_id)

    def __reduce__(self):
        # As its fields, like the import's CheckedRow (contacts/importing/rows.py).
        return (IdentityInput, (self.channel, self.external_id, self.metadata))


@dataclass(frozen=True)
class ContactRules:
    """What validating a tenant's contacts needs to know, loaded once."""

    definitions: dict[str, CustomFieldDefinition]
    tag_ids: frozenset[str]

    @classmethod
    def load(cls, tenant: Tenant, *, tag_ids: list[str] | None = None) -> "ContactRules":
        """Live contact-field definitions, and which of `tag_ids` exist in the tenant."""
        definitions = custom_field_definitions_cached(tenant=tenant, entity_type=EntityType.CONTACT)
        known_tags = frozenset()
        if tag_ids:
            known_tags = frozenset(
                Tag.objects.filter(tenant=tenant, pk__in=tag_ids).values_list("pk", flat=True)
            )
        return cls(definitions={d.public_id: d for d in definitions}, tag_ids=known_tags)


def normalize_name(raw: str | None) -> str:
    """Trimmed; "" means no name. Raises InvalidValue."""
    name = (raw or "").strip()
    if "\x00" in name:
        raise InvalidValue("invalid_value", "The name contains a NUL character.")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidValue("too_long", f"A name has at most {NAME_MAX_LENGTH} characters.")
    return name


def normalize_external_id(channel: str, raw: str) -> str:
    """The channel's canonical address: E.164 for phones, lower-case e-mail, else trimmed."""
    if channel in PHONE_CHANNELS:
        return normalize_phone(raw)
    if channel == Channel.EMAIL:
        return normalize_email(raw)
    value = raw.strip()
    if not value:
        raise InvalidValue("required", "An external id is required.")
    if "\x00" in value:
        raise InvalidValue("invalid_value", "The external id contains a NUL character.")
    if len(value) > EXTERNAL_ID_MAX_LENGTH:
        raise InvalidValue(
            "too_long", f"An external id has at most {EXTERNAL_ID_MAX_LENGTH} characters."
        )
    return value


def check_name(raw, errors: ViolationCollector, path: str = "name") -> str | None:
    try:
        return normalize_name(raw)
    except InvalidValue as exc:
        errors.add(path, _API_CODES.get(exc.code, exc.code), exc.message)
        return None


def check_identities(raw: list[dict], errors: ViolationCollector) -> list[IdentityInput]:
    """Each `{channel, externalId, metadata?}` normalised; duplicates in one request refused."""
    if len(raw) > MAX_IDENTITIES:
        errors.add(
            "identities", "out_of_range", f"A contact has at most {MAX_IDENTITIES} identities."
        )
        return []
    identities, seen = [], set()
    for index, item in enumerate(raw):
        path = f"identities[{index}]"
        channel = item.get("channel")
        if channel not in Channel.values:
            errors.add(f"{path}.channel", "invalid_choice", _choice_message("channel", Channel))
            continue
        try:
            external_id = normalize_external_id(channel, item.get("externalId") or "")
        except InvalidValue as exc:
            errors.add(f"{path}.externalId", _API_CODES.get(exc.code, exc.code), exc.message)
            continue
        metadata = item.get("metadata")
        metadata = {} if metadata is None else metadata
        if not isinstance(metadata, dict):
            errors.add(f"{path}.metadata", "invalid", "metadata must be a JSON object.")
            continue
        serialized = json.dumps(metadata, separators=(",", ":"))
        if "\\u0000" in serialized:  # PostgreSQL's JSONB cannot hold NUL
            errors.add(f"{path}.metadata", "invalid", "metadata cannot contain NUL characters.")
            continue
        if len(serialized.encode()) > METADATA_MAX_BYTES:
            errors.add(
                f"{path}.metadata", "too_long", f"metadata is at most {METADATA_MAX_BYTES} bytes."
            )
            continue
        identity = IdentityInput(channel, external_id, metadata)
        if identity.key in seen:
            errors.add(f"{path}.externalId", "invalid", "The same identity is listed twice.")
            continue
        seen.add(identity.key)
        identities.append(identity)
    return identities


def check_tag_ids(raw: list[str], rules: ContactRules, errors: ViolationCollector) -> list[str]:
    tag_ids = []
    for index, tag_id in enumerate(raw):
        if tag_id not in rules.tag_ids:
            errors.add(f"tagIds[{index}]", "unknown_tag", f"No tag with id '{tag_id[:64]}'.")
        elif tag_id not in tag_ids:
            tag_ids.append(tag_id)
    return tag_ids


def check_custom_fields(
    raw: dict[str, str], rules: ContactRules, errors: ViolationCollector
) -> dict[str, str | None]:
    """`{definition id: stored value, or None to clear}`."""
    values = {}
    for definition_id, raw_value in raw.items():
        path = f"customFields.{definition_id}"
        definition = rules.definitions.get(definition_id)
        if definition is None:
            errors.add(
                path,
                "unknown_custom_field",
                f"No contact custom field with id '{definition_id[:64]}'.",
            )
            continue
        try:
            values[definition_id] = value_normalize(definition_id, definition.type, raw_value)
        except InvalidValue as exc:
            errors.add(path, _API_CODES.get(exc.code, exc.code), exc.message)
    return values


def _choice_message(member: str, choices) -> str:
    return f"{member} must be one of: {', '.join(choices.values)}."
