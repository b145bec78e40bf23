"""Receiving one raw email, from IMAP, a provider webhook or a file: store
it raw first, then parse it and hand it to ``contacts.services.ingest``."""

import hashlib
import logging
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact, Message, Outbox, TicketEvent
from contacts.services import IngestError, ingest, rows
from contacts.services.events import record_event
from mail.headers import message_id
from mail.models import Mailbox, RawMessage

logger = logging.getLogger(__name__)


@dataclass
class Received:
    outcome: str  # created | threaded | duplicate | auto_reply | bounce | rejected
    raw: RawMessage
    ticket: object = None
    reason: str = ""


def own_addresses():
    """Our mailboxes' addresses (kept per knowledge-base revision: adding or
    changing a mailbox bumps it, its IMAP bookkeeping does not)."""
    from kb import revision

    return revision.memoised(("mailboxes",), lambda: frozenset(Mailbox.objects.values_list("address", flat=True)))


def peek_message_id(raw_bytes):
    """The Message-ID header, read from the head only (cheap, never raises)."""
    head = raw_bytes[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID", "")
        return (message_id(str(value)) or "")[:300] if value else ""
    except Exception:
        return ""


_SEEN = (
    f"SELECT id FROM {RawMessage._meta.db_table} WHERE organisation_id = %s AND "  # noqa: S608
    "(sha256 = %s OR (%s <> '' AND message_id = %s AND status <> 'pending')) "
    "ORDER BY (sha256 = %s) DESC LIMIT 1"
)


def _seen(organisation, sha256, peeked_id):
    """The stored row of these bytes, else of a processed message with this
    Message-ID (a provider retry rebuilds its bytes): one indexed query."""
    with connection.cursor() as cursor:
        cursor.execute(_SEEN, [organisation.pk, sha256, peeked_id, peeked_id, sha256])
        row = cursor.fetchone()
    return RawMessage.objects.get(pk=row[0]) if row else None


def store_raw(raw_bytes, *, organisation, mailbox=None, source, imap_uid=None, sha256=None):
    """The RawMessage for these bytes, stored (and committed) if new.

    Returns (row, created). The same bytes received twice are one row.
    """
    sha256 = sha256 or hashlib.sha256(raw_bytes).hexdigest()
    row = RawMessage(
        organisation=organisation,
        mailbox=mailbox,
        source=source,
        sha256=sha256,
        size=len(raw_bytes),
        compressed=RawMessage.compress(raw_bytes),
        imap_uid=imap_uid,
    )
    # One statement, committed on its own (ON CONFLICT: stored by another).
    if rows.insert(row, ignore_conflicts=True):
        return row, True
    return RawMessage.objects.get(organisation=organisation, sha256=sha256), False


def receive(raw_bytes, *, organisation, mailbox=None, source=RawMessage.Source.IMAP, imap_uid=None):
    """Store, parse and ingest one raw email; never raises for a bad message."""
    sha256 = hashlib.sha256(raw_bytes).hexdigest()
    seen = _seen(organisation, sha256, peek_message_id(raw_bytes))
    if seen is None:
        row, created = store_raw(
            raw_bytes, organisation=organisation, mailbox=mailbox, source=source, imap_uid=imap_uid, sha256=sha256
        )
        if created:
            row.organisation, row.mailbox = organisation, mailbox
    else:
        row = seen
    if row.status != RawMessage.Status.PENDING:
        return Received("duplicate", row, row.ticket, row.reason)
    return process(row, raw_bytes)


def process(row, raw_bytes=None):
    """Parse and ingest a stored raw message (also used to reprocess)."""
    from mail.parsing import parse_email, to_inbound

    raw_bytes = raw_bytes if raw_bytes is not None else row.data
    parsed = parse_email(raw_bytes)
    row.message_id = (parsed.message_id or "")[:300]
    if parsed.rejection:
        return _finish(row, "rejected", reason=parsed.rejection)
    if parsed.is_bounce or parsed.is_complaint:
        return _finish(row, "bounce", ticket=record_bounce(parsed), reason=parsed.auto_reason or "bounce")

    inbound = to_inbound(
        parsed,
        organisation=row.organisation,
        mailbox_address=row.mailbox.address if row.mailbox else "",
        raw_ref=f"raw:{row.pk}",
    )
    inbound.mailbox_address = row.mailbox.address if row.mailbox else ""
    if parsed.from_email and parsed.from_email in own_addresses():
        inbound.auto_submitted = True
        parsed.auto_reason = parsed.auto_reason or "sent from one of our own addresses"

    def outcome_of(result):
        if result.outcome == "ignored" or (inbound.auto_submitted and result.outcome == "threaded"):
            return "auto_reply", parsed.auto_reason
        return result.outcome, ""

    def record(result):
        # In the ingestion's transaction: the raw message's status commits
        # with the ticket it produced, or not at all.
        outcome, reason = outcome_of(result)
        _finish(row, outcome, ticket=result.ticket, reason=reason)

    try:
        result = ingest(inbound, on_stored=record)
    except IngestError as exc:
        return _finish(row, "rejected", reason=str(exc))
    outcome, reason = outcome_of(result)
    if result.outcome == "duplicate" and result.message is not None and result.message.raw_ref == inbound.raw_ref:
        # These very bytes were ingested at the same moment by another reader
        # (two listeners on one mailbox): its status, committed with the
        # message, stands.
        row.refresh_from_db(fields=["status", "reason", "ticket"])
        return Received("duplicate", row, result.ticket, row.reason)
    if result.outcome in ("ignored", "duplicate"):
        return _finish(row, outcome, ticket=result.ticket, reason=reason)
    return Received(outcome, row, result.ticket, row.reason)


STATUS_OF = {
    "created": RawMessage.Status.CREATED,
    "threaded": RawMessage.Status.THREADED,
    "duplicate": RawMessage.Status.DUPLICATE,
    "auto_reply": RawMessage.Status.AUTO_REPLY,
    "bounce": RawMessage.Status.BOUNCE,
    "rejected": RawMessage.Status.REJECTED,
}


def _finish(row, outcome, ticket=None, reason=""):
    row.status = STATUS_OF[outcome]
    row.reason = reason or ""
    row.ticket = ticket
    rows.update(row, ["status", "reason", "ticket", "message_id"])
    return Received(outcome, row, ticket, row.reason)


@transaction.atomic
def record_bounce(parsed):
    """Attach a delivery report to the outbound message it bounces: the outbox
    row learns it, the ticket records it, a hard bounce flags the address."""
    ids = [mid for mid in parsed.bounced_message_ids if mid]
    if not ids:
        return None
    message = (
        Message.objects.filter(external_id__in=ids, direction=Message.Direction.OUT)
        .select_related("ticket__contact")
        .first()
    )
    if message is None:
        return None
    hard = (parsed.bounce_status or "").startswith("5") or parsed.is_complaint
    kind = "complained" if parsed.is_complaint else ("bounced" if hard else "deferred")
    Outbox.objects.filter(message=message).update(delivery_status=kind)
    ticket = message.ticket
    record_event(
        ticket,
        TicketEvent.Kind.DELIVERY_FAILED,
        message=message.pk,
        channel="email",
        recipient=parsed.bounce_recipient or ticket.contact.email,
        error=f"{kind} ({parsed.bounce_status or 'no status'})",
    )
    if hard:
        flag_bounced_address(ticket.contact.organisation_id, parsed.bounce_recipient or ticket.contact.email)
    return ticket


def flag_bounced_address(organisation_id, address):
    address = (address or "").strip().lower()
    if address:
        Contact.objects.filter(organisation_id=organisation_id, email=address, email_bounced_at__isnull=True).update(
            email_bounced_at=timezone.now()
        )
