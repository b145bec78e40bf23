import logging

from celery import shared_task
from django.conf import settings

from contacts.services import outbox

logger = logging.getLogger(__name__)


@shared_task(name="contacts.tasks.deliver_outbox")
def deliver_outbox(outbox_id):
    return outbox.deliver(outbox_id)


@shared_task(name="contacts.tasks.dispatch_outbox")
def dispatch_outbox(outbox_ids):
    """Rows a busy web process handed over together: the first
    OUTBOX_BATCH_SIZE are delivered here, one after the other, the others go
    to the other workers in batches of that size; what this task has not
    started after OUTBOX_BATCH_SECONDS (a slow provider) goes to them one
    by one."""
    size = max(1, settings.OUTBOX_BATCH_SIZE)
    mine, rest = outbox_ids[:size], outbox_ids[size:]
    for start in range(0, len(rest), size):
        _hand_on(dispatch_outbox, rest[start : start + size])
    for outbox_id in outbox.deliver_within(mine, seconds=settings.OUTBOX_BATCH_SECONDS):
        _hand_on(deliver_outbox, outbox_id)


def _hand_on(task, argument):
    """Publish to the other workers; a broker that fails is logged (the rows
    stay queued: the sweeper dispatches them) and this task goes on with its
    own rows."""
    try:
        task.delay(argument)
    except Exception:
        logger.exception("could not hand on outbox rows %s; the sweeper will", argument)


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
