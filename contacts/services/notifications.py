"""What the citizen is told, and by which channel: the one place that decides.

The ticket operations call these functions in their transaction; each
writes outbox rows (delivered after commit) and never sends anything itself:

- ``acknowledge(ticket, message=None)``: the request was received, its
  reference and when to expect an answer (called by ``ingest``);
- ``notify_answer(ticket, message)``: an agent answered by another channel
  than SMS, the SMS says so with the follow-up link;
- ``request_documents(ticket, agent, text, due_date)``: documents asked
  for by a date; notice now, reminders scheduled before the date;
- ``send_due_reminders()``: the reminders whose time has come (periodic);
- ``notify_resolved(ticket)``: the request was dealt with, with a link to
  say what the citizen thinks;
- ``stop_sms(organisation, phone, key)``: the citizen wrote STOP.

The channel: SMS when the citizen consented and has a valid mobile number
(and the organisation sends SMS), else email when the address does not
bounce, else nothing, recorded on the ticket. SMS follow the rules of
``channels_app.sms.policy`` (quiet hours and daily limits delay, never
drop; text kept in GSM-7; segments and cost stored in the payload).
"""

import datetime
import functools
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from contacts.channels import Channel
from contacts.models import ConsentRecord, Contact, Message, Outbox, Ticket, TicketEvent
from contacts.services.consent import change_consent
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


def _ack_cap():
    """At most ACK_MAX_PER_HOUR acknowledgements to one address or number in
    an hour (checked by the outbox INSERT itself)."""
    return ("ack:", timezone.now() - timedelta(hours=1), settings.ACK_MAX_PER_HOUR)


# -- channel choice ------------------------------------------------------------


def _policy():
    # The SMS rules live with the SMS channel; imported late so that the core
    # loads without it.
    from channels_app.sms import policy

    return policy


def sms_settings(organisation):
    """The organisation's SMS settings, kept per knowledge-base revision
    (saving them bumps it); shared: read them, never change them."""
    from kb import revision

    return revision.memoised(("sms", organisation.pk), lambda: _policy().sms_settings_for(organisation))


def sms_allowed(contact, settings_=None):
    """Whether proactive SMS may go to this contact (consent, valid mobile,
    the organisation sends SMS)."""
    return _policy().can_text(contact, settings_)


def email_allowed(contact):
    return bool(contact.email) and contact.email_bounced_at is None


def local_date(organisation, value):
    """A date or time as the citizen reads it, e.g. "jeudi 12 mars"."""
    if isinstance(value, datetime.datetime):
        value = value.astimezone(organisation.tzinfo).date()
    return _spelled_date(value, settings.LANGUAGE_CODE)


@functools.lru_cache(maxsize=1024)
def _spelled_date(day, language):
    with translation.override(language):
        return formats.date_format(day, "l j F")


def _context(ticket, sms_settings_=None, **extra):
    from channels_app.links import followup_url

    context = {
        "ticket": ticket,
        "contact": ticket.contact,
        "organisation": ticket.organisation,
        "reference": ticket.reference,
        "due": local_date(ticket.organisation, ticket.due_at) if ticket.due_at else "",
        "link": followup_url(ticket),
    }
    if sms_settings_ is not None:
        context["sender"] = sms_settings_.display_name
    context.update(extra)
    return context


def render_sms(kind, context, sms_settings_):
    """The SMS text of ``kind``: the organisation's own wording when it has
    one (placeholders {organisation} {reference} {due} {date} {link}), else
    the default template, in French."""
    from channels_app.models import PLACEHOLDER_RE

    own = sms_settings_.template_for(kind).strip()
    values = {
        "organisation": sms_settings_.display_name,
        "reference": context.get("reference", ""),
        "due": context.get("due", ""),
        "date": context.get("date", ""),
        "link": context.get("link", ""),
    }
    if own:
        return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), own)
    template = "contacts/acknowledgement.sms.txt" if kind == "acknowledgement" else f"channels_app/sms/{kind}.txt"
    values.pop("organisation")
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(template, {**context, **values, "sender": sms_settings_.display_name})
    return " ".join(text.split())


def _lock_contact(contact):
    """Serialise the decisions about one citizen (daily SMS count)."""
    return Contact.objects.select_for_update().get(pk=contact.pk)


def send_sms(ticket, kind, context, *, idempotency_key, sms_settings_=None, immediate=False, recipient=None, cap=None):
    """Queue one SMS to the ticket's contact, following the SMS rules:
    quiet hours and the daily limit delay it (``next_attempt_at``), the
    payload carries encoding, segments and cost. ``immediate`` skips the
    delays (emergency numbers, STOP confirmation); ``cap`` is the outbox's
    (None when reached)."""
    policy = _policy()
    sms_settings_ = sms_settings_ or sms_settings(ticket.organisation)
    recipient = recipient or ticket.contact.phone
    with transaction.atomic():
        existing = Outbox.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        if ticket is not None and ticket.contact_id:
            _lock_contact(ticket.contact)
        text = render_sms(kind, context, sms_settings_)
        payload = policy.payload(text, sms_settings_, kind)
        not_before = None
        if not immediate:
            moment, delayed = policy.schedule(sms_settings_, recipient)
            if delayed:
                payload["delayed"] = delayed
                not_before = moment
        return enqueue(
            Channel.SMS,
            recipient,
            payload,
            idempotency_key=idempotency_key,
            ticket=ticket,
            not_before=not_before,
            cap=cap,
        )


