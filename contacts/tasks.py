import logging

from celery import shared_task

from contacts.services import outbox

logger = logging.getLogger(__name__)


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


@shared_task(name="contacts.tasks.scan_attachments")
def scan_attachments(attachment_ids):
    from contacts.services import scanning

    for attachment_id in attachment_ids:
        try:
            scanning.scan(attachment_id)
        except Exception:  # the others still get scanned; the sweeper retries this one
            logger.exception("scan of document %s failed", attachment_id)


@shared_task(name="contacts.tasks.sweep_scans")
def sweep_scans():
    from contacts.services import scanning

    return scanning.sweep()
