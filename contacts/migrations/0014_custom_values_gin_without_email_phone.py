from django.db import migrations

from flownally_admin.db import PostgresOnlySQL


class Migration(migrations.Migration):
    """The GIN index of custom-field values leaves out the e-mail and phone.

    They have (tenant, value) indexes of their own (0013), which their filters use; as
    unique values they were four fifths of this index's cost on every contact written.
    Other fields' filters are containment on the same expression (customfields/types.py).

    Those indexes are partial, and PostgreSQL keeps no statistics for the expression of a
    partial index: without the statistics objects below, `email = …` was estimated at
    0.5 % of a tenant and a filter by e-mail walked the whole list (380 ms at 1M).
    """

    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [("contacts", "0013_matching_indexes_on_text")]

    operations = [
        PostgresOnlySQL(
            "CREATE STATISTICS IF NOT EXISTS contact_email_values "
            "ON ((custom_fields ->> 'cf_email')) FROM contacts_contact; "
            "CREATE STATISTICS IF NOT EXISTS contact_phone_values "
            "ON ((custom_fields ->> 'cf_phone')) FROM contacts_contact; "
            "ANALYZE contacts_contact;",
            reverse_sql="DROP STATISTICS IF EXISTS contact_email_values, contact_phone_values;",
        ),
        PostgresOnlySQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_custom_values ON contacts_contact "
            "USING gin ((custom_fields - '{cf_email,cf_phone}'::text[]) jsonb_path_ops);",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS contact_custom_values;",
        ),
        PostgresOnlySQL(
            "DROP INDEX CONCURRENTLY IF EXISTS contacts_contact_custom_fields_gin;",
            reverse_sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_contact_custom_fields_gin "
                "ON contacts_contact USING gin (custom_fields jsonb_path_ops);"
            ),
        ),
    ]
