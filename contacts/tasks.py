from celery import shared_task

from .importing.services import contact_import_resume_stale, contact_import_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def contact_import_run_task(import_id: str) -> None:
    contact_import_run(import_id=import_id)


@shared_task
def contact_import_resume_stale_task() -> list[str]:
    return contact_import_resume_stale()