def send_email(ticket, subject, template, context, *, idempotency_key, answering=None, cap=None):
    with translation.override(settings.LANGUAGE_CODE):
        payload = {
            "subject": email_subject(ticket, subject),
            "text": render_to_string(template, context).strip(),
            "message_id": new_message_id(),
            "reply_to": ticket.reply_address,
            **thread_headers(ticket, answering=answering),
        }
    return enqueue(
        Channel.EMAIL, ticket.contact.email, payload, idempotency_key=idempotency_key, ticket=ticket, cap=cap
    )


def _unreachable(ticket, what):
    record_event(ticket, TicketEvent.Kind.ACK_SKIPPED, reason="unreachable", notice=what)
    return None


# -- what the citizen is told ----------------------------------------------------


def acknowledge(ticket, message=None):
    """Tell the citizen their request was received, with its reference and
    the expected answer time.

    By SMS when they consented and have a mobile number, else by email; at
    most ACK_MAX_PER_HOUR to one address or number (a loop or a flood never
    turns us into a mass sender). An acknowledgement giving emergency
    numbers leaves at once, whatever the hour.
    """
    contact = ticket.contact
    rules = sms_settings(ticket.organisation)
    by_sms = sms_allowed(contact, rules)
    recipient = contact.phone if by_sms else (contact.email if email_allowed(contact) else "")
    if not recipient:
        return _unreachable(ticket, "acknowledgement") if (contact.email or contact.phone) else None
    context = _context(ticket, rules, emergency_numbers=emergency_numbers(ticket))
    if by_sms:
        row = send_sms(
            ticket,
            "acknowledgement",
            context,
            idempotency_key=f"ack:{ticket.pk}",
            sms_settings_=rules,
            immediate=bool(context["emergency_numbers"]),
            cap=_ack_cap(),
        )
    else:
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("We have received your request")
        row = send_email(
            ticket,
            subject,
            "contacts/acknowledgement.txt",
            context,
            idempotency_key=f"ack:{ticket.pk}",
            answering=message,
            cap=_ack_cap(),
        )
    if row is None:
        record_event(ticket, TicketEvent.Kind.ACK_SKIPPED, reason="rate limit", recipient=recipient)
    return row


def notify_answer(ticket, message):
    """An agent answered: when the answer did not go by SMS, tell the
    citizen by SMS (if they accept SMS) where to read it. An answer sent by
    SMS, or by email to a citizen without SMS, is its own notice."""
    if message.is_internal or message.direction != Message.Direction.OUT or message.channel == Channel.SMS:
        return None
    rules = sms_settings(ticket.organisation)
    if not sms_allowed(ticket.contact, rules):
        return None
    return send_sms(
        ticket, "answer", _context(ticket, rules), idempotency_key=f"answer:{message.pk}", sms_settings_=rules
    )


def _deadline(organisation, due_date):
    """The end of ``due_date`` in the organisation's time zone."""
    return datetime.datetime.combine(due_date, datetime.time(23, 59, 59), tzinfo=organisation.tzinfo)


def request_documents(ticket, agent, text, due_date):
    """Documents are asked for by ``due_date``: record the request and its
    deadline, tell the citizen now (SMS, else email with the list), and
    schedule the reminders of the organisation's settings (days before the
    deadline, at its reminder time; those already past are skipped).

    Returns the DocumentRequest. Raises TicketActionError on an empty text
    or a date already past.
    """
    from channels_app.models import DocumentRequest, Reminder
    from contacts.services.tickets import TicketActionError

    text = (text or "").strip()
    if not text:
        raise TicketActionError(_("Say which documents the citizen must provide."))
    if isinstance(due_date, datetime.datetime):
        due_date = due_date.astimezone(ticket.organisation.tzinfo).date()
    now = _policy().now()
    tz = ticket.organisation.tzinfo
    if due_date < now.astimezone(tz).date():
        raise TicketActionError(_("The date to provide documents by is already past."))
    rules = sms_settings(ticket.organisation)
    with transaction.atomic():
        request = DocumentRequest.objects.create(ticket=ticket, requested_by=agent, text=text, due_date=due_date)
        due_at = _deadline(ticket.organisation, due_date)
        for days in rules.reminder_offsets():
            remind_at = datetime.datetime.combine(due_date - timedelta(days=days), rules.reminder_time, tzinfo=tz)
            if remind_at > now:
                Reminder.objects.create(ticket=ticket, document_request=request, due_at=due_at, remind_at=remind_at)
        kind = getattr(TicketEvent.Kind, "DOCUMENTS_REQUESTED", None)
        if kind is not None:
            record_event(ticket, kind, actor=agent, request=request.pk, due_date=due_date.isoformat())
        date = local_date(ticket.organisation, due_date)
        context = _context(ticket, rules, date=date, documents=text)
        key = f"documents:{request.pk}"
        if sms_allowed(ticket.contact, rules):
            send_sms(ticket, "documents", context, idempotency_key=key, sms_settings_=rules)
        elif email_allowed(ticket.contact):
            with translation.override(settings.LANGUAGE_CODE):
                subject = _("Documents to provide before %(date)s") % {"date": date}
            send_email(ticket, subject, "contacts/documents.txt", context, idempotency_key=key)
        else:
            _unreachable(ticket, "documents")
    return request


