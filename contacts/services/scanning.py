"""Antivirus: every stored document is scanned by ClamAV's daemon (clamd)
after the commit that stored it (docs/antivirus.md).

``store_attachments`` (contacts.services.ingest), the one function through
which every channel's documents are stored, calls ``prepare`` on each: with a
scanner configured the document is ``pending`` and its scan is dispatched to
a Celery worker once the transaction commits, so a citizen's submission never
waits for the scanner and is never refused because it is down. ``scan``:

- no virus: ``clean``, the document can be downloaded;
- a virus: its content moves to the storage's ``quarantine/`` folder (never
  served), the document is ``infected`` and a ``quarantined`` event on the
  ticket tells the agents;
- the scanner cannot be reached or answers an error: the document stays
  ``pending`` (not downloadable) and is tried again with exponential backoff;
  the sweeper (Celery beat) dispatches the scans that are due and whose
  dispatch was lost;
- the document is larger than the scanner accepts (``CLAMAV_STREAM_MAX_MB``,
  clamd's ``StreamMaxLength``): ``failed``, not downloadable.

With no scanner configured (the embedded demo), documents are stored ``off``
(not scanned) and can be downloaded.
"""

import logging
import random
from datetime import timedelta

from clamav_client.clamd import (
    BufferTooLongError,
    ClamdNetworkSocket,
    ClamdUnixSocket,
    CommunicationError,
    ResponseError,
)
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.models import Attachment, TicketEvent
from contacts.services import background
from contacts.services.events import record_event

logger = logging.getLogger(__name__)

Scan = Attachment.Scan

QUARANTINE_PREFIX = "quarantine/"
# A pending scan due for this long was never handed to a worker.
SWEEP_GRACE = timedelta(seconds=60)


class ScannerUnavailable(Exception):
    """clamd could not be reached or gave no verdict; the text says why."""


def enabled():
    return bool(settings.CLAMAV_SOCKET or settings.CLAMAV_HOST)


def _client():
    if settings.CLAMAV_SOCKET:
        return ClamdUnixSocket(settings.CLAMAV_SOCKET, timeout=settings.CLAMAV_TIMEOUT_SECONDS)
    return ClamdNetworkSocket(settings.CLAMAV_HOST, settings.CLAMAV_PORT, timeout=settings.CLAMAV_TIMEOUT_SECONDS)


def scan_stream(handle):
    """(state, detail) for the bytes read from ``handle``: (clean, ""),
    (infected, the signature's name) or (failed, why the scanner refused
    them); ScannerUnavailable when there is no verdict to be had now."""
    try:
        result = _client().instream(handle)
    except BufferTooLongError:
        return Scan.FAILED, "larger than the scanner accepts (clamd StreamMaxLength)"
    except ResponseError as exc:
        raise ScannerUnavailable(f"clamd answered an error: {exc}") from exc
    except (CommunicationError, OSError) as exc:
        raise ScannerUnavailable(f"clamd unreachable: {exc}") from exc
    status, detail = result.get("stream", (None, None))
    if status == "OK":
        return Scan.CLEAN, ""
    if status == "FOUND":
        return Scan.INFECTED, (detail or "unnamed")[:200]
    if status == "ERROR":
        raise ScannerUnavailable(f"clamd could not scan: {detail}")
    raise ScannerUnavailable(f"unexpected answer from clamd: {result!r}")


def prepare(attachment):
    """Set the scan state of a document about to be stored, and dispatch its
    scan once the transaction commits (nothing when it rolls back)."""
    if not enabled():
        attachment.scan_state = Scan.OFF
        return
    attachment.scan_state = Scan.PENDING
    attachment.scan_due_at = timezone.now()
    transaction.on_commit(lambda: dispatch([attachment.pk]))


def dispatch(attachment_ids, *, now=False, countdown=None):
    """Hand scans to a Celery worker: from the after-commit thread, or at
    once when tasks run eagerly, ``now`` or later (``countdown`` seconds). A
    broker that is down is logged: the sweeper dispatches them later."""
    if not attachment_ids:
        return
    if countdown is not None and settings.CELERY_TASK_ALWAYS_EAGER:
        return  # an eager retry would run at once, again and again: the sweeper will
    if settings.CELERY_TASK_ALWAYS_EAGER or now or countdown is not None:
        _publish(list(attachment_ids), countdown)
    else:
        for pk in attachment_ids:
            background.submit("scan", pk)


@background.handler("scan")
def _dispatch_gathered(items, loop):
    _publish(items, None)


