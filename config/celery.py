"""The Celery application: broker and eagerness come from Django settings."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("aiguillage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def settle_memory(**kwargs):
    """The worker's loaded code out of the garbage collector's sight
    (``config.memory``), before a prefork pool forks its children."""
    from config import memory

    memory.enable(urls=False)


@signals.worker_process_init.connect
def settle_memory_after_fork(**kwargs):
    """A prefork child: what it made since the fork, frozen too."""
    from config import memory

    memory.enable(urls=False, forked=True)


@signals.task_prerun.connect
def drop_broken_database_connections(task=None, **kwargs):
    """Workers reuse their database connection across tasks
    (CELERY_DB_REUSE_MAX); one that failed during the previous task and no
    longer answers is closed, so the next query opens a fresh one."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()