def _reminder_obsolete(reminder, now):
    ticket = reminder.ticket
    if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        return "ticket resolved"
    if reminder.due_at <= now:
        return "deadline passed"
    since = reminder.document_request.created_at if reminder.document_request else None
    if (
        since is not None
        and Message.objects.filter(
            ticket=ticket, direction=Message.Direction.IN, created_at__gt=since, attachments__isnull=False
        ).exists()
    ):
        return "documents received"
    return ""


def send_due_reminders(now=None, limit=500):
    """Queue the reminders whose time has come, once each; cancel those no
    longer needed (ticket resolved, documents received, deadline passed).
    Safe to run from several workers at once. Returns how many were queued."""
    from channels_app.models import Reminder

    now = now or _policy().now()
    queued = 0
    due = Reminder.objects.filter(sent_at__isnull=True, cancelled_at__isnull=True, remind_at__lte=now)
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            reminder = (
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("ticket__organisation", "ticket__contact", "document_request")
                .filter(pk=pk, sent_at__isnull=True, cancelled_at__isnull=True)
                .first()
            )
            if reminder is None:
                continue
            reason = _reminder_obsolete(reminder, now)
            if reason:
                reminder.cancelled_at = now
                reminder.cancel_reason = reason
                reminder.save(update_fields=["cancelled_at", "cancel_reason"])
                continue
            reminder.outbox = _send_reminder(reminder)
            reminder.sent_at = now
            reminder.save(update_fields=["outbox", "sent_at"])
            queued += 1
    return queued


def _send_reminder(reminder):
    ticket = reminder.ticket
    rules = sms_settings(ticket.organisation)
    date = local_date(ticket.organisation, reminder.due_at)
    documents = reminder.document_request.text if reminder.document_request else ""
    context = _context(ticket, rules, date=date, documents=documents)
    key = f"reminder:{reminder.pk}"
    if sms_allowed(ticket.contact, rules):
        return send_sms(ticket, "reminder", context, idempotency_key=key, sms_settings_=rules)
    if email_allowed(ticket.contact):
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Reminder: documents to provide before %(date)s") % {"date": date}
        return send_email(ticket, subject, "contacts/reminder.txt", context, idempotency_key=key)
    return _unreachable(ticket, "reminder")


def cancel_reminders(ticket, reason):
    from channels_app.models import Reminder

    return Reminder.objects.filter(ticket=ticket, sent_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now(), cancel_reason=reason
    )


def notify_resolved(ticket):
    """The request was dealt with: ask the citizen what they think (SMS,
    else email), with the follow-up link; pending reminders are cancelled."""
    cancel_reminders(ticket, "ticket resolved")
    resolved_at = ticket.resolved_at or timezone.now()
    key = f"resolved:{ticket.pk}:{int(resolved_at.timestamp())}"
    rules = sms_settings(ticket.organisation)
    context = _context(ticket, rules)
    if sms_allowed(ticket.contact, rules):
        return send_sms(ticket, "resolved", context, idempotency_key=key, sms_settings_=rules)
    if email_allowed(ticket.contact):
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Your request has been dealt with")
        return send_email(ticket, subject, "contacts/resolved.txt", context, idempotency_key=key)
    return _unreachable(ticket, "satisfaction")


def stop_sms(organisation, phone, key, text="STOP"):
    """The citizen wrote STOP (``text``, kept as the proof) from ``phone``:
    withdraw their SMS consent and confirm with one last SMS, sent at once
    (the confirmation is the answer to their message). No ticket is opened.
    Idempotent on ``key`` (the provider's id of the STOP message). Returns
    the confirmation's row."""
    from channels_app.sms import policy

    rules = sms_settings(organisation)
    with transaction.atomic():
        existing = Outbox.objects.filter(idempotency_key=f"stop:{key}").first()
        if existing is not None:
            return existing
        contact = Contact.objects.select_for_update().filter(organisation=organisation, phone=phone).first()
        if contact is not None:
            change_consent(contact, given=False, source=ConsentRecord.Source.SMS_STOP, evidence=text)
        ticket = Ticket.objects.filter(contact=contact).order_by("-created_at").first() if contact is not None else None
        text = render_sms("stop", {"reference": ""}, rules)
        payload = policy.payload(text, rules, "stop")
        return enqueue(Channel.SMS, phone, payload, idempotency_key=f"stop:{key}", ticket=ticket)
