"""Writing an export's file: read one snapshot, stream it as CSV into storage.

The rows are read on a connection of their own, inside one read-only transaction
(PostgreSQL: REPEATABLE READ), so the count and every row see the contacts as they were
when the export started, while progress is saved on the worker's usual connection for
pollers to see. On PostgreSQL the rows stream out of `COPY (SELECT …) TO STDOUT`; on
SQLite they are fetched a few thousand at a time. Either way nothing holds more than a
chunk of the file in memory: the chunks go to storage as they are made.
"""

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections

from contacts.csvcells import formula_escape
from flownally_admin.timestamps import rfc3339

from .columns import ExportColumn
from .selectors import ExportQuery

BOM = "\ufeff"
FETCH_ROWS = 2000  # rows per fetch on SQLite

# psycopg's type of each kind of value, for COPY to parse the text it sends.
_COPY_TYPES = {
    "id": "text",
    "name": "text",
    "field": "text",
    "tags": "text[]",
    "archived": "bool",
    "createdAt": "timestamptz",
    "updatedAt": "timestamptz",
    "identities": "text[]",
}


class Snapshot:
    """The contacts as they were when it was taken: a count, then the rows."""

    def __init__(self, db, *, copy: bool):
        self._db = db  # a Django connection
        self._copy = copy

    def tag_names(self, tenant_id: str) -> dict[str, str]:
        """{tag id: name} of the tenant's tags, as of the snapshot."""
        with self._db.cursor() as cursor:
            cursor.execute("SELECT id, name FROM tags_tag WHERE tenant_id = %s", [tenant_id])
            return dict(cursor.fetchall())

    def count(self, query: ExportQuery) -> int:
        with self._db.cursor() as cursor:
            cursor.execute(query.count_sql, query.count_params)
            return cursor.fetchone()[0]

    def rows(self, query: ExportQuery) -> Iterator[tuple]:
        if self._copy:
            with self._db.connection.cursor() as cursor:
                statement = f"COPY ({query.sql}) TO STDOUT"
                with cursor.copy(statement, query.params) as copy:
                    copy.set_types([_COPY_TYPES[kind] for kind in query.kinds])
                    yield from copy.rows()
            return
        with self._db.cursor() as cursor:
            cursor.execute(query.sql, query.params)
            while batch := cursor.fetchmany(FETCH_ROWS):
                yield from batch


@contextmanager
def snapshot() -> Iterator[Snapshot]:
    """A consistent read of the database, on a connection of its own.

    Inside an outer transaction (tests, eager tasks) another connection could not see
    what it holds: the read then happens on this connection, in that transaction.
    """
    if connection.in_atomic_block:
        yield Snapshot(connection, copy=connection.vendor == "postgresql")
        return
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        reader.ensure_connection()
        if reader.vendor == "postgresql":
            raw = reader.connection
            raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            raw.read_only = True
            with raw.transaction():
                yield Snapshot(reader, copy=True)
        else:
            # WAL: a read transaction sees the database as of its first read.
            with reader.cursor() as cursor:
                cursor.execute("BEGIN DEFERRED")
            try:
                yield Snapshot(reader, copy=False)
            finally:
                with reader.cursor() as cursor:
                    cursor.execute("COMMIT")
    finally:
        reader.close()


def csv_chunks(
    rows: Iterator[tuple],
    *,
    query: ExportQuery,
    columns: list[ExportColumn],
    tag_names: dict[str, str],
    vendor: str,
    progress: Callable[[int], None],
) -> Iterator[bytes]:
    """The file, as UTF-8 chunks of EXPORT_CHUNK_ROWS rows: a BOM and the header first.
    `tag_names`: {tag id: name} of the tenant. `progress(rows written so far)` is called
    after each chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    buffer.write(BOM)
    writer.writerow([formula_escape(column.header) for column in columns])
    cells_of = _row_reader(query, columns, tag_names, sqlite=vendor != "postgresql")
    written, chunk_rows = 0, settings.EXPORT_CHUNK_ROWS
    for row in rows:
        writer.writerow(cells_of(row))
        written += 1
        if written % chunk_rows == 0:
            yield _take(buffer)
            progress(written)
    yield _take(buffer)
    progress(written)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def _row_reader(
    query: ExportQuery, columns: list[ExportColumn], tag_names: dict[str, str], *, sqlite: bool
):
    """row → its cells in `columns` order. Made once per export, as it runs for every
    row: a getter per column, after the row's identities (grouped by channel) and tags
    (named and sorted) are worked out once."""
    at = {kind: index for index, kind in enumerate(query.kinds) if kind != "field"}
    fields = iter(index for index, kind in enumerate(query.kinds) if kind == "field")
    getters = []
    for column in columns:
        if column.kind == "field":
            getters.append(_text(next(fields)))
        elif column.kind in ("id", "name", "tags"):
            getters.append(_text(at[column.kind]))
        elif column.kind == "archived":
            getters.append(_archived(at["archived"]))
        elif column.kind in ("createdAt", "updatedAt"):
            getters.append(_timestamp(at[column.kind], sqlite))
        else:
            getters.append(_identity(at["identities"], column.key))
    prepare = _preparer(at.get("identities"), at.get("tags"), tag_names, sqlite)
    if prepare is None:
        return lambda row: [get(row) for get in getters]

    def cells(row):
        row = prepare(row)
        return [get(row) for get in getters]

    return cells


def _preparer(identities_at, tags_at, tag_names: dict[str, str], sqlite: bool):
    """row → the row with its identities as {channel: cell} and its tags as one cell."""
    if identities_at is None and tags_at is None:
        return None
    rank = {tag_id: (name.lower(), tag_id) for tag_id, name in tag_names.items()}

    def prepare(row):
        row = list(row)
        if identities_at is not None:
            items = row[identities_at]
            if sqlite:
                items = orjson.loads(items)
            cells = {}
            for item in items or ():
                channel, _, external_id = item.partition(":")
                held = cells.get(channel)
                cells[channel] = f"{held};{external_id}" if held else external_id
            row[identities_at] = cells
        if tags_at is not None:
            tag_ids = row[tags_at]
            if sqlite:
                tag_ids = orjson.loads(tag_ids)
            known = [tag_id for tag_id in tag_ids or () if tag_id in rank]
            row[tags_at] = ";".join(tag_names[tag_id] for tag_id in sorted(known, key=rank.get))
        return row

    return prepare


def _text(index: int):
    def get(row):
        value = row[index]
        return formula_escape(value) if value else ""

    return get


def _archived(index: int):
    return lambda row: "true" if row[index] else "false"


def _timestamp(index: int, sqlite: bool):
    if sqlite:  # naive, in UTC
        return lambda row: row[index].isoformat() + "Z"
    return lambda row: rfc3339(row[index])


def _identity(index: int, channel: str):
    def get(row):
        value = row[index].get(channel)
        return formula_escape(value) if value else ""

    return get
