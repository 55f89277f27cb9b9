"""Writes of custom field definitions, with the rules of contract §3 (17–24)."""

import uuid

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from events.services import event_record
from events.types import EventType
from flownally_admin.errors import Conflict, ValidationFailed
from flownally_admin.ids import new_id
from flownally_admin.tenancy.models import Tenant

from .models import NAME_MAX_LENGTH, CustomFieldDefinition, EntityType
from .representation import custom_field_data
from .selectors import (
    custom_field_definition_get,
    custom_field_definition_list,
    custom_field_value_holders,
    custom_field_value_model,
)
from .types import PREDEFINED_CONTACT_FIELDS, VALUE_TYPES, InvalidValue

PURGE_BATCH_SIZE = 5000
SYSTEM_ACTOR = "system"


class CustomFieldExists(Conflict):
    code = "custom_field_exists"


class CustomFieldPredefined(Conflict):
    code = "custom_field_predefined"
    default_detail = "Predefined fields cannot be renamed, retyped or deleted."


class TypeChangeConflict(Conflict):
    code = "type_change_conflict"


def custom_field_predefined_ensure(*, tenant: Tenant) -> None:
    """Give the tenant its predefined contact fields (Email, Phone) if it lacks them."""
    for field in PREDEFINED_CONTACT_FIELDS.values():
        CustomFieldDefinition.objects.get_or_create(
            tenant=tenant,
            public_id=field.id,
            defaults={
                "entity_type": EntityType.CONTACT,
                "name": field.name,
                "type": field.type,
                "predefined": True,
                "created_by": SYSTEM_ACTOR,
                "created_at": tenant.created_at,
            },
        )


def custom_field_definition_validate(
    *,
    tenant: Tenant,
    entity_type: str,
    name: str | None,
    type: str | None,
    definition: CustomFieldDefinition | None = None,
) -> tuple[str | None, str | None]:
    """Normalised (name, type) for a new or changed definition; `None` means "unchanged".

    The admin form calls this too, so both doors give the same answers.
    """
    if definition is not None and definition.predefined:
        raise CustomFieldPredefined(f"'{definition.name}' is predefined and cannot be changed.")
    violations = []
    if name is not None:
        name = name.strip()
        if not name:
            violations.append(("name", "required", "A name is required."))
        elif len(name) > NAME_MAX_LENGTH:
            violations.append(
                ("name", "too_long", f"A name has at most {NAME_MAX_LENGTH} characters.")
            )
    if type is not None and type not in VALUE_TYPES:
        choices = ", ".join(VALUE_TYPES)
        violations.append(("type", "invalid_choice", f"type must be one of: {choices}."))
    if violations:
        raise ValidationFailed.from_tuples(violations)
    if name is not None:
        clash = custom_field_definition_list(tenant=tenant, entity_type=entity_type).filter(
            name__iexact=name
        )
        if definition is not None:
            clash = clash.exclude(pk=definition.pk)
        if clash.exists():
            raise CustomFieldExists(f"A {entity_type} field named '{name}' already exists.")
    if definition is not None and type is not None and type != definition.type:
        failing = custom_field_retype_failures(definition=definition, new_type=type)
        if failing:
            raise TypeChangeConflict(
                f"{failing} existing value{'s' if failing != 1 else ''} of "
                f"'{definition.name}' {'are' if failing != 1 else 'is'} not valid as {type}."
            )
    return name, type


def custom_field_retype_failures(*, definition: CustomFieldDefinition, new_type: str) -> int:
    """How many stored values the new type would refuse (checked by the type's own rule)."""
    holders = custom_field_value_holders(definition=definition)
    if holders is None:
        return 0
    normalize = VALUE_TYPES[new_type].normalize
    failures = 0
    values = holders.values_list("custom_fields", flat=True).iterator(chunk_size=2000)
    for custom_fields in values:
        try:
            normalize(str(custom_fields[definition.public_id]))
        except InvalidValue:
            failures += 1
    return failures


def custom_field_definition_create(
    *, tenant: Tenant, entity_type: str, name: str, type: str, created_by: str
) -> CustomFieldDefinition:
    name, type = custom_field_definition_validate(
        tenant=tenant, entity_type=entity_type, name=name, type=type
    )
    try:
        with transaction.atomic():
            definition = CustomFieldDefinition.objects.create(
                tenant=tenant,
                public_id=new_id("cf"),
                entity_type=entity_type,
                name=name,
                type=type,
                created_by=created_by,
            )
            _definitions_changed(tenant)
            event_record(
                tenant=tenant,
                type=EventType.CUSTOM_FIELD_CREATED,
                data={"customField": custom_field_data(definition)},
            )
            return definition
    except IntegrityError:
        raise CustomFieldExists(f"A {entity_type} field named '{name}' already exists.") from None


