"""The delivery pipeline: events become deliveries (fan-out), deliveries become attempts.

All of its state is in the database; the broker only says "look". A tenant's
fan-out cursor says how far its log has been turned into deliveries, and
advances in sequence order: the log's sequences are dense and commit in order
(events.services), so a cursor never passes an event still to come. A delivery
is due when its `next_attempt_at` has passed; a worker takes a batch by moving
it a lease ahead, so a worker killed mid-delivery leaves the batch due again
once the lease lapses. The beat sweep finds whatever a lost message, a flushed
broker or a dead worker left behind.
"""

import math
import time
from datetime import timedelta

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event, EventCounter
from events.representation import event_data
from flownally_admin.ids import new_ids

from .models import (
    OPEN_STATUSES,
    DeliveryStatus,
    DisabledReason,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFanOut,
)
from .sending import Attempt, Sender
from .services import endpoint_disable, endpoint_signing_secrets

# After the first failed attempt, the next ones wait this long; then the delivery fails.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# An endpoint whose every attempt has failed for this long is disabled (`failing`).
FAILING_FOR = timedelta(days=5)
FAN_OUT_BATCH = 1000
DELIVERY_BATCH = 50
# A run of one endpoint's deliveries gives its worker back after this long (and asks for
# another run), so that one busy endpoint does not hold a worker from the others.
DELIVER_RUN_SECONDS = 30

# --- fan-out -----------------------------------------------------------------


def _fan_out_key(tenant_id: str) -> str:
    return f"webhooks:fan-out-asked:{tenant_id}"


def fan_out_soon(sender=None, *, tenant_id: str, **kwargs) -> None:
    """Ask for a fan-out of the tenant's new events (the receiver of `events_committed`).

    Coalesced through the default cache: the first commit of a spell asks for a
    fan-out WEBHOOKS_FAN_OUT_INTERVAL_SECONDS later and notes when it is due; the
    commits made before then ask nothing, since that fan-out starts after them and
    reads them too. Each fan-out costs a task and a delivery run however few events it
    finds, so under a steady flow of changes this makes them one per interval instead
    of one per commit: across every web process when the cache is shared (Redis, as
    production needs for the rate limit too), per process with the local-memory default.
    """
    from .tasks import webhooks_fan_out_task

    key, now = _fan_out_key(tenant_id), time.time()
    interval = settings.WEBHOOKS_FAN_OUT_INTERVAL_SECONDS
    due = now + interval
    # The note says when the fan-out is due (Celery's countdown starts after it), not for
    # how long it holds: caches keep whole seconds of lifetime. Its lifetime only clears
    # it away; a note past its time is asked over.
    lifetime = math.ceil(interval) + 60
    if not cache.add(key, due, timeout=lifetime):
        noted = cache.get(key)
        if noted is not None and noted > now:
            return
        cache.set(key, due, timeout=lifetime)
    webhooks_fan_out_task.apply_async((tenant_id,), countdown=interval)


def fan_out_started(*, tenant_id: str) -> None:
    """A fan-out starts reading: a commit from now on needs another one, at once rather
    than once the note's time has passed (with a shared cache; it is only faster)."""
    cache.delete(_fan_out_key(tenant_id))


def webhook_fan_out(*, tenant_id: str, inline: bool = False) -> int:
    """Turn the tenant's events after its cursor into deliveries; returns how many were made.

    Each endpoint that got some then gets a delivery run: a task of its own, or, with
    `inline` (the fan-out task) when only one endpoint got any, this very call, which
    spares a task per fan-out in the common case of one endpoint. Several endpoints
    each get a task, so that a slow one does not hold up the others.
    """
    made, endpoint_ids = 0, set()
    while True:
        count, more, touched = _fan_out_batch(tenant_id)
        made += count
        endpoint_ids |= touched
        if not more:
            break
    if inline and len(endpoint_ids) == 1:
        webhook_endpoint_deliver(endpoint_id=endpoint_ids.pop())
    for endpoint_id in endpoint_ids:
        deliver_soon(endpoint_id)
    return made


