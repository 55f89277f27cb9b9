from celery import shared_task

from .importing.services import contact_import_resume_stale, contact_import_run
from .services import contact_counts_compact


@shared_task(acks_late=True, reject_on_worker_lost=True)
def contact_import_run_task(import_id: str) -> None:
    contact_import_run(import_id=import_id)


@shared_task
def contact_import_resume_stale_task() -> list[str]:
    return contact_import_resume_stale()


@shared_task
def contact_counts_compact_task() -> int:
    return contact_counts_compact()
