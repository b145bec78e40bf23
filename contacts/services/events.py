"""Recording what happens to a ticket, and telling who listens."""

import contextlib
import threading

import django.dispatch
from django.db import transaction

from contacts.models import TicketEvent

# Sent after the transaction that recorded the event commits; live views
# (inbox, chat) and notifications subscribe to it.
ticket_event_recorded = django.dispatch.Signal()

_batch = threading.local()


def record_event(ticket, kind, actor=None, **data):
    event = TicketEvent(ticket=ticket, kind=kind, actor=actor, data=data)
    pending = getattr(_batch, "events", None)
    if pending is not None:
        pending.append(event)  # inserted with the others when the batch ends
    else:
        event.save()
    transaction.on_commit(lambda: ticket_event_recorded.send(sender=TicketEvent, event=event))
    return event


@contextlib.contextmanager
def batched_events():
    """The events recorded inside are inserted together, in their order, in
    one INSERT when the block ends (use it inside the transaction: nothing is
    inserted when the block raises or the transaction is marked for rollback).
    Code inside must not read back the events it records."""
    if getattr(_batch, "events", None) is not None:
        yield  # an enclosing batch inserts them
        return
    _batch.events = events = []
    try:
        yield
    finally:
        _batch.events = None
    if events and not (transaction.get_connection().in_atomic_block and transaction.get_rollback()):
        from contacts.services import rows

        rows.insert_many(events)