def _fan_out_batch(tenant_id: str) -> tuple[int, bool, set[str]]:
    with transaction.atomic():
        cursor = _cursor_locked(tenant_id)
        # Locked against a concurrent disable: once that commits, no delivery is made for it.
        endpoints = list(
            WebhookEndpoint.objects.select_for_update(no_key=True)
            .filter(tenant_id=tenant_id, enabled=True)
            .order_by("pk")
            .only("pk", "event_types", "subscribed_after")
        )
        if not endpoints:
            return 0, False, set()
        start = max(cursor.last_sequence, min(e.subscribed_after for e in endpoints))
        events = list(
            Event.objects.filter(tenant_id=tenant_id, sequence__gt=start)
            .order_by("sequence")
            .values_list("sequence", "id", "type")[:FAN_OUT_BATCH]
        )
        cursor.last_sequence = events[-1][0] if events else start
        cursor.save(update_fields=["last_sequence"])
        now = timezone.now()
        pairs = [
            (endpoint, event)
            for event in events
            for endpoint in endpoints
            if endpoint.subscribed_after < event[0]
            and (not endpoint.event_types or event[2] in endpoint.event_types)
        ]
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    id=delivery_id,
                    tenant_id=tenant_id,
                    endpoint_id=endpoint.pk,
                    event_sequence=sequence,
                    event_id=event_id,
                    event_type=event_type,
                    created_at=now,
                    next_attempt_at=now,
                )
                for delivery_id, (endpoint, (sequence, event_id, event_type)) in zip(
                    new_ids("dlv", len(pairs)), pairs, strict=True
                )
            ],
            ignore_conflicts=True,  # a delivery made by an earlier run that rolled back late
        )
    return len(pairs), len(events) == FAN_OUT_BATCH, {endpoint.pk for endpoint, _ in pairs}


def _cursor_locked(tenant_id: str) -> WebhookFanOut:
    """The tenant's cursor, locked until COMMIT: its fan-outs run one at a time."""
    cursors = WebhookFanOut.objects.select_for_update()
    cursor = cursors.filter(tenant_id=tenant_id).first()
    if cursor is None:
        WebhookFanOut.objects.bulk_create(
            [WebhookFanOut(tenant_id=tenant_id)], ignore_conflicts=True
        )
        cursor = cursors.get(tenant_id=tenant_id)
    return cursor


# --- delivery ------------------------------------------------------------------


def _deliver_task():
    from .tasks import webhook_endpoint_deliver_task

    return webhook_endpoint_deliver_task


def deliver_soon(endpoint_id: str) -> None:
    """Ask for a run of the endpoint's due deliveries once the current transaction commits."""
    transaction.on_commit(lambda: _deliver_task().delay(endpoint_id), robust=True)


def webhook_endpoint_deliver(*, endpoint_id: str) -> int:
    """Attempt the endpoint's due deliveries, batch by batch; returns how many were attempted.

    A run stops early when the receiver cannot be reached at all (the rest of the
    batch waits as long as a first retry, unattempted, rather than each hanging
    for the whole timeout) and after DELIVER_RUN_SECONDS (asking for another run).
    """
    attempted = 0
    run_ends = time.monotonic() + DELIVER_RUN_SECONDS
    with Sender() as sender:
        while time.monotonic() < run_ends:
            lease_ends = time.monotonic() + settings.WEBHOOKS_LEASE_SECONDS
            batch = _deliveries_claim(endpoint_id)
            if not batch:
                return attempted
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
            if endpoint is None:  # deleted meanwhile, and its deliveries with it
                return attempted
            results, stop = _batch_send(sender, endpoint, batch, lease_ends=lease_ends)
            attempted += len(results)
            unsent = batch[len(results) :]
            if stop == "unreachable":
                _deliveries_record(
                    endpoint, results, unsent, unsent_due=timezone.now() + RETRY_DELAYS[0]
                )
                return attempted
            _deliveries_record(endpoint, results, unsent, unsent_due=timezone.now())
            # A short batch was all that was due: whatever falls due later (a fan-out
            # committed since, a retry) has a run of its own asked for, or the sweep.
            if stop == "gone" or (stop is None and len(batch) < DELIVERY_BATCH):
                return attempted
    with transaction.atomic():
        deliver_soon(endpoint_id)
    return attempted


