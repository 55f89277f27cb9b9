from celery import shared_task

from .idempotency import idempotency_records_purge


@shared_task
def idempotency_records_purge_task() -> int:
    return idempotency_records_purge()
