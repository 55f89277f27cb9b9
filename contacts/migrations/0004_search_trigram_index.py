from django.db import migrations

from flownally_admin.db import PostgresOnlySQL


class Migration(migrations.Migration):
    """`search` is a substring match on `search_text`; pg_trgm makes that an index scan."""

    atomic = False  # CONCURRENTLY cannot run inside a transaction

    dependencies = [("contacts", "0003_identities_tags_and_list_indexes")]

    operations = [
        PostgresOnlySQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        PostgresOnlySQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_contact_search_trgm "
            "ON contacts_contact USING gin (search_text gin_trgm_ops) "
            "WHERE deleted_at IS NULL;",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS contacts_contact_search_trgm;",
        ),
    ]
