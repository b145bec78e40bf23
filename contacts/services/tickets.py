"""What agents do to a ticket. Each operation is one transaction that
changes the ticket, records an event and queues what must be sent."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.channels import Channel
from contacts.models import Message, Ticket, TicketEvent
from contacts.services.events import record_event
from contacts.services.ingest import store_attachments
from contacts.services.notifications import (
    email_subject,
    new_message_id,
    notify_answer,
    notify_resolved,
    thread_headers,
)
from contacts.services.outbox import enqueue


class TicketActionError(Exception):
    """An agent's action that cannot be carried out; the text says why."""


def reply_channel(ticket, channel=None):
    """The channel an answer takes (the one asked for, else the one the
    citizen used when it can carry an answer) and its recipient."""
    contact = ticket.contact
    reachable = {}
    if contact.email:
        reachable[Channel.EMAIL] = contact.email
    if contact.phone and contact.sms_consent:
        reachable[Channel.SMS] = contact.phone
    reachable[Channel.FORM] = ""  # the follow-up page: always there, nothing is sent
    if ticket.channel == Channel.CHAT:
        reachable[Channel.CHAT] = ticket.reference  # the conversation (its sender finds it by ticket)
    if channel:
        if channel not in reachable:
            raise TicketActionError(
                _("The citizen cannot be reached by %(channel)s.") % {"channel": Channel(channel).label}
            )
        return channel, reachable[channel]
    preferred = {Channel.SMS: [Channel.SMS, Channel.EMAIL]}.get(ticket.channel, [Channel.EMAIL, Channel.SMS])
    for candidate in preferred:
        if candidate in reachable:
            return candidate, reachable[candidate]
    if ticket.channel in (Channel.FORM, Channel.PHONE):
        # Nothing to send it by: the answer waits on the citizen's follow-up
        # page, whose link their confirmation page gave them.
        return Channel.FORM, ""
    raise TicketActionError(_("The citizen left neither an email address nor a phone number that accepts SMS."))


def reply(ticket, agent, text, *, channel=None, subject="", attachments=()):
    """Answer the citizen through their channel (attachments: email only)."""
    stored_files = []
    try:
        with transaction.atomic():
            return _reply(ticket, agent, text, channel, subject, attachments, stored_files)
    except BaseException:
        from contacts.services.ingest import _delete_files

        _delete_files(stored_files)
        raise


def _reply(ticket, agent, text, channel, subject, attachments, stored_files):
    text = (text or "").strip()
    if not text:
        raise TicketActionError(_("The answer is empty."))
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    channel, recipient = reply_channel(ticket, channel)
    now = timezone.now()
    external_id = new_message_id() if channel == Channel.EMAIL else ""
    if attachments and channel != Channel.EMAIL:
        raise TicketActionError(_("Documents can only be sent by email."))
    if channel == Channel.EMAIL:
        payload = {
            "subject": email_subject(ticket, subject),
            "text": text,
            "message_id": external_id,
            "reply_to": ticket.reply_address,
        }
        payload.update(thread_headers(ticket))
    else:
        payload = {"text": text}
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUT,
        channel=channel,
        author=agent,
        subject=payload.get("subject", ""),
        body_text=text,
        external_id=external_id,
        created_at=now,
    )
    if attachments:
        stored = store_attachments(message, attachments, stored_files)
        payload["attachments"] = [attachment.pk for attachment in stored]
    if channel != Channel.FORM:
        enqueue(channel, recipient, payload, idempotency_key=f"message:{message.pk}", ticket=ticket, message=message)
    notify_answer(ticket, message)
    fields = ["updated_at"]
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
    if ticket.status == Ticket.Status.NEW:
        ticket.status = Ticket.Status.OPEN
        fields.append("status")
    ticket.save(update_fields=fields)
    record_event(ticket, TicketEvent.Kind.REPLIED, actor=agent, message=message.pk, channel=channel)
    return message


@transaction.atomic
def note(ticket, agent, text):
    """An internal note: agents see it, the citizen never does."""
    text = (text or "").strip()
    if not text:
        raise TicketActionError(_("The note is empty."))
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUT,
        channel=ticket.channel,
        author=agent,
        body_text=text,
        is_internal=True,
    )
    record_event(ticket, TicketEvent.Kind.NOTE_ADDED, actor=agent, message=message.pk)
    return message


@transaction.atomic
def change_status(ticket, status, actor=None):
    """Move the ticket to ``status``; an illegal move raises InvalidTransition
    and changes nothing."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    previous = ticket.status
    if previous == status:
        return ticket
    ticket.status = status
    ticket.check_transition(status)
    now = timezone.now()
    if status == Ticket.Status.RESOLVED:
        ticket.resolved_at = now
    elif status == Ticket.Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif status == Ticket.Status.OPEN:
        ticket.resolved_at = None
    if previous == Ticket.Status.PENDING:
        resume_after_pause(ticket, now)
    ticket.save()
    record_event(ticket, TicketEvent.Kind.STATUS_CHANGED, actor=actor, previous=previous, status=status)
    if status == Ticket.Status.RESOLVED:
        notify_resolved(ticket)
    return ticket


def resume_after_pause(ticket, now):
    """The clock stops while the ticket waits for the citizen: push the due
    times (first answer and resolution) by the opening hours spent waiting
    (ticket saved by the caller)."""
    from routing.sla import resume_due_at

    paused = (
        ticket.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED, data__status=Ticket.Status.PENDING)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if paused is not None:
        ticket.due_at = resume_due_at(ticket, paused, now)
        ticket.resolution_due_at = resume_due_at(ticket, paused, now, due=ticket.resolution_due_at)


def close(ticket, actor=None):
    return change_status(ticket, Ticket.Status.CLOSED, actor)


@transaction.atomic
def assign(ticket, actor, assignee):
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    previous = ticket.assignee_id
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    record_event(
        ticket,
        TicketEvent.Kind.ASSIGNED,
        actor=actor,
        previous=previous,
        assignee=assignee.pk if assignee else None,
    )
    return ticket


@transaction.atomic
def transfer(ticket, actor, service, reason):
    """Pass the ticket to another service, with the reason why."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketActionError(_("A transfer needs a reason."))
    # Locked without a join: after waiting for another transaction's lock,
    # PostgreSQL rechecks the ticket row only, and a joined row could come
    # back empty. The service is read once the row is ours.
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.service_id == service.pk:
        raise TicketActionError(_("The ticket is already in this service."))
    previous = ticket.service
    _record_correction(ticket, actor, service=service)
    ticket.service = service
    ticket.assignee = None
    ticket.save(update_fields=["service", "assignee", "updated_at"])
    record_event(
        ticket,
        TicketEvent.Kind.TRANSFERRED,
        actor=actor,
        from_service=str(previous) if previous else None,
        to_service=str(service),
        reason=reason,
    )
    return ticket


@transaction.atomic
def change_topic(ticket, actor, topic):
    """An agent says what the request is really about: a routing correction."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)  # no join under the lock (see transfer)
    if ticket.topic_id == (topic.pk if topic else None):
        return ticket
    previous = ticket.topic
    _record_correction(ticket, actor, topic=topic)
    ticket.topic = topic
    ticket.not_understood = False
    ticket.save(update_fields=["topic", "not_understood", "updated_at"])
    record_event(
        ticket,
        TicketEvent.Kind.CORRECTED,
        actor=actor,
        from_topic=previous.slug if previous else None,
        to_topic=topic.slug if topic else None,
    )
    return ticket


def _record_correction(ticket, agent, **change):
    from routing.corrections import record_correction

    record_correction(ticket, agent, **change)
