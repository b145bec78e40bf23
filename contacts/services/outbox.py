"""Everything that leaves the system goes through the outbox.

A row is written in the transaction of the change that caused it and
dispatched to Celery once that transaction commits. ``deliver`` claims a row
with one conditional UPDATE, so two workers never send the same row; the
sweeper re-dispatches rows whose dispatch was lost in a crash.
"""

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from contacts import metrics
from contacts.channels import Channel
from contacts.models import Outbox, TicketEvent
from contacts.senders import PermanentDeliveryError, TemporaryDeliveryError, get_sender
from contacts.services import background, outbox_sql
from contacts.services.events import record_event

logger = logging.getLogger(__name__)


def enqueue(channel, recipient, payload, *, idempotency_key, ticket=None, message=None, not_before=None, cap=None):
    """The outbox row for this key, created (and dispatched after commit) if
    new. ``cap`` = (key_prefix, since, maximum) limits what one recipient
    gets: None when ``maximum`` rows with that key prefix went to them since
    ``since`` (checked in the INSERT itself)."""
    row = Outbox(
        channel=channel,
        recipient=recipient,
        payload=payload,
        idempotency_key=idempotency_key,
        ticket=ticket,
        message=message,
        next_attempt_at=not_before or timezone.now(),
    )
    row.pk = outbox_sql.insert_unless_key_exists(row, cap=cap)
    if row.pk is None:
        existing = Outbox.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None and cap is None:
            raise Outbox.DoesNotExist(f"outbox row {idempotency_key!r} vanished while it was being queued")
        return existing  # None: the cap was reached
    transaction.on_commit(lambda: dispatch(row.pk, eta=not_before))
    return row


def dispatch(outbox_id, eta=None, *, now=False):
    """Hand a row to a Celery worker: from the after-commit thread, or at
    once when tasks run eagerly or ``now`` (the worker's own retries and the
    sweeper: a worker process may end without running that thread). A broker
    that is down is logged, not raised: the row stays queued and the sweeper
    dispatches it later."""
    if settings.CELERY_TASK_ALWAYS_EAGER or now:
        _publish([(outbox_id, eta)])
    else:
        background.submit("outbox", (outbox_id, eta))


@background.handler("outbox")
def _dispatch_gathered(items, loop):
    _publish(items)


def _publish(items):
    """(row id, eta) pairs: those due now travel in one Celery message
    (``dispatch_outbox``: the worker that takes it delivers them, a batch at
    a time), the others each with their time."""
    from contacts.tasks import deliver_outbox, dispatch_outbox

    due_now = [pk for pk, eta in items if eta is None]
    try:
        if len(due_now) == 1:
            deliver_outbox.delay(due_now[0])
        elif due_now:
            dispatch_outbox.delay(due_now)
    except Exception:
        logger.exception("could not dispatch outbox rows %s; the sweeper will", due_now)
    for pk, eta in items:
        if eta is not None:
            try:
                deliver_outbox.apply_async((pk,), eta=eta)
            except Exception:
                logger.exception("could not dispatch outbox row %s; the sweeper will", pk)


def backoff_seconds(attempts):
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(settings.OUTBOX_BACKOFF_MAX_SECONDS, base * random.uniform(0.9, 1.1))


def deliver(outbox_id):
    """Send one row through its channel's sender, at most once at a time.

    Returns the row's new status, or None when the row was not ours to send
    (already sent, taken by another worker, or not yet due).
    """
    row = _claim(outbox_id)
    if row is None:
        return None
    try:
        provider_id = get_sender(row.channel).deliver(row)
    except PermanentDeliveryError as exc:
        status = _fail(row, str(exc))
    except TemporaryDeliveryError as exc:
        status = _retry_later(row, str(exc))
    except Exception as exc:  # an unforeseen sender error is presumed temporary
        logger.exception("unexpected error delivering outbox row %s", row.pk)
        status = _retry_later(row, f"{type(exc).__name__}: {exc}")
    else:
        status = _mark_sent(row, provider_id or "")
    metrics.count_delivery(row.channel, _OUTCOMES[status])
    return status


def deliver_within(outbox_ids, *, seconds):
    """Deliver rows one after the other (``deliver`` each) while ``seconds``
    have not passed; returns the ids not started by then, for the caller to
    hand on. A row whose delivery raises (the database went away) is logged
    and left as it is: queued (the sweeper dispatches it again) or, when it
    raised after its claim, sending (the lease rule of ``sweep`` applies); a
    database connection that broke is replaced and the others are still
    tried.

    One task delivering several rows saves a broker round trip and a
    worker's per-task work for each: with a provider that answers in a few
    milliseconds, that was most of what a delivery cost."""
    deadline = time.monotonic() + seconds
    for index, outbox_id in enumerate(outbox_ids):
        if index and time.monotonic() >= deadline:
            return list(outbox_ids[index:])
        try:
            deliver(outbox_id)
        except Exception:
            logger.exception("delivering outbox row %s failed; the sweeper takes it over", outbox_id)
            if not transaction.get_connection().in_atomic_block:
                close_old_connections()  # closed when broken (or old): the next row opens a fresh one
    return []


