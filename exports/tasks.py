from celery import shared_task

from .services import contact_export_resume_stale, contact_export_run, contact_exports_purge_expired


@shared_task(acks_late=True, reject_on_worker_lost=True)
def contact_export_run_task(export_id: str) -> None:
    contact_export_run(export_id=export_id)


@shared_task
def contact_export_resume_stale_task() -> list[str]:
    return contact_export_resume_stale()


@shared_task
def contact_exports_purge_expired_task() -> int:
    return contact_exports_purge_expired()
