from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from routing.models import BusinessHours, SlaPolicy
from routing.sla import business_deadline, business_hours_between, resume_due_at, sla_hours_for

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.django_db
def test_deadline_skips_the_weekend_and_a_public_holiday(organisation):
    # Friday 22 May 2026, 16:30; Monday 25 May is Whit Monday (a French public holiday).
    start = datetime(2026, 5, 22, 16, 30, tzinfo=PARIS)
    due = business_deadline(start, 8, organisation)
    # 30 min on Friday, then Tuesday 9:00-12:00 (3 h) and 13:30-17:00 (3.5 h), then 1 h on Wednesday.
    assert due == datetime(2026, 5, 27, 10, 0, tzinfo=PARIS)


@pytest.mark.django_db
def test_hours_between_count_only_opening_hours(organisation):
    start = datetime(2026, 3, 27, 11, 0, tzinfo=PARIS)  # Friday before the switch to summer time
    end = datetime(2026, 3, 30, 10, 0, tzinfo=PARIS)  # Monday
    assert business_hours_between(start, end, organisation) == pytest.approx(1 + 3.5 + 1)


@pytest.mark.django_db
def test_pause_pushes_the_due_time(organisation, make_ticket):
    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    ticket.due_at = datetime(2026, 6, 2, 9, 0, tzinfo=PARIS)
    paused_from = datetime(2026, 6, 1, 10, 0, tzinfo=PARIS)
    resumed = datetime(2026, 6, 1, 12, 0, tzinfo=PARIS)
    assert resume_due_at(ticket, paused_from, resumed) == datetime(2026, 6, 2, 11, 0, tzinfo=PARIS)


@pytest.mark.django_db
def test_most_specific_policy_wins(organisation, make_ticket):
    ticket = make_ticket()
    assert sla_hours_for(ticket) == 48  # the triage service's own SLA
    SlaPolicy.objects.create(organisation=organisation, first_response_hours=40)
    assert sla_hours_for(ticket) == 40
    SlaPolicy.objects.create(organisation=organisation, service=ticket.service, first_response_hours=16)
    assert sla_hours_for(ticket) == 16


@pytest.mark.django_db
def test_opening_hours_are_validated(organisation):
    with pytest.raises(ValidationError):
        BusinessHours.objects.create(organisation=organisation, schedule={"0": [["12:00", "09:00"]]})
    with pytest.raises(ValidationError):
        BusinessHours.objects.create(organisation=organisation, schedule={"8": [["09:00", "12:00"]]})
    hours = BusinessHours.objects.create(organisation=organisation, schedule={"5": [["09:00", "12:00"]]})
    saturday = datetime(2026, 6, 6, 9, 0, tzinfo=PARIS)
    assert business_deadline(saturday, 2, organisation) == datetime(2026, 6, 6, 11, 0, tzinfo=PARIS)
    assert hours.pk


@pytest.mark.django_db
def test_sla_check_warns_then_records_the_breach_once(organisation, make_ticket):
    from routing.tasks import check_sla

    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    ticket.due_at = datetime(2026, 6, 1, 17, 0, tzinfo=PARIS)
    ticket.save()
    assert check_sla(now=datetime(2026, 6, 1, 16, 30, tzinfo=PARIS)) == {"warned": 1, "breached": 0}
    assert check_sla(now=datetime(2026, 6, 1, 16, 40, tzinfo=PARIS)) == {"warned": 0, "breached": 0}
    assert check_sla(now=datetime(2026, 6, 1, 18, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 1}
    assert check_sla(now=datetime(2026, 6, 2, 18, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 0}
    assert ticket.events.filter(kind="sla_breached").count() == 1


@pytest.mark.django_db
def test_waiting_for_the_citizen_pauses_the_clock(organisation, make_ticket, admin_user):
    from django.utils import timezone

    from contacts.models import Ticket, TicketEvent
    from contacts.services import change_status

    ticket = make_ticket()
    due = datetime(2026, 6, 3, 12, 0, tzinfo=PARIS)
    Ticket.objects.filter(pk=ticket.pk).update(due_at=due)
    change_status(ticket, Ticket.Status.PENDING, admin_user)
    # Pretend the ticket waited from Monday 9:00 to Monday 11:00 (2 opening hours).
    TicketEvent.objects.filter(ticket=ticket, kind="status_changed").update(
        created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS)
    )
    from unittest import mock

    with mock.patch.object(timezone, "now", return_value=datetime(2026, 6, 1, 11, 0, tzinfo=PARIS)):
        change_status(ticket, Ticket.Status.OPEN, admin_user)
    ticket.refresh_from_db()
    # Due Wednesday at noon, pushed by 2 opening hours: the afternoon opens at 13:30.
    assert ticket.due_at == datetime(2026, 6, 3, 15, 30, tzinfo=PARIS)