_OUTCOMES = {Outbox.Status.SENT: "sent", Outbox.Status.QUEUED: "retried", Outbox.Status.FAILED: "failed"}


def _claim(outbox_id):
    now = timezone.now()
    return outbox_sql.claim(
        outbox_id,
        # A task may start a moment before its ETA (clocks of two hosts).
        due_before=now + timedelta(seconds=1),
        lease_until=now + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS),
    )


def _mark_sent(row, provider_id):
    """Record the provider's acceptance (one statement; with the ticket's
    event in the same transaction when the row has a ticket)."""
    if row.ticket_id is None:
        outbox_sql.mark_sent(row.pk, provider_id, timezone.now())
        return Outbox.Status.SENT
    with transaction.atomic():
        if outbox_sql.mark_sent(row.pk, provider_id, timezone.now()):
            kind = TicketEvent.Kind.SMS_SENT if row.channel == Channel.SMS else TicketEvent.Kind.SENT
            record_event(row.ticket, kind, outbox=row.pk, channel=row.channel, recipient=row.recipient)
    return Outbox.Status.SENT


@transaction.atomic
def _fail(row, error):
    Outbox.objects.filter(pk=row.pk, status=Outbox.Status.SENDING).update(
        status=Outbox.Status.FAILED, last_error=error, locked_until=None
    )
    if row.ticket is not None:
        record_event(
            row.ticket,
            TicketEvent.Kind.DELIVERY_FAILED,
            outbox=row.pk,
            channel=row.channel,
            recipient=row.recipient,
            attempts=row.attempts,
            error=error,
        )
    return Outbox.Status.FAILED


def _retry_later(row, error):
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        return _fail(row, f"gave up after {row.attempts} attempts: {error}")
    next_attempt = timezone.now() + timedelta(seconds=backoff_seconds(row.attempts))
    Outbox.objects.filter(pk=row.pk, status=Outbox.Status.SENDING).update(
        status=Outbox.Status.QUEUED, last_error=error, next_attempt_at=next_attempt, locked_until=None
    )
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        dispatch(row.pk, eta=next_attempt, now=True)
    return Outbox.Status.QUEUED


def sweep(now=None, limit=1000):
    """Recover rows a crash left behind; returns how many were recovered.

    - queued rows due for longer than the dispatch grace were never handed to
      a worker (the process died between commit and dispatch, or the broker
      was down): dispatch them;
    - rows in "sending" past their lease belong to a dead worker: send again
      when the channel's sender says a resend is safe, else mark "unknown"
      and record it on the ticket for a person to check.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.OUTBOX_DISPATCH_GRACE_SECONDS)
    lost = list(
        Outbox.objects.filter(status=Outbox.Status.QUEUED, next_attempt_at__lte=now - grace).values_list(
            "pk", flat=True
        )[:limit]
    )
    for pk in lost:
        dispatch(pk, now=True)

    stuck = Outbox.objects.filter(status=Outbox.Status.SENDING, locked_until__lt=now).select_related("ticket")
    recovered = len(lost)
    for row in stuck[:limit]:
        try:
            resend = get_sender(row.channel).resend_is_safe
        except PermanentDeliveryError:
            resend = False
        if resend:
            if Outbox.objects.filter(pk=row.pk, status=Outbox.Status.SENDING, locked_until=row.locked_until).update(
                status=Outbox.Status.QUEUED, next_attempt_at=now, locked_until=None
            ):
                dispatch(row.pk, now=True)
                recovered += 1
        else:
            with transaction.atomic():
                if Outbox.objects.filter(pk=row.pk, status=Outbox.Status.SENDING, locked_until=row.locked_until).update(
                    status=Outbox.Status.UNKNOWN,
                    last_error="the worker stopped while sending; the provider may or may not have it",
                    locked_until=None,
                ):
                    if row.ticket is not None:
                        record_event(
                            row.ticket,
                            TicketEvent.Kind.DELIVERY_FAILED,
                            outbox=row.pk,
                            channel=row.channel,
                            recipient=row.recipient,
                            error="delivery state unknown after a worker crash",
                        )
                    metrics.count_delivery(row.channel, "unknown")
                    recovered += 1
    return recovered


def requeue(row):
    """Send a failed or unknown row again (an administrator's decision)."""
    with transaction.atomic():
        updated = Outbox.objects.filter(pk=row.pk, status__in=[Outbox.Status.FAILED, Outbox.Status.UNKNOWN]).update(
            status=Outbox.Status.QUEUED, next_attempt_at=timezone.now(), attempts=0, last_error=""
        )
        if updated:
            transaction.on_commit(lambda: dispatch(row.pk))
    return bool(updated)
