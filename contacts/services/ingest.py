"""The one road in: every channel hands its messages to ``ingest``."""

import hashlib
import logging
import re
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts import metrics
from contacts.channels import Channel
from contacts.inbound import InboundMessage
from contacts.models import Attachment, ConsentRecord, Message, Ticket, TicketEvent
from contacts.services import rows, scanning
from contacts.services.consent import ConsentError
from contacts.services.contacts import match_contact
from contacts.services.events import batched_events, record_event
from contacts.services.notifications import acknowledge
from contacts.services.references import next_reference
from kb import revision
from kb.models import Organisation

logger = logging.getLogger(__name__)

REFERENCE_RE = re.compile(r"\b([A-Z0-9]{1,12}-\d{4}-\d{6})\b")


class IngestError(Exception):
    """The message cannot be ingested; nothing was stored. The text says why."""


@dataclass
class IngestResult:
    outcome: str  # created | threaded | duplicate | ignored
    ticket: Ticket | None = None
    message: Message | None = None


def ingest(inbound: InboundMessage, *, on_stored=None) -> IngestResult:
    """Store one inbound message, once, on the right ticket.

    In one transaction: deduplicate on (channel, external_id), match or create
    the contact, thread onto an existing ticket or create one (then route and
    acknowledge it), store the message and its attachments, record events
    (inserted together at the end). The knowledge-base revision is read once.

    ``on_stored(result)``, when given, runs last in that transaction for a
    message stored (created or threaded): what the channel records of it
    (e.g. the raw email's status) commits with it, or not at all.
    """
    with revision.pinned():
        return _ingest_once(inbound, on_stored)


def _ingest_once(inbound, on_stored):
    organisation = _validate(inbound)
    # No read before the pipeline to spot a message seen before (a retry, an
    # IMAP re-fetch): the message's INSERT ... ON CONFLICT finds it, in the
    # round trip that stores every other message, and the attempt rolls back.
    # A duplicate costs that rollback (and, when it would have opened a
    # ticket, a reference number: references may have gaps, never repeats).
    for attempt in range(3):
        stored_files = []
        try:
            with transaction.atomic(), batched_events():
                result = _ingest(inbound, organisation, stored_files)
                if on_stored is not None and result.outcome in ("created", "threaded"):
                    on_stored(result)
            metrics.count_ingested(inbound.channel, result.outcome)
            return result
        except _Duplicate:
            # The message is already stored (its INSERT found the key taken):
            # everything this attempt did is rolled back.
            _delete_files(stored_files)
            existing = _existing(inbound)
            if existing is not None:
                metrics.count_ingested(inbound.channel, "duplicate")
                return IngestResult("duplicate", existing.ticket, existing)
            if attempt == 2:
                raise IngestError("the message was stored and removed while it was being ingested") from None
        except IntegrityError:
            _delete_files(stored_files)
            # Another worker stored the same message (or created the same
            # contact) between our check and our insert.
            existing = _existing(inbound)
            if existing is not None:
                metrics.count_ingested(inbound.channel, "duplicate")
                return IngestResult("duplicate", existing.ticket, existing)
            if attempt == 2:
                raise
        except BaseException:
            _delete_files(stored_files)
            raise
    raise AssertionError("unreachable")


def _validate(inbound):
    if inbound.channel not in Channel.values:
        raise IngestError(f"unknown channel {inbound.channel!r}; expected one of {', '.join(Channel.values)}")
    organisation = inbound.organisation
    if not isinstance(organisation, Organisation):
        slug = organisation
        organisation = revision.memoised(("organisation", slug), Organisation.objects.filter(slug=slug).first)
        if organisation is None:
            raise IngestError(f"unknown organisation {inbound.organisation!r}")
    if len(inbound.external_id) > 300:
        raise IngestError("external_id is longer than 300 characters")
    return organisation


_EXISTING = f"SELECT id FROM {Message._meta.db_table} WHERE channel = %s AND external_id = %s LIMIT 1"  # noqa: S608