def custom_field_definition_update(
    *,
    tenant: Tenant,
    entity_type: str,
    definition_id: str,
    name: str | None = None,
    type: str | None = None,
) -> CustomFieldDefinition:
    """Rename and/or retype. The definition row is locked while existing values are checked,
    so a concurrent retype cannot interleave with this one."""
    with transaction.atomic():
        definition = custom_field_definition_get(
            tenant=tenant, entity_type=entity_type, definition_id=definition_id
        )
        definition = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        name, type = custom_field_definition_validate(
            tenant=tenant, entity_type=entity_type, name=name, type=type, definition=definition
        )
        before = custom_field_data(definition)
        if name is not None:
            definition.name = name
        if type is not None:
            definition.type = type
        after = custom_field_data(definition)
        changes = {
            part: {"from": before[part], "to": after[part]}
            for part in ("name", "type")
            if before[part] != after[part]
        }
        if not changes:
            return definition
        try:
            with transaction.atomic():
                definition.save(update_fields=["name", "type"])
        except IntegrityError:
            raise CustomFieldExists(
                f"A {entity_type} field named '{name}' already exists."
            ) from None
        _definitions_changed(tenant)
        event_record(
            tenant=tenant,
            type=EventType.CUSTOM_FIELD_UPDATED,
            data={"customField": after, "changes": changes},
        )
    return definition


def custom_field_definition_delete(*, tenant: Tenant, entity_type: str, definition_id: str) -> None:
    """Hide the definition and its values at once; purge the stored values in the background."""
    from .tasks import custom_field_definition_purge_task

    definition = custom_field_definition_get(
        tenant=tenant, entity_type=entity_type, definition_id=definition_id
    )
    if definition.predefined:
        raise CustomFieldPredefined(f"'{definition.name}' is predefined and cannot be deleted.")
    with transaction.atomic():
        definition.deleted_at = timezone.now()
        definition.save(update_fields=["deleted_at"])
        _definitions_changed(tenant)
        # The values vanish with this event; the purge that follows changes nothing visible.
        event_record(
            tenant=tenant,
            type=EventType.CUSTOM_FIELD_DELETED,
            data={"customFieldId": definition.public_id},
        )
    transaction.on_commit(lambda: custom_field_definition_purge_task.delay(definition.pk))


def custom_field_definition_purge(*, definition_pk: int) -> int:
    """Remove a deleted definition's values in batches, then the definition; returns values removed.

    Safe to run twice or to resume after a crash: each batch removes the key
    from rows that still have it, and the definition goes only when none do.
    """
    definition = CustomFieldDefinition.objects.filter(
        pk=definition_pk, deleted_at__isnull=False
    ).first()
    if definition is None:
        return 0
    removed = 0
    model = custom_field_value_model(definition.entity_type)
    if model is not None:
        while batch := _purge_batch(model, definition):
            removed += batch
    definition.delete()
    return removed


def _purge_batch(model, definition: CustomFieldDefinition) -> int:
    """Remove the key from up to PURGE_BATCH_SIZE rows in one statement; returns rows changed."""
    table = model._meta.db_table
    tenant_column = model._meta.get_field("tenant").column
    if connection.vendor == "postgresql":
        remove = "custom_fields - %s"
        has_key = "custom_fields ? %s"
        key = definition.public_id
    else:
        remove = "json_remove(custom_fields, %s)"
        has_key = "json_type(custom_fields, %s) IS NOT NULL"
        key = f'$."{definition.public_id}"'
    sql = (
        f"UPDATE {table} SET custom_fields = {remove} WHERE id IN ("  # noqa: S608 (identifiers are ours)
        f"SELECT id FROM {table} WHERE {tenant_column} = %s AND {has_key} LIMIT %s)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [key, definition.tenant_id, key, PURGE_BATCH_SIZE])
        return cursor.rowcount


def _definitions_changed(tenant: Tenant) -> None:
    """Tell every process that its cached definitions of this tenant are out of date
    (see `custom_field_definitions_cached`); in the transaction of the change."""
    tenant.custom_fields_version = uuid.uuid4()
    Tenant.objects.filter(pk=tenant.pk).update(custom_fields_version=tenant.custom_fields_version)
