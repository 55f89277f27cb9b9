from celery import shared_task

from .services import events_purge_expired


@shared_task
def events_purge_expired_task() -> int:
    return events_purge_expired()