def _deliveries_claim(endpoint_id: str) -> list[WebhookDelivery]:
    """Up to DELIVERY_BATCH due deliveries of the endpoint, leased to this worker."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(endpoint_id=endpoint_id, status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:DELIVERY_BATCH]
        )
        lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch]).update(next_attempt_at=lease)
    return batch


def _batch_send(sender: Sender, endpoint: WebhookEndpoint, batch, *, lease_ends: float):
    """Send the batch in order; returns [(delivery, attempted_at, Attempt)] and why it stopped
    early (`unreachable`, `gone`, `lease`) or None."""
    secrets = endpoint_signing_secrets(endpoint)
    bodies = _bodies(endpoint.tenant_id, batch)
    results = []
    for delivery in batch:
        if time.monotonic() + settings.WEBHOOKS_TIMEOUT_SECONDS + 1 > lease_ends:
            return results, "lease"
        body = bodies.get(delivery.pk)
        attempted_at = timezone.now()
        if body is None:  # its event has left the log (EVENTS_RETENTION_DAYS)
            results.append((delivery, attempted_at, Attempt(False, None, "event_expired", 0)))
            continue
        attempt = sender.send(
            url=endpoint.url, message_id=delivery.event_id, body=body, secrets=secrets
        )
        results.append((delivery, attempted_at, attempt))
        if attempt.unreachable:
            return results, "unreachable"
        if attempt.error == "gone":
            return results, "gone"
    return results, None


def _bodies(tenant_id: str, batch: list[WebhookDelivery]) -> dict[str, str]:
    """Each delivery's JSON body: its event's document, as GET /v1/events shows it."""
    sequences = [d.event_sequence for d in batch if d.event_sequence is not None]
    events = {
        event.sequence: event
        for event in Event.objects.filter(tenant_id=tenant_id, sequence__in=sequences)
    }
    bodies = {}
    for delivery in batch:
        if delivery.payload is not None:
            document = delivery.payload
        elif delivery.event_sequence in events:
            document = event_data(events[delivery.event_sequence])
        else:
            continue
        bodies[delivery.pk] = orjson.dumps(document).decode()
    return bodies


def _deliveries_record(endpoint: WebhookEndpoint, results, unsent, *, unsent_due) -> None:
    """Save what the attempts came to, and what it says about the endpoint."""
    for delivery, attempted_at, attempt in results:
        if attempt.error != "event_expired":
            delivery.attempts += 1
        delivery.last_attempt_at = attempted_at
        delivery.last_response_status = attempt.response_status
        delivery.last_error = attempt.error
        delivery.last_duration_ms = attempt.duration_ms
        if attempt.succeeded:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif attempt.error in ("gone", "event_expired") or delivery.attempts > len(RETRY_DELAYS):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = attempted_at + RETRY_DELAYS[delivery.attempts - 1]
    for delivery in unsent:
        delivery.next_attempt_at = unsent_due
    attempts = [attempt for _, _, attempt in results if attempt.error != "event_expired"]
    with transaction.atomic():
        # The endpoint's row first, as everything that writes both takes them (no deadlock).
        endpoint = (
            WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint.pk).first()
        )
        if endpoint is None:  # deleted meanwhile, and its deliveries with it
            return
        _deliveries_save([delivery for delivery, _, _ in results], _OUTCOME_FIELDS)
        _deliveries_save(unsent, ["next_attempt_at"])
        _endpoint_health_record(endpoint, attempts)


_OUTCOME_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "last_response_status",
    "last_error",
    "last_duration_ms",
]


def _deliveries_save(deliveries: list[WebhookDelivery], fields: list[str]) -> None:
    """One UPDATE per delivery, sent as one batch: bulk_update's CASE expressions cost
    more to build and to run than the attempts they record."""
    if not deliveries:
        return
    columns = [WebhookDelivery._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(WebhookDelivery._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    rows = [
        [column.get_db_prep_save(getattr(d, column.attname), connection) for column in columns]
        + [d.pk]
        for d in deliveries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _endpoint_health_record(endpoint: WebhookEndpoint, attempts: list[Attempt]) -> None:
    """A success clears the endpoint's run of failures; a 410, or failures only for
    FAILING_FOR, disable it."""
    now = timezone.now()
    if any(attempt.succeeded for attempt in attempts):
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    elif attempts and endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
    if not endpoint.enabled:
        return
    if any(attempt.error == "gone" for attempt in attempts):
        endpoint_disable(endpoint=endpoint, reason=DisabledReason.GONE)
    elif endpoint.failing_since is not None and endpoint.failing_since <= now - FAILING_FOR:
        endpoint_disable(endpoint=endpoint, reason=DisabledReason.FAILING)


# --- the sweep -----------------------------------------------------------------


def webhooks_sweep() -> dict[str, int]:
    """The safety net under the tasks that commits and answers ask for: fan out every
    tenant whose log has moved past its cursor, and ask for a run of every endpoint with
    due deliveries (new, to retry, or abandoned by a dead worker). Returns how many of each."""
    tenant_ids = set(
        WebhookEndpoint.objects.filter(enabled=True).values_list("tenant_id", flat=True)
    )
    last = dict(
        EventCounter.objects.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", "last_sequence"
        )
    )
    done = dict(
        WebhookFanOut.objects.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", "last_sequence"
        )
    )
    behind = [t for t in tenant_ids if last.get(t, 0) > done.get(t, 0)]
    for tenant_id in behind:
        webhook_fan_out(tenant_id=tenant_id)
    due = list(
        WebhookDelivery.objects.filter(
            status__in=OPEN_STATUSES, next_attempt_at__lte=timezone.now()
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    for endpoint_id in due:
        _deliver_task().delay(endpoint_id)
    return {"fanned_out": len(behind), "endpoints_due": len(due)}
