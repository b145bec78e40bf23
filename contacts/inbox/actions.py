"""The inbox's actions that combine the ticket services with the checks of
who may do what. Each is one transaction."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.channels import Channel
from contacts.inbound import InboundAttachment
from contacts.inbox import live
from contacts.inbox.access import may_reassign
from contacts.inbox.forms import agent_label
from contacts.inbox.mentions import mentioned_agents
from contacts.models import Ticket, TicketEvent
from contacts.services import TicketActionError, assign, note
from contacts.services.events import record_event
from contacts.services.tickets import reply_channel

# How the composer names each way an answer can take.
ANSWER_CHANNELS = [
    (Channel.EMAIL, Channel.EMAIL.label),
    (Channel.SMS, Channel.SMS.label),
    (Channel.CHAT, Channel.CHAT.label),
    (Channel.FORM, gettext_lazy("Follow-up page only")),
]


def reply_channels(ticket):
    """The channels the reply service can answer this ticket by, its
    default first (asked of the service, which decides)."""
    channels = []
    for channel, label in ANSWER_CHANNELS:
        try:
            reply_channel(ticket, channel)
        except TicketActionError:
            continue
        channels.append((channel.value, label))
    try:
        default, _recipient = reply_channel(ticket)
    except TicketActionError:
        default = None
    channels.sort(key=lambda choice: choice[0] != default)
    return channels


def documents(files):
    """Uploaded files as the attachments the reply service stores."""
    return [
        InboundAttachment(item.name, item.content_type or "application/octet-stream", item.read())
        for item in files or ()
    ]


def _locked(ticket):
    # No join: after waiting for the lock, PostgreSQL re-reads the ticket row
    # but not a joined one (the assignee would look empty); it loads after.
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


@transaction.atomic
def claim(ticket, user):
    """The agent takes the ticket; refused when a colleague took it first."""
    current = _locked(ticket)
    if current.assignee_id == user.pk:
        return current
    if current.assignee_id is not None:
        raise TicketActionError(_("%(name)s already took this ticket.") % {"name": agent_label(current.assignee)})
    return assign(current, user, user)


@transaction.atomic
def pass_to_agent(ticket, profile, user, assignee, reason):
    """Give the ticket to another agent, with the reason why (counted as a
    transfer, like one to another service)."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketActionError(_("A transfer needs a reason."))
    current = _locked(ticket)
    if not may_reassign(profile, current, user):
        raise TicketActionError(
            _("%(name)s is handling this ticket; only a supervisor can give it to someone else.")
            % {"name": agent_label(current.assignee)}
        )
    if current.assignee_id == assignee.pk:
        raise TicketActionError(_("The ticket is already assigned to this agent."))
    previous = current.assignee
    current = assign(current, user, assignee)
    record_event(
        current,
        TicketEvent.Kind.TRANSFERRED,
        actor=user,
        from_agent=agent_label(previous) if previous else None,
        to_agent=agent_label(assignee),
        reason=reason,
    )
    return current


@transaction.atomic
def add_note(ticket, user, organisation, text):
    """An internal note; the colleagues it names with @username are told."""
    message = note(ticket, user, text)
    mentioned = mentioned_agents(organisation, text, exclude=user)
    if mentioned:
        transaction.on_commit(lambda: live.notify_mentions(ticket, user, mentioned))
    return message


@transaction.atomic
def change_priority(ticket, user, priority):
    current = _locked(ticket)
    previous = current.priority
    if previous == priority:
        return current
    current.priority = priority
    current.save(update_fields=["priority", "updated_at"])
    record_event(current, TicketEvent.Kind.PRIORITY_CHANGED, actor=user, previous=previous, priority=priority)
    return current


def set_availability(profile, available):
    if profile.is_available != available:
        profile.is_available = available
        profile.save(update_fields=["is_available"])
    return profile
