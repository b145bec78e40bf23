"""Receiving one raw email, from IMAP, a provider webhook or a file: store
it raw first, then parse it and hand it to ``contacts.services.ingest``."""

import hashlib
import logging
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, Message, Outbox, TicketEvent
from contacts.services import IngestError, ingest
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
    return set(Mailbox.objects.values_list("address", flat=True))


def peek_message_id(raw_bytes):
    """The Message-ID header, read from the head only (cheap, never raises)."""
    head = raw_bytes[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID", "")
        return (message_id(str(value)) or "")[:300] if value else ""
    except Exception:
        return ""


def store_raw(raw_bytes, *, organisation, mailbox=None, source, imap_uid=None):
    """The RawMessage for these bytes, stored (and committed) if new.

    Returns (row, created). The same bytes received twice are one row.
    """
    sha256 = hashlib.sha256(raw_bytes).hexdigest()
    existing = RawMessage.objects.filter(organisation=organisation, sha256=sha256).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = RawMessage.objects.create(
                organisation=organisation,
                mailbox=mailbox,
                source=source,
                sha256=sha256,
                size=len(raw_bytes),
                compressed=RawMessage.compress(raw_bytes),
                imap_uid=imap_uid,
            )
        return row, True
    except IntegrityError:
        return RawMessage.objects.get(organisation=organisation, sha256=sha256), False


def receive(raw_bytes, *, organisation, mailbox=None, source=RawMessage.Source.IMAP, imap_uid=None):
    """Store, parse and ingest one raw email; never raises for a bad message."""
    peeked_id = peek_message_id(raw_bytes)
    if peeked_id:
        # The same message delivered again (a provider retry rebuilds its bytes).
        seen = (
            RawMessage.objects.filter(organisation=organisation, message_id=peeked_id)
            .exclude(status=RawMessage.Status.PENDING)
            .first()
        )
        if seen is not None:
            return Received("duplicate", seen, seen.ticket, seen.reason)
    row, created = store_raw(raw_bytes, organisation=organisation, mailbox=mailbox, source=source, imap_uid=imap_uid)
    if not created and row.status != RawMessage.Status.PENDING:
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
    try:
        result = ingest(inbound)
    except IngestError as exc:
        return _finish(row, "rejected", reason=str(exc))
    if result.outcome == "ignored" or (inbound.auto_submitted and result.outcome == "threaded"):
        return _finish(row, "auto_reply", ticket=result.ticket, reason=parsed.auto_reason)
    return _finish(row, result.outcome, ticket=result.ticket)


def _finish(row, outcome, ticket=None, reason=""):
    status = {
        "created": RawMessage.Status.CREATED,
        "threaded": RawMessage.Status.THREADED,
        "duplicate": RawMessage.Status.DUPLICATE,
        "auto_reply": RawMessage.Status.AUTO_REPLY,
        "bounce": RawMessage.Status.BOUNCE,
        "rejected": RawMessage.Status.REJECTED,
    }[outcome]
    row.status = status
    row.reason = reason or ""
    row.ticket = ticket
    row.save(update_fields=["status", "reason", "ticket", "message_id"])
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
