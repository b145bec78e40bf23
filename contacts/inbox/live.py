"""Live updates: after a ticket event commits, tell the organisation's
connected agents (their consumer checks what each one may see)."""

import logging
import os

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from contacts.models import TicketEvent
from contacts.services import background

logger = logging.getLogger(__name__)

# What changes a list: new tickets and messages, and agents' handling.
BROADCAST = {
    TicketEvent.Kind.CREATED,  # a new ticket (routed in the same transaction)
    TicketEvent.Kind.MESSAGE_RECEIVED,  # a message on an existing ticket
    TicketEvent.Kind.REOPENED,
    TicketEvent.Kind.REPLIED,
    TicketEvent.Kind.NOTE_ADDED,
    TicketEvent.Kind.ASSIGNED,
    TicketEvent.Kind.TRANSFERRED,
    TicketEvent.Kind.STATUS_CHANGED,
    TicketEvent.Kind.PRIORITY_CHANGED,
    TicketEvent.Kind.CORRECTED,
    TicketEvent.Kind.MERGED_INTO,  # the duplicate is closed
    TicketEvent.Kind.MERGED_FROM,  # its messages arrived
    TicketEvent.Kind.TAGS_CHANGED,  # lists filtered by tag
}


def organisation_group(organisation_id):
    return f"inbox.org.{organisation_id}"


def ticket_group(ticket_id):
    return f"inbox.ticket.{ticket_id}"


def user_group(user_id):
    return f"inbox.user.{user_id}"


def _send(group, message):
    layer = get_channel_layer()
    if layer is None:
        return
    if not isinstance(layer, InMemoryChannelLayer) and not _served_by_an_event_loop():
        # A process without an event loop (WSGI, Celery, mail listener):
        # from the after-commit thread, gathered with others, instead of a
        # new event loop and Redis connection per push.
        background.submit("live", (group, message))
        return
    try:  # through the event loop that serves this process (ASGI server; the in-process layer lives there)
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # what happened is stored; a missed live update is only a stale page
        logger.warning("live update to %s not sent", group, exc_info=True)


def _served_by_an_event_loop():
    """Whether this sync code runs for an ASGI server, whose event loop
    async_to_sync reaches at once (and whose consumers share the layer)."""
    return (
        getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None
        and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()
    )


@background.handler("live")
def _send_gathered(items, loop):
    """Send what the after-commit thread gathered: the ticket changes bound
    for one group travel as one message."""
    layer = get_channel_layer()
    messages = []  # [group, message], in the order things happened
    changes = {}  # group -> the ticket changes gathered for it (sent where the first was)
    for group, message in items:
        if message["type"] != "ticket.changed":
            messages.append((group, message))
            continue
        if group not in changes:
            changes[group] = []
            messages.append((group, changes[group]))
        changes[group].append({k: message[k] for k in ("ticket", "kind", "actor")})
    messages = [
        (group, _changes_message(message) if isinstance(message, list) else message) for group, message in messages
    ]

    async def send_all():  # one after the other: a consumer hears them in order
        for group, message in messages:
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.warning("live update to %s not sent", group, exc_info=True)

    loop.run_until_complete(send_all())


def _changes_message(changes):
    if len(changes) == 1:
        return {"type": "ticket.changed", **changes[0]}
    return {"type": "tickets.changed", "changes": changes}


def notify_mentions(ticket, author, users):
    """Tell the agents a note names (after the note commits)."""
    name = author.get_full_name() or author.username
    for user in users:
        _send(user_group(user.pk), {"type": "mention.added", "ticket": ticket.pk, "by": name})


def broadcast(sender, event, **kwargs):
    """Receiver of ``ticket_event_recorded`` (sent after commit). A channel
    layer that is down never breaks what recorded the event."""
    if event.kind not in BROADCAST:
        return
    message = {"type": "ticket.changed", "ticket": event.ticket_id, "kind": event.kind, "actor": event.actor_id}
    _send(organisation_group(event.ticket.organisation_id), message)


def connect():
    from contacts.services.events import ticket_event_recorded

    ticket_event_recorded.connect(broadcast, dispatch_uid="inbox-live")
