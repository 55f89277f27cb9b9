"""The sync feed's guarantee on PostgreSQL: a reader that follows `after` sees every event
of its tenant exactly once and in order, while many writers commit out of order.

(Checked against a naive design, sequences from a PostgreSQL SEQUENCE taken inside the
transaction: this test then fails, the reader skipping events that committed late.)"""

import json
import random
import threading
import time

import pytest
from django.db import connection, transaction

from events.selectors import event_feed, event_list
from events.services import NewEvent, events_record
from tests.factories.tenancy import TenantFactory

WRITERS = 8
TRANSACTIONS_EACH = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tailing_reader_sees_every_event_once_in_order_under_concurrent_writers():
    tenant = TenantFactory()
    start = threading.Barrier(WRITERS + 1)
    writers_done = threading.Event()
    failures = []

    def write(writer: int):
        rng = random.Random(writer)  # noqa: S311 (test timing, not secrets)
        try:
            start.wait()
            for n in range(TRANSACTIONS_EACH):
                with transaction.atomic():
                    # Work before the events: transactions overlap and would commit in
                    # another order than the one they began in.
                    time.sleep(rng.random() / 500)
                    events = [
                        NewEvent("contact.updated", {"writer": writer, "n": n, "part": part})
                        for part in range(rng.randint(1, 3))
                    ]
                    events_record(tenant=tenant, events=events)
                    time.sleep(rng.random() / 200)  # committing late, holding the sequence
        except Exception as exc:  # surfaced by the main thread
            failures.append(exc)
        finally:
            connection.close()

    seen = []

    def read():
        after = 0
        try:
            start.wait()
            while True:
                finished = writers_done.is_set()
                events = event_list(tenant=tenant).filter(sequence__gt=after)
                page = event_feed(tenant=tenant, events=events, after=after, limit=7)
                for row in page:
                    data = json.loads(row[-1])
                    seen.append((row[0], data["writer"], data["n"], data["part"]))
                after = page[-1][0] if page else after
                if finished and not page:
                    return
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join()
    writers_done.set()
    reader.join()

    assert failures == []
    sequences = [s for s, *_ in seen]
    assert sequences == list(range(1, len(seen) + 1))  # in order, none twice, none skipped
    written = {(w, n, p) for _, w, n, p in seen}
    assert len(written) == len(seen)
    per_transaction = {(w, n) for w, n, _ in written}
    assert per_transaction == {(w, n) for w in range(WRITERS) for n in range(TRANSACTIONS_EACH)}
