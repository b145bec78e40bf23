from celery import shared_task

from contacts.services import outbox


@shared_task(name="contacts.tasks.deliver_outbox")
def deliver_outbox(outbox_id):
    return outbox.deliver(outbox_id)


@shared_task(name="contacts.tasks.dispatch_outbox")
def dispatch_outbox(outbox_ids):
    """Rows a busy web process handed over together: one task each."""
    for outbox_id in outbox_ids:
        deliver_outbox.delay(outbox_id)


@shared_task(name="contacts.tasks.sweep_outbox")
def sweep_outbox():
    return outbox.sweep()


@shared_task(name="contacts.tasks.purge_expired")
def purge_expired():
    from contacts.services import privacy

    return privacy.purge_expired()
