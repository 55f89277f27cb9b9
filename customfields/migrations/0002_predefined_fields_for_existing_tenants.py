from django.db import migrations

PREDEFINED = [("cf_email", "Email"), ("cf_phone", "Phone")]


def add_predefined(apps, schema_editor):
    """Tenants created before this app existed get Email and Phone too."""
    Tenant = apps.get_model("tenancy", "Tenant")
    Definition = apps.get_model("customfields", "CustomFieldDefinition")
    for tenant in Tenant.objects.all().iterator():
        for public_id, name in PREDEFINED:
            Definition.objects.get_or_create(
                tenant=tenant,
                public_id=public_id,
                defaults={
                    "entity_type": "contact",
                    "name": name,
                    "type": "text",
                    "predefined": True,
                    "created_by": "system",
                    "created_at": tenant.created_at,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("customfields", "0001_initial"), ("tenancy", "0001_initial")]

    operations = [migrations.RunPython(add_predefined, migrations.RunPython.noop)]
