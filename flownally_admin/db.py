"""Database helpers: a migration operation, and JSON expressions both backends speak."""

from django.db import migrations
from django.db.models import Aggregate, Func, JSONField


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases.

    PostgreSQL-only indexes (GIN, pg_trgm) speed up the production database;
    SQLite, the embedded default, gives the same answers without them.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class JSONArrayAgg(Aggregate):
    """The aggregated values as one JSON array, in no particular order (PostgreSQL's
    JSONB_AGG, SQLite's JSON_GROUP_ARRAY): related rows in one column of their parent's
    row instead of a query and a Python object per row."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


class JSONValue(Func):
    """A JSONField column as a JSON value inside `JSONObject`; SQLite keeps JSON as text
    and would embed it as a string."""

    template = "%(expressions)s"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="JSON(%(expressions)s)", **extra_context
        )