def _existing(inbound):
    """The message already stored with this (channel, external_id), or None
    (one indexed lookup; the model is loaded only for a duplicate)."""
    if not inbound.external_id:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_EXISTING, [inbound.channel, inbound.external_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return Message.objects.select_related("ticket").filter(pk=row[0]).first()


# How a consent carried by a message was expressed when its channel adapter
# does not say: an SMS is its own proof, a form has its checkbox. Any other
# channel must name the source (ingest refuses a consent without one).
CONSENT_SOURCE_BY_CHANNEL = {Channel.SMS: ConsentRecord.Source.SMS_MESSAGE, Channel.FORM: ConsentRecord.Source.FORM}


def _ingest(inbound, organisation, stored_files):
    try:
        contact = match_contact(
            organisation,
            email=inbound.sender_email,
            phone=inbound.sender_phone,
            name=inbound.sender_name[:200],
            postcode=inbound.postcode[:10],
            sms_consent=inbound.sms_consent,
            consent_source=inbound.sms_consent_source or CONSENT_SOURCE_BY_CHANNEL.get(inbound.channel, ""),
            # The message itself is the proof: named, not copied (its text is
            # purged with the ticket; a copy would outlive it).
            consent_evidence=inbound.sms_consent_evidence
            or (f"SMS {inbound.external_id}" if inbound.channel == Channel.SMS else ""),
        )
    except ConsentError as exc:
        raise IngestError(f"sms_consent: {exc}") from exc
    except ValueError as exc:
        raise IngestError(f"sender: {exc}") from exc

    received_at = inbound.received_at or timezone.now()
    ticket, previous = _find_thread(organisation, contact, inbound)
    if ticket is None and inbound.auto_submitted:
        # A robot's message that belongs to no ticket opens none.
        transaction.set_rollback(True)
        return IngestResult("ignored")

    if ticket is None:
        outcome = "created"
        reference = next_reference(
            organisation,
            received_at.astimezone(organisation.tzinfo).year,
            unless_stored=(inbound.channel, inbound.external_id),
        )
        if reference is None:
            raise _Duplicate  # seen before: no number taken, nothing stored
        ticket = Ticket(
            reference=reference,
            organisation=organisation,
            contact=contact,
            subject=(inbound.subject or inbound.text.strip().split("\n")[0])[:300],
            channel=inbound.channel,
            reply_address=inbound.mailbox_address[:254],
            created_at=received_at,
        )
        # Routed before it is inserted: one INSERT carries the routing.
        from routing.services import decide

        ticket.first_text = inbound.text
        ticket.topic_hint = inbound.topic
        decision = decide(ticket)
        rows.insert(ticket)
        ticket._stored_status = ticket.status
        data = {"channel": inbound.channel}
        if previous is not None:
            data["follows"] = previous.reference
        record_event(ticket, TicketEvent.Kind.CREATED, **data)
    else:
        outcome = "threaded"

    message = Message(
        ticket=ticket,
        direction=Message.Direction.IN,
        channel=inbound.channel,
        subject=inbound.subject[:300],
        body_text=inbound.text,
        body_full=inbound.full_text if inbound.full_text != inbound.text else "",
        body_html=inbound.html,
        external_id=inbound.external_id,
        raw_ref=inbound.raw_ref[:300],
        created_at=received_at,
    )
    _insert_unless_stored(message)
    store_attachments(message, inbound.attachments, stored_files)

    if outcome == "created":
        from routing.services import finish

        finish(ticket, decision)
        if not inbound.auto_submitted:
            acknowledge(ticket, message)
    else:
        record_event(ticket, TicketEvent.Kind.MESSAGE_RECEIVED, message=message.pk, channel=inbound.channel)
        if not inbound.auto_submitted and ticket.status in (Ticket.Status.PENDING, Ticket.Status.RESOLVED):
            from contacts.services.tickets import resume_after_pause

            previous_status = ticket.status
            if previous_status == Ticket.Status.PENDING:
                resume_after_pause(ticket, received_at)
            ticket.status = Ticket.Status.OPEN
            ticket.resolved_at = None
            ticket.save(update_fields=["status", "resolved_at", "due_at", "resolution_due_at", "updated_at"])
            record_event(ticket, TicketEvent.Kind.REOPENED, previous=previous_status, message=message.pk)
    return IngestResult(outcome, ticket, message)


class _Duplicate(Exception):
    """The message's (channel, external_id) is already stored."""


def _insert_unless_stored(message):
    """INSERT ... ON CONFLICT DO NOTHING: the deduplication on (channel,
    external_id) is the unique index's, in the same round trip as the insert;
    raises _Duplicate when the message is already there (a concurrent
    ingestion of it waits for the other to commit or roll back)."""
    if not rows.insert(message, ignore_conflicts=True):
        raise _Duplicate


def _find_thread(organisation, contact, inbound):
    """The ticket this message continues, and a closed ticket it follows."""
    candidate = None
    if inbound.in_reply_to:
        answered = (
            Message.objects.filter(ticket__organisation=organisation, external_id__in=inbound.in_reply_to[:50])
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        candidate = answered.ticket if answered else None
    if candidate is None:
        reference = _reference_in(inbound)
        if reference:
            # A reference only threads the contact's own tickets: anyone can
            # type a reference, not everyone may add to that ticket.
            candidate = rows.select_first(
                Ticket,
                "organisation_id = %s AND reference = %s AND contact_id = %s",
                [organisation.pk, reference, contact.pk],
            )
            if candidate is not None:
                candidate.organisation, candidate.contact = organisation, contact
    if candidate is None and inbound.thread_on_open_ticket:
        candidate = (
            Ticket.objects.filter(organisation=organisation, contact=contact)
            .exclude(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
            .order_by("-created_at")
            .first()
        )
    if candidate is not None and candidate.merged_into_id is not None:
        candidate = _merge_target(candidate, organisation, contact)
    if candidate is not None and candidate.status == Ticket.Status.CLOSED:
        return None, candidate
    return candidate, None


# Merges chain (A into B, later B into C); a cycle cannot be stored, but the
# walk is bounded all the same.
_MAX_MERGE_HOPS = 20


def _merge_target(ticket, organisation, contact):
    """The request a merged duplicate lives on in: a citizen quoting the
    duplicate's reference writes to it (same organisation and citizen: the
    merge made sure of it)."""
    for _hop in range(_MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        found = rows.select_first(Ticket, "id = %s AND organisation_id = %s", [ticket.merged_into_id, organisation.pk])
        if found is None:
            break
        found.organisation = organisation
        ticket = found
    if ticket.contact_id == contact.pk:
        ticket.contact = contact
    return ticket


def _reference_in(inbound):
    for text in (inbound.ticket_reference, inbound.subject):
        match = REFERENCE_RE.search((text or "").upper())
        if match:
            return match.group(1)
    return ""


def store_attachments(message, items, stored_files):
    """Store each attachment; the caller deletes ``stored_files`` on rollback."""
    return [_store_attachment(message, item, stored_files) for item in items]


def _store_attachment(message, item, stored_files):
    content = item.content
    sha256 = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        message=message,
        filename=(item.filename or "piece-jointe")[:255],
        content_type=(item.content_type or "application/octet-stream")[:150],
        size=len(content),
        sha256=sha256,
    )
    try:
        attachment.file.save(sha256, ContentFile(content), save=False)
    except Exception as exc:
        raise IngestError(f"attachment {item.filename!r} could not be stored: {exc}") from exc
    stored_files.append(attachment.file.name)
    scanning.prepare(attachment)  # antivirus, after commit
    attachment.save()
    return attachment


def _delete_files(names):
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("could not delete attachment file %s after a rollback", name)
