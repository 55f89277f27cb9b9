"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flownally_admin.settings")

app = Celery("flownally_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_tidy(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: close the connections that
    are past CONN_MAX_AGE or unusable (an error left them in a broken state), keep the rest.

    Celery's own fixup would close them all after every task (CELERY_DB_REUSE_MAX keeps
    it to a recycle now and then). Eager tasks run inside their caller's transaction, so
    they are left alone, as the fixup leaves them.
    """
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
