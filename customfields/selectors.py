"""Reads of custom field definitions; a deleted definition is invisible from its delete on."""

import uuid
from functools import lru_cache

from django.apps import apps
from django.db.models import QuerySet
from django.db.models.functions import Lower

from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import CustomFieldDefinition, EntityType
from .types import PREDEFINED_CONTACT_FIELDS

# Where each entity type keeps its values (`custom_fields` JSON keyed by definition id).
# Property records have definitions but no stored records yet.
VALUE_MODELS: dict[str, str] = {EntityType.CONTACT: "contacts.Contact"}


_DISPLAY_ORDER = ("-predefined", Lower("name"), "public_id")


class CustomFieldNotFound(NotFound):
    code = "custom_field_not_found"
    default_detail = "No such custom field definition."


def custom_field_definition_list(
    *, tenant: Tenant, entity_type: str
) -> QuerySet[CustomFieldDefinition]:
    """Live definitions, predefined first, then by name ignoring case."""
    return CustomFieldDefinition.objects.filter(
        tenant=tenant, entity_type=entity_type, deleted_at__isnull=True
    ).order_by(*_DISPLAY_ORDER)


def custom_field_definitions_cached(
    *, tenant: Tenant, entity_type: str
) -> tuple[CustomFieldDefinition, ...]:
    """`custom_field_definition_list`, kept by each process until the tenant's
    `custom_fields_version` moves on: every contact read needs the definitions, and they
    change rarely. The instances are shared between requests; never modify them."""
    return _definitions_at_version(tenant.pk, tenant.custom_fields_version, entity_type)


@lru_cache(maxsize=1024)
def _definitions_at_version(
    tenant_id: str, version: uuid.UUID, entity_type: str
) -> tuple[CustomFieldDefinition, ...]:
    return tuple(
        CustomFieldDefinition.objects.filter(
            tenant_id=tenant_id, entity_type=entity_type, deleted_at__isnull=True
        ).order_by(*_DISPLAY_ORDER)
    )


def custom_field_definition_get(
    *, tenant: Tenant, entity_type: str, definition_id: str
) -> CustomFieldDefinition:
    definition = None
    if definition_id in PREDEFINED_CONTACT_FIELDS or is_valid_id(definition_id, "cf"):
        definition = (
            custom_field_definition_list(tenant=tenant, entity_type=entity_type)
            .filter(public_id=definition_id)
            .first()
        )
    if definition is None:
        raise CustomFieldNotFound(f"No {entity_type} custom field with id '{definition_id[:64]}'.")
    return definition


def custom_field_value_model(entity_type: str):
    """The model whose `custom_fields` hold values of this entity type, or None."""
    label = VALUE_MODELS.get(entity_type)
    return apps.get_model(label) if label else None


def custom_field_value_holders(*, definition: CustomFieldDefinition) -> QuerySet | None:
    """Records of the definition's tenant (deleted ones too) holding a value for it."""
    model = custom_field_value_model(definition.entity_type)
    if model is None:
        return None
    return model.objects.filter(
        tenant_id=definition.tenant_id, custom_fields__has_key=definition.public_id
    )
