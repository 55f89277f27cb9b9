"""An import holds a few batches at a time, however long its file, on any database.

The worker imports with Python's cyclic collector off (contacts.importing.services);
a batch caught in a reference cycle stayed until the import ended, ~1.8 KB a row on
SQLite, and with DEBUG on Django's query log kept the bulk inserts of every batch.
These run the import in-process (Celery eager) once the upload has committed, and
look at what is alive each time a batch commits (`events_committed`).
"""

import gc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from contacts.importing.rows import CheckedRow
from contacts.models import ContactImport
from events.signals import events_committed

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 50
BATCHES = 30


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = BATCH


def _csv() -> bytes:
    """E-mails and phones (the lookups that made a cycle per batch), and a bad cell."""
    lines = ["name,email,whatsapp,tags"]
    for n in range(BATCH * BATCHES):
        email = "not-an-email" if n % 97 == 5 else f"person{n}@x.io"
        lines.append(f"Person {n},{email},+1415555{n:04d},vip")
    return ("\n".join(lines) + "\n").encode()


def _import_watching(client, measure) -> tuple[ContactImport, list]:
    """Run an import; `measure()` at each batch's commit, returns (import, measures)."""
    seen = []

    def on_batch(sender, **kwargs):
        seen.append(measure())

    events_committed.connect(on_batch, dispatch_uid="test_import_memory")
    try:
        upload = SimpleUploadedFile("people.csv", _csv(), content_type="text/csv")
        response = client.post("/v1/contacts/import", {"file": upload}, format="multipart")
        assert response.status_code == 202, response.content
    finally:
        events_committed.disconnect(dispatch_uid="test_import_memory")
    imp = ContactImport.objects.get(pk=response.json()["id"])
    return imp, seen


def test_an_import_keeps_no_earlier_batch_alive(client_a):
    imp, alive = _import_watching(
        client_a, lambda: sum(type(o) is CheckedRow for o in gc.get_objects())
    )
    assert (imp.status, imp.processed_rows) == ("completed", BATCH * BATCHES)
    assert len(alive) >= BATCHES  # one commit per batch, and the import's own events
    # At most the batch being written, the next one being planned beside it (PostgreSQL),
    # the one handed over by the checker and the one it is checking. Kept, 30 batches.
    assert max(alive) <= 4 * BATCH, alive


def test_with_debug_on_the_query_log_holds_one_batch_at_most(client_a, settings):
    settings.DEBUG = True
    imp, logged = _import_watching(client_a, lambda: len(connection.queries_log))
    assert (imp.status, imp.processed_rows) == ("completed", BATCH * BATCHES)
    # A batch is ~20 queries (its lookups, writes and checkpoint); the first one's commit
    # comes after the import's own set-up too. Kept, 30 batches logged ~560.
    assert max(logged) <= 60, logged