def _publish(attachment_ids, countdown):
    from contacts.tasks import scan_attachments

    try:
        if countdown is None:
            scan_attachments.delay(attachment_ids)
        else:
            scan_attachments.apply_async((attachment_ids,), countdown=countdown)
    except Exception:
        logger.exception("could not dispatch the scans of documents %s; the sweeper will", attachment_ids)


def scan(attachment_id):
    """Scan one pending document and record the verdict; returns its state
    (None when there is no such document). Safe to run twice at once: only
    the first verdict is recorded."""
    attachment = Attachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    if attachment is None or attachment.scan_state != Scan.PENDING:
        return attachment.scan_state if attachment else None
    if not enabled():
        logger.warning("document %s is waiting for a scan but no scanner is configured (CLAMAV_SOCKET)", attachment.pk)
        return Scan.PENDING
    try:
        if attachment.size > settings.CLAMAV_STREAM_MAX_BYTES:
            state, detail = Scan.FAILED, "larger than the scanner accepts (CLAMAV_STREAM_MAX_MB)"
        else:
            with attachment.file.open("rb") as handle:
                state, detail = scan_stream(handle)
    except FileNotFoundError:
        state, detail = Scan.FAILED, "the stored file is missing"
    except ScannerUnavailable as exc:
        return _retry_later(attachment, str(exc))
    if state == Scan.INFECTED:
        return _quarantine(attachment, detail)
    _record(attachment, state, detail)
    return state


def _record(attachment, state, detail):
    Attachment.objects.filter(pk=attachment.pk, scan_state=Scan.PENDING).update(
        scan_state=state, scan_detail=detail, scanned_at=timezone.now(), scan_due_at=None
    )


def backoff_seconds(attempts):
    base = settings.CLAMAV_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(settings.CLAMAV_RETRY_MAX_SECONDS, base * random.uniform(0.9, 1.1))


def _retry_later(attachment, error):
    attempts = attachment.scan_attempts + 1
    delay = backoff_seconds(attempts)
    logger.warning("document %s not scanned (attempt %d), again in %.0f s: %s", attachment.pk, attempts, delay, error)
    updated = Attachment.objects.filter(pk=attachment.pk, scan_state=Scan.PENDING).update(
        scan_attempts=attempts, scan_detail=error[:200], scan_due_at=timezone.now() + timedelta(seconds=delay)
    )
    if updated:
        dispatch([attachment.pk], countdown=delay)
    return Scan.PENDING


def _quarantine(attachment, signature):
    """Move the content out of reach, then record the verdict and the event
    in one transaction; the original file goes once that commits."""
    storage = attachment.file.storage
    source = attachment.file.name
    with storage.open(source, "rb") as handle:
        target = storage.save(f"{QUARANTINE_PREFIX}{source}", handle)
    try:
        with transaction.atomic():
            locked = Attachment.objects.select_for_update().filter(pk=attachment.pk, scan_state=Scan.PENDING).first()
            if locked is None:  # another worker recorded a verdict meanwhile
                storage.delete(target)
                return Attachment.objects.get(pk=attachment.pk).scan_state
            locked.file.name = target
            locked.scan_state = Scan.INFECTED
            locked.scan_detail = signature
            locked.scanned_at = timezone.now()
            locked.scan_due_at = None
            locked.save(update_fields=["file", "scan_state", "scan_detail", "scanned_at", "scan_due_at"])
            # "name" is among the keys the retention purge erases.
            record_event(
                attachment.message.ticket,
                TicketEvent.Kind.QUARANTINED,
                attachment=attachment.pk,
                name=attachment.filename,
                virus=signature,
            )
            transaction.on_commit(lambda: _delete_unreferenced(storage, source))
    except BaseException:
        storage.delete(target)
        raise
    logger.warning("document %s quarantined: %s", attachment.pk, signature)
    return Scan.INFECTED


def _delete_unreferenced(storage, name):
    if not Attachment.objects.filter(file=name).exists():
        storage.delete(name)


def sweep(now=None, limit=500):
    """Dispatch the pending scans due for longer than the grace (the scanner
    was down and a retry was lost, or the process died before dispatching);
    returns how many."""
    if not enabled():
        return 0
    now = now or timezone.now()
    due = list(
        Attachment.objects.filter(scan_state=Scan.PENDING, scan_due_at__lte=now - SWEEP_GRACE)
        .order_by("scan_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    dispatch(due, now=True)
    return len(due)
