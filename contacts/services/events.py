"""Recording what happens to a ticket, and telling who listens."""

import django.dispatch
from django.db import transaction

from contacts.models import TicketEvent

# Sent after the transaction that recorded the event commits; live views
# (inbox, chat) and notifications subscribe to it.
ticket_event_recorded = django.dispatch.Signal()


def record_event(ticket, kind, actor=None, **data):
    event = TicketEvent.objects.create(ticket=ticket, kind=kind, actor=actor, data=data)
    transaction.on_commit(lambda: ticket_event_recorded.send(sender=TicketEvent, event=event))
    return event
