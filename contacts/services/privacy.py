"""Personal data (RGPD): what is kept, for how long, and what a citizen may
ask for.

- ``purge_expired()``: the tickets closed longer ago than their
  organisation's retention period lose their personal data: message texts,
  documents, the contact details of outbox rows and events; the contact is
  anonymised once none of its tickets keeps any. Dates, channels, topics,
  services, statuses and events stay: the statistics do not change.
- ``export_contact()``: everything known of a citizen, as JSON-ready data,
  with the history of their consents.
- ``erase_contact()``: a citizen's request to be forgotten, at once.

Channels that keep their own copies (raw emails, chat entries, callback
numbers) erase them on the ``ticket_purged`` signal: the core never imports
a channel.
"""

import contextlib
import datetime

import django.dispatch
from django.db import transaction
from django.utils import timezone

from contacts.models import Attachment, ConsentRecord, Contact, Outbox, Ticket, TicketEvent
from contacts.services.consent import change_consent
from contacts.services.events import record_event

# Sent inside the purge's transaction: receivers erase their own copies.
ticket_purged = django.dispatch.Signal()

PERSONAL_EVENT_KEYS = {"recipient", "comment", "email", "phone", "name", "to"}
KEPT_PAYLOAD_KEYS = {"kind", "encoding", "segments", "cost_eur", "delayed"}


def _months_ago(now, months):
    return now - datetime.timedelta(days=round(months * 30.44))


def expired_tickets(now=None):
    """Closed tickets past their organisation's retention period, not yet purged."""
    from kb.models import Organisation

    now = now or timezone.now()
    for organisation in Organisation.objects.filter(retention_months__gt=0):
        yield from Ticket.objects.filter(
            organisation=organisation,
            status=Ticket.Status.CLOSED,
            closed_at__lt=_months_ago(now, organisation.retention_months),
            purged_at__isnull=True,
        ).order_by("closed_at")


def purge_expired(now=None, limit=500):
    """Purge up to ``limit`` expired tickets; returns how many."""
    count = 0
    for ticket in expired_tickets(now):
        if count >= limit:
            break
        purge_ticket(ticket, reason="retention")
        count += 1
    return count


def _delete_files(files):
    """Delete the stored files no attachment refers to any more (files are
    stored by content: another ticket may hold the same document)."""
    for stored in files:
        if Attachment.objects.filter(file=stored.name).exists():
            continue
        with contextlib.suppress(OSError):  # already gone
            stored.storage.delete(stored.name)


def purge_ticket(ticket, reason, actor=None):
    """Erase the personal data of one ticket (idempotent)."""
    files = []
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.purged_at is not None:
            return ticket
        for attachment in Attachment.objects.filter(message__ticket=ticket):
            files.append(attachment.file)
        Attachment.objects.filter(message__ticket=ticket).delete()
        ticket.messages.update(subject="", body_text="", body_full="", body_html="", raw_ref="")
        for row in Outbox.objects.filter(ticket=ticket):
            row.payload = {k: v for k, v in row.payload.items() if k in KEPT_PAYLOAD_KEYS} | {"purged": True}
            row.recipient = ""
            row.last_error = ""
            if row.status == Outbox.Status.QUEUED:  # nothing left to send it with, nor to
                row.status = Outbox.Status.FAILED
                row.last_error = "personal data erased"
            row.save(update_fields=["payload", "recipient", "last_error", "status"])
        for event in ticket.events.all():
            scrubbed = {k: v for k, v in event.data.items() if k not in PERSONAL_EVENT_KEYS}
            if scrubbed != event.data:
                # Events are append-only for everything but this erasure.
                TicketEvent.objects.filter(pk=event.pk).update(data=scrubbed)
        ticket.subject = ""
        ticket.tags = []  # free text agents typed: it may name the citizen
        ticket.purged_at = timezone.now()
        ticket.save(update_fields=["subject", "tags", "purged_at"])
        ticket_purged.send(sender=Ticket, ticket=ticket)
        record_event(ticket, TicketEvent.Kind.PURGED, actor=actor, reason=reason)
        if not ticket.contact.tickets.filter(purged_at__isnull=True).exists():
            anonymise_contact(ticket.contact)
    transaction.on_commit(lambda: _delete_files(files))
    return ticket


def anonymise_contact(contact):
    """Keep the row (the tickets point to it) and the postcode (statistics by
    territory); forget who it was. A standing SMS consent ends (recorded as
    withdrawn by erasure); the consent records keep their dates, kinds and
    sources but lose their evidence, which may quote the citizen."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.sms_consent:
        change_consent(contact, given=False, source=ConsentRecord.Source.ERASURE)
    # Consent records are append-only for everything but this erasure.
    ConsentRecord.objects.filter(contact=contact).exclude(evidence="").update(evidence="")
    Contact.objects.filter(pk=contact.pk).update(name="", email="", phone="", email_bounced_at=None)


def export_contact(contact):
    """Everything known of the citizen, for their access request."""
    tickets = []
    for ticket in contact.tickets.select_related("topic", "service").order_by("created_at"):
        tickets.append(
            {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "channel": ticket.channel,
                "status": ticket.status,
                "topic": ticket.topic.title if ticket.topic else None,
                "service": ticket.service.name if ticket.service else None,
                "created_at": ticket.created_at.isoformat(),
                "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
                "messages": [
                    {
                        "direction": message.direction,
                        "channel": message.channel,
                        "at": message.created_at.isoformat(),
                        "subject": message.subject,
                        "text": message.body_text,
                        "documents": [a.filename for a in message.attachments.all()],
                    }
                    for message in ticket.messages.filter(is_internal=False).order_by("created_at")
                ],
            }
        )
    return {
        "organisation": contact.organisation.name,
        "contact": {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "postcode": contact.postcode,
            "sms_consent": contact.sms_consent,
            "sms_consent_at": contact.sms_consent_at.isoformat() if contact.sms_consent_at else None,
            "created_at": contact.created_at.isoformat(),
        },
        "consents": [
            {
                "consent_to": record.get_kind_display(),
                "given": record.given,
                "how": record.get_source_display(),
                "evidence": record.evidence,
                "at": record.at.isoformat(),
            }
            for record in contact.consent_records.order_by("at", "pk")
        ],
        "tickets": tickets,
    }


@transaction.atomic
def erase_contact(contact, actor=None):
    """The citizen asked to be forgotten: every ticket of theirs is closed and
    purged now, and the contact anonymised; all or nothing."""
    from contacts.services.tickets import change_status

    for ticket in contact.tickets.exclude(status=Ticket.Status.CLOSED):
        change_status(ticket, Ticket.Status.CLOSED, actor)
    for ticket in contact.tickets.filter(purged_at__isnull=True):
        purge_ticket(ticket, reason="request", actor=actor)
    anonymise_contact(contact)
