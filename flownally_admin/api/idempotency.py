"""`Idempotency-Key` (contract §5): one object per key, however often or concurrently retried.

The record for a key is inserted in the same transaction as the work it guards.
A concurrent request with the same key blocks on the unique index until the
first commits, then finds the finished record and replays its response; if the
first failed, its record rolled back with it and the retry does the work.
Only successful responses are stored, so a corrected retry can succeed.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from flownally_admin.errors import ApplicationError, ValidationFailed
from flownally_admin.tenancy.models import Tenant

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
RETENTION = timedelta(hours=24)
# What a view sets on a success and a replay must answer again; the rest (traceparent,
# Content-Type) belongs to each response.
REPLAYED_HEADERS = ("Location", "ETag")
# The header as the OpenAPI document describes it: what `idempotency_key` accepts.
OPENAPI_SCHEMA = {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": r"\S"}


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request body."


def request_fingerprint(request, body_digest: str | None = None) -> str:
    """Method, path and body; `body_digest` stands in for bodies that are not JSON (uploads)."""
    body = body_digest or json.dumps(request.data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotency_key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationFailed.single(
            HEADER, "invalid", f"{HEADER} must be 1–{KEY_MAX_LENGTH} printable characters."
        )
    return key


def run_idempotently(
    request, *, tenant: Tenant, perform: Callable[[], Response], body_digest: str | None = None
) -> Response:
    """Run `perform` once per (tenant, key); replay its response for retries."""
    key = idempotency_key(request)
    if key is None:
        return perform()
    fingerprint = request_fingerprint(request, body_digest)
    with transaction.atomic():
        record = _claim(tenant, key, fingerprint)
        if record.status_code is not None:
            return _replay(record)
        response = perform()
        if 200 <= response.status_code < 300:
            record.status_code = response.status_code
            record.body = response.data
            record.headers = {h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)}
            record.save(update_fields=["status_code", "body", "headers"])
    return response


def _claim(tenant: Tenant, key: str, fingerprint: str) -> IdempotencyRecord:
    """This request's fresh record, or the finished one of an earlier identical request."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    tenant=tenant, key=key, request_fingerprint=fingerprint
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(tenant=tenant, key=key).first()
        if existing is None:
            continue  # it expired and was removed between our insert and our read
        if existing.created_at < timezone.now() - RETENTION:
            existing.delete()
            continue
        if existing.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return existing
    raise IdempotencyKeyReused("This Idempotency-Key is in use by another request; retry.")


def _replay(record: IdempotencyRecord) -> Response:
    headers = {**record.headers, "Idempotent-Replayed": "true"}
    return Response(record.body, status=record.status_code, headers=headers)


def idempotency_records_purge() -> int:
    """Forget the responses older than the retention window; returns how many went."""
    expired = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION)
    deleted, _ = expired.delete()
    return deleted
