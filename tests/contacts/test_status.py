import pytest

from contacts.models import InvalidTransition, Ticket
from contacts.services import change_status, close, ingest


@pytest.mark.django_db
def test_illegal_transition_is_refused_and_changes_nothing(make_inbound):
    ticket = ingest(make_inbound()).ticket
    close(ticket)
    events_before = ticket.events.count()

    with pytest.raises(InvalidTransition, match="Close"):
        change_status(ticket, Ticket.Status.OPEN)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.events.count() == events_before


@pytest.mark.django_db
def test_model_itself_refuses_an_illegal_transition(make_inbound):
    ticket = ingest(make_inbound()).ticket
    close(ticket)
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket.status = Ticket.Status.NEW
    with pytest.raises(InvalidTransition):
        ticket.save()
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.CLOSED


@pytest.mark.django_db
def test_allowed_transitions_record_events_and_timestamps(make_inbound, admin_user):
    ticket = ingest(make_inbound()).ticket
    change_status(ticket, Ticket.Status.PENDING, admin_user)
    change_status(ticket, Ticket.Status.RESOLVED, admin_user)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    close(ticket, admin_user)
    ticket.refresh_from_db()
    assert ticket.closed_at is not None
    changes = list(ticket.events.filter(kind="status_changed").values_list("data__previous", "data__status"))
    assert changes == [("new", "pending"), ("pending", "resolved"), ("resolved", "closed")]


def test_every_status_has_its_transitions_written_down():
    assert set(Ticket.TRANSITIONS) == set(Ticket.Status)
    assert Ticket.TRANSITIONS[Ticket.Status.CLOSED] == set()
