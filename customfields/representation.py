"""A custom-field definition as the API shows it: in answers and in events."""

from flownally_admin.timestamps import rfc3339

from .models import CustomFieldDefinition


def custom_field_data(definition: CustomFieldDefinition) -> dict:
    return {
        "id": definition.public_id,
        "name": definition.name,
        "type": definition.type,
        "createdAt": rfc3339(definition.created_at),
        "createdBy": definition.created_by,
        "predefined": definition.predefined,
        "entityType": definition.entity_type,
    }
