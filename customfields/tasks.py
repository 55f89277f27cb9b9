from celery import shared_task

from .services import custom_field_definition_purge


@shared_task(acks_late=True, reject_on_worker_lost=True)
def custom_field_definition_purge_task(definition_pk: int) -> int:
    return custom_field_definition_purge(definition_pk=definition_pk)
