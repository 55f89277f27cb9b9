from django.db import migrations

from flownally_admin.db import PostgresOnlySQL


class Migration(migrations.Migration):
    """Exact-match custom-field filters are JSONB containment (`@>`), served by this index."""

    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [("contacts", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_contact_custom_fields_gin "
            "ON contacts_contact USING gin (custom_fields jsonb_path_ops);",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS contacts_contact_custom_fields_gin;",
        ),
    ]
