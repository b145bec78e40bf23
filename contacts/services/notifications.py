"""What the citizen is told, written to the outbox."""

from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from contacts.channels import Channel
from contacts.models import Message, Outbox, TicketEvent
from contacts.services.events import record_event
from contacts.services.outbox import enqueue


def new_message_id():
    return make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)


def email_subject(ticket, subject=""):
    subject = subject or ticket.subject or _("Your request")
    tag = f"[{ticket.reference}]"
    return subject if tag in subject else f"{subject} {tag}"


def thread_headers(ticket, answering=None):
    """In-Reply-To and References for a new email on this ticket (when it
    answers a message just received, that message is the whole thread)."""
    if answering is not None:
        ids = [answering.external_id] if answering.external_id.startswith("<") else []
        return {"in_reply_to": ids[-1] if ids else "", "references": ids}
    ids = list(
        Message.objects.filter(ticket=ticket, channel=Channel.EMAIL, is_internal=False)
        .exclude(external_id="")
        .order_by("created_at", "pk")
        .values_list("external_id", flat=True)
    )
    ids = [i for i in ids if i.startswith("<")]
    return {"in_reply_to": ids[-1] if ids else "", "references": ids[-20:]}


def emergency_numbers(ticket):
    """For an urgent request, the national numbers that fit its situation."""
    if ticket.priority != "urgent":
        return []
    from routing.urgency_numbers import relevant_numbers

    categories = [tag.split(":", 1)[1] for tag in ticket.tags if tag.startswith("urgence:")]
    return relevant_numbers(categories)


def recently_acknowledged(recipient):
    """How many acknowledgements this address got in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    return Outbox.objects.filter(recipient=recipient, idempotency_key__startswith="ack:", created_at__gte=since).count()


def acknowledge(ticket, message=None):
    """Tell the citizen their request was received, with its reference.

    By email when we have an address, else by SMS when they consented; at
    most ACK_MAX_PER_HOUR to one address (a loop or a flood never turns us
    into a sender of mass mail).
    """
    contact = ticket.contact
    recipient = contact.email or (contact.phone if contact.sms_consent else "")
    if recipient and recently_acknowledged(recipient) >= settings.ACK_MAX_PER_HOUR:
        record_event(ticket, TicketEvent.Kind.ACK_SKIPPED, reason="rate limit", recipient=recipient)
        return None
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "ticket": ticket,
            "contact": contact,
            "organisation": ticket.organisation,
            "due": formats.date_format(ticket.due_at.astimezone(ticket.organisation.tzinfo), "l j F")
            if ticket.due_at
            else "",
            "emergency_numbers": emergency_numbers(ticket),
        }
        if contact.email:
            message_id = new_message_id()
            return enqueue(
                Channel.EMAIL,
                contact.email,
                {
                    "subject": email_subject(ticket, _("We have received your request")),
                    "text": render_to_string("contacts/acknowledgement.txt", context).strip(),
                    "message_id": message_id,
                    "reply_to": ticket.reply_address,
                    **thread_headers(ticket, answering=message),
                },
                idempotency_key=f"ack:{ticket.pk}",
                ticket=ticket,
            )
        if contact.phone and contact.sms_consent:
            return enqueue(
                Channel.SMS,
                contact.phone,
                {"text": render_to_string("contacts/acknowledgement.sms.txt", context).strip()},
                idempotency_key=f"ack:{ticket.pk}",
                ticket=ticket,
            )
    return None
