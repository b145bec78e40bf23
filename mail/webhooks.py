"""django-anymail webhooks: inbound email lands in the same pipeline as IMAP,
tracking events update the outbox row of the email they are about.

Anymail authenticates the calls (HTTP basic auth with ANYMAIL_WEBHOOK_SECRET,
plus the ESP's own signature where it has one) before these receivers run.
"""

import logging

from django.db import transaction

from contacts.models import Outbox, TicketEvent
from contacts.services.events import record_event
from mail.models import Mailbox, RawMessage
from mail.services import flag_bounced_address, receive

logger = logging.getLogger(__name__)

# Anymail's normalised event types that mean the address is not worth mailing.
HARD_FAILURES = {"bounced", "rejected", "complained"}


def on_inbound(sender, event, esp_name, **kwargs):
    message = event.message
    recipients = [address.addr_spec.lower() for address in (message.to or []) + (message.cc or [])]
    mailbox = Mailbox.objects.filter(address__in=recipients, is_active=True).select_related("organisation").first()
    if mailbox is None:
        logger.warning("%s inbound email for %s: none of our mailboxes, dropped", esp_name, recipients)
        return
    receive(message.as_bytes(), organisation=mailbox.organisation, mailbox=mailbox, source=RawMessage.Source.WEBHOOK)


def on_tracking(sender, event, esp_name, **kwargs):
    if not event.message_id:
        return
    with transaction.atomic():
        row = Outbox.objects.select_for_update().filter(channel="email", provider_id=event.message_id).first()
        if row is None:
            return
        row.delivery_status = event.event_type
        row.save(update_fields=["delivery_status"])
        if event.event_type in HARD_FAILURES and row.ticket_id:
            record_event(
                row.ticket,
                TicketEvent.Kind.DELIVERY_FAILED,
                outbox=row.pk,
                channel="email",
                recipient=row.recipient,
                error=f"{esp_name}: {event.event_type} {event.description or event.reject_reason or ''}".strip(),
            )
            flag_bounced_address(row.ticket.organisation_id, event.recipient or row.recipient)
