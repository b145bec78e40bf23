"""The citizen's follow-up page, without an account: a signed link names one
ticket; the page shows that request (status, public messages) and lets the
citizen reply, add documents and rate the answer. A link opens its own
request only: whoever submitted a form with someone's address must not read
that person's other requests."""

import datetime

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.links import read_followup_token
from contacts.channels import Channel
from contacts.inbound import InboundAttachment, InboundMessage
from contacts.models import Contact, Ticket, normalise_email, normalise_phone
from contacts.services import ingest


class LinkInvalid(Exception):
    pass


class LinkExpired(Exception):
    pass


def max_age():
    return datetime.timedelta(days=settings.FOLLOWUP_LINK_MAX_AGE_DAYS)


def ticket_from_token(token):
    try:
        pk = read_followup_token(token, max_age=max_age())
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except signing.BadSignature as error:
        raise LinkInvalid from error
    ticket = Ticket.objects.select_related("organisation", "contact", "service", "topic").filter(pk=pk).first()
    if ticket is None:
        raise LinkInvalid
    return ticket


def public_messages(ticket):
    """What the citizen may read: their messages and the answers, no notes."""
    return (
        ticket.messages.filter(is_internal=False)
        .prefetch_related("attachments")
        .select_related("author")
        .order_by("created_at", "pk")
    )


def can_reply(ticket):
    return ticket.status != Ticket.Status.CLOSED


def reply(ticket, text, attachments, submission_id):
    """The citizen adds a message (and documents) to their request, through
    the one pipeline: it threads on the ticket by its reference."""
    contact = ticket.contact
    inbound = InboundMessage(
        channel=Channel.FORM,
        external_id=f"followup:{submission_id}",
        organisation=ticket.organisation,
        sender_email=contact.email,
        sender_phone=contact.phone,
        sender_name=contact.name,
        subject=ticket.subject,
        text=text,
        attachments=[InboundAttachment(f.filename, f.content_type, f.content) for f in attachments],
        ticket_reference=ticket.reference,
    )
    return ingest(inbound)


def _contacts_for(address):
    """The contacts with this email address or phone number, and the means
    to reach them ("email" or "sms")."""
    address = (address or "").strip()
    if "@" in address:
        return Contact.objects.filter(email=normalise_email(address)), "email"
    try:
        phone = normalise_phone(address)
    except ValueError:
        return Contact.objects.none(), ""
    if not phone:
        return Contact.objects.none(), ""
    return Contact.objects.filter(phone=phone), "sms"


def send_new_link(address):
    """Send a fresh follow-up link, for each organisation that knows this
    email address or phone number, by the same means. Says nothing of whether
    we know them (the caller always shows the same answer). At most one per
    ticket and window (the outbox's idempotency key)."""
    from contacts.services.notifications import _context, email_allowed, send_email, send_sms, sms_allowed

    contacts, means = _contacts_for(address)
    sent = []
    for contact in contacts.select_related("organisation")[:10]:
        ticket = contact.tickets.select_related("organisation", "contact").order_by("-created_at").first()
        if ticket is None:
            continue
        window = int(timezone.now().timestamp() // settings.FOLLOWUP_RELINK_WINDOW_SECONDS)
        key = f"relink:{ticket.pk}:{means}:{window}"
        context = _context(ticket)
        if means == "email" and email_allowed(contact):
            sent.append(
                send_email(
                    ticket, _("Your follow-up link"), "channels_app/portal/link.txt", context, idempotency_key=key
                )
            )
        elif means == "sms" and sms_allowed(contact):
            # A link asked for by SMS goes only to a number that accepts SMS.
            sent.append(send_sms(ticket, "link", context, idempotency_key=key, immediate=True))
    return sent
