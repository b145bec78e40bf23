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


@pytest.mark.django_db
def test_a_ticket_of_friday_evening_before_a_public_holiday_is_due_in_business_hours(organisation, make_ticket):
    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8)
    # Friday 22 May 2026, 19:00: closed; then the weekend and Whit Monday.
    ticket = make_ticket(created_at=datetime(2026, 5, 22, 19, 0, tzinfo=PARIS))
    # Tuesday 9:00-12:00 and 13:30-17:00 (6.5 h), then 1.5 h on Wednesday.
    assert ticket.due_at == datetime(2026, 5, 27, 10, 30, tzinfo=PARIS)
    assert business_hours_between(ticket.created_at, ticket.due_at, organisation) == pytest.approx(8)


@pytest.mark.django_db
def test_the_most_specific_policy_wins_and_a_narrower_one_does_not_leak(organisation, make_ticket):
    ticket = make_ticket()  # triage service, normal priority, no topic
    service = ticket.service
    SlaPolicy.objects.create(organisation=organisation, service=service, priority="urgent", first_response_hours=2)
    assert sla_hours_for(ticket) == 48  # the urgent policy is not for a normal ticket
    SlaPolicy.objects.create(organisation=organisation, priority="normal", first_response_hours=30)
    assert sla_hours_for(ticket) == 30
    SlaPolicy.objects.create(organisation=organisation, service=service, first_response_hours=20)
    assert sla_hours_for(ticket) == 20  # service outweighs priority
    ticket.priority = "urgent"
    assert sla_hours_for(ticket) == 2  # service and priority outweigh service alone


@pytest.mark.django_db
def test_urgent_tickets_without_policy_get_a_short_deadline(make_ticket):
    ticket = make_ticket()
    ticket.priority = "urgent"
    assert sla_hours_for(ticket) == 4


@pytest.mark.django_db
def test_policies_guard_their_invariants(organisation):
    SlaPolicy.objects.create(organisation=organisation, first_response_hours=24)
    with pytest.raises(ValidationError):
        SlaPolicy.objects.create(organisation=organisation, first_response_hours=12)  # same scope twice
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.objects.create(organisation=organisation, priority="high", first_response_hours=8, resolution_hours=4)
    assert "resolution_hours" in caught.value.message_dict
    from kb.models import Organisation, Service

    other = Organisation.objects.create(slug="autre", name="Autre", kind="commune")
    foreign = Service.objects.create(organisation=other, slug="x", name="X")
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.objects.create(organisation=organisation, service=foreign, first_response_hours=8)
    assert "service" in caught.value.message_dict


@pytest.mark.django_db
def test_alsace_moselle_holidays_and_other_closed_days(organisation):
    good_friday = datetime(2026, 4, 3, 9, 0, tzinfo=PARIS)
    evening = datetime(2026, 4, 3, 18, 0, tzinfo=PARIS)
    assert business_hours_between(good_friday, evening, organisation) == pytest.approx(6.5)
    hours = BusinessHours.objects.create(organisation=organisation, schedule=BusinessHours.DEFAULT)
    hours.holiday_subdivision = "6AE"
    hours.save()
    assert business_hours_between(good_friday, evening, organisation) == 0
    hours.holiday_subdivision = ""
    hours.closed_dates = ["2026-04-03"]
    hours.save()
    assert business_hours_between(good_friday, evening, organisation) == 0
    with pytest.raises(ValidationError) as caught:
        hours.closed_dates = ["3 avril"]
        hours.save()
    assert "closed_dates" in caught.value.message_dict


@pytest.mark.django_db
def test_pause_over_a_closed_night_pushes_only_by_opening_hours(organisation, make_ticket):
    ticket = make_ticket()
    ticket.due_at = datetime(2026, 6, 5, 10, 0, tzinfo=PARIS)  # Friday
    # Paused Monday 16:00 to Tuesday 10:00: 1 h + 1 h of opening hours.
    pushed = resume_due_at(ticket, datetime(2026, 6, 1, 16, 0, tzinfo=PARIS), datetime(2026, 6, 2, 10, 0, tzinfo=PARIS))
    assert pushed == datetime(2026, 6, 5, 12, 0, tzinfo=PARIS)
    # Paused over a weekend only: nothing to push.
    weekend = resume_due_at(ticket, datetime(2026, 6, 6, 9, 0, tzinfo=PARIS), datetime(2026, 6, 7, 18, 0, tzinfo=PARIS))
    assert weekend == ticket.due_at


@pytest.mark.django_db
def test_overdue_tickets_are_escalated_once_to_the_services_supervisors(organisation, make_ticket):
    from django.contrib.auth import get_user_model

    from contacts.models import AgentProfile, Outbox
    from routing.tasks import check_sla

    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    chief = get_user_model().objects.create_user("cheffe", email="cheffe@cd99.example")
    AgentProfile.objects.create(user=chief, organisation=organisation, role="supervisor").services.add(ticket.service)
    director = get_user_model().objects.create_user("directeur", email="dir@cd99.example")
    AgentProfile.objects.create(user=director, organisation=organisation, role="manager")
    agent = get_user_model().objects.create_user("agent", email="agent@cd99.example")
    AgentProfile.objects.create(user=agent, organisation=organisation).services.add(ticket.service)
    ticket.due_at = datetime(2026, 6, 1, 17, 0, tzinfo=PARIS)
    ticket.save()

    assert check_sla(now=datetime(2026, 6, 2, 9, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 1}
    assert check_sla(now=datetime(2026, 6, 2, 9, 5, tzinfo=PARIS)) == {"warned": 0, "breached": 0}

    assert ticket.events.filter(kind="sla_breached").count() == 1
    assert ticket.events.get(kind="escalated").data["supervisors"] == ["cheffe"]
    mail = Outbox.objects.get(recipient="cheffe@cd99.example")
    assert mail.idempotency_key == f"escalated:{ticket.pk}:{chief.pk}"
    assert not Outbox.objects.filter(recipient__in=["dir@cd99.example", "agent@cd99.example"]).exists()


@pytest.mark.django_db
def test_a_service_without_supervisor_escalates_to_the_organisations(organisation, make_ticket):
    from django.contrib.auth import get_user_model

    from contacts.models import AgentProfile
    from routing.tasks import check_sla

    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    director = get_user_model().objects.create_user("directeur", email="dir@cd99.example")
    AgentProfile.objects.create(user=director, organisation=organisation, role="manager")
    ticket.due_at = datetime(2026, 6, 1, 10, 0, tzinfo=PARIS)
    ticket.save()
    check_sla(now=datetime(2026, 6, 1, 11, 0, tzinfo=PARIS))
    assert ticket.events.get(kind="escalated").data["supervisors"] == ["directeur"]


@pytest.mark.django_db
def test_tickets_waiting_for_the_citizen_or_answered_are_not_checked(organisation, make_ticket, admin_user):
    from contacts.models import Ticket
    from contacts.services import change_status
    from routing.tasks import check_sla

    waiting = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    Ticket.objects.filter(pk=waiting.pk).update(due_at=datetime(2026, 6, 1, 10, 0, tzinfo=PARIS))
    change_status(waiting, Ticket.Status.PENDING, admin_user)
    answered = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    Ticket.objects.filter(pk=answered.pk).update(
        due_at=datetime(2026, 6, 1, 10, 0, tzinfo=PARIS), first_response_at=datetime(2026, 6, 1, 9, 30, tzinfo=PARIS)
    )
    assert check_sla(now=datetime(2026, 6, 3, 9, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 0}


@pytest.mark.django_db
def test_a_week_without_opening_hours_is_refused(organisation):
    with pytest.raises(ValidationError) as caught:
        BusinessHours.objects.create(organisation=organisation, schedule={"0": [], "1": []})
    assert "schedule" in caught.value.message_dict


def _agent(organisation, username, service=None, role="agent", email=True):
    from django.contrib.auth import get_user_model

    from contacts.models import AgentProfile

    user = get_user_model().objects.create_user(username, email=f"{username}@cd99.example" if email else "")
    profile = AgentProfile.objects.create(user=user, organisation=organisation, role=role)
    if service is not None:
        profile.services.add(service)
    return user


@pytest.mark.django_db
def test_the_resolution_due_time_is_stored_in_opening_hours_without_public_holidays(organisation, make_ticket):
    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8, resolution_hours=24)
    # Friday 22 May 2026, 19:00: closed; then the weekend and Whit Monday.
    ticket = make_ticket(created_at=datetime(2026, 5, 22, 19, 0, tzinfo=PARIS))
    ticket.refresh_from_db()
    # Tuesday to Thursday: 3 x 6.5 h; then 4.5 h on Friday 29 May (9:00-12:00, 13:30-15:00).
    assert ticket.resolution_due_at == datetime(2026, 5, 29, 15, 0, tzinfo=PARIS)
    assert business_hours_between(ticket.created_at, ticket.resolution_due_at, organisation) == pytest.approx(24)
    assert ticket.due_at == datetime(2026, 5, 27, 10, 30, tzinfo=PARIS)


@pytest.mark.django_db
def test_no_resolution_policy_means_no_resolution_due_time(make_ticket):
    ticket = make_ticket()
    ticket.refresh_from_db()
    assert ticket.due_at is not None
    assert ticket.resolution_due_at is None


@pytest.mark.django_db
def test_waiting_for_the_citizen_pauses_the_resolution_clock_too(organisation, make_ticket, admin_user):
    from contacts.models import Ticket, TicketEvent
    from contacts.services import change_status
    from contacts.services.tickets import resume_after_pause

    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8, resolution_hours=16)
    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))  # Monday
    ticket.refresh_from_db()
    assert ticket.due_at == datetime(2026, 6, 2, 10, 30, tzinfo=PARIS)
    assert ticket.resolution_due_at == datetime(2026, 6, 3, 12, 0, tzinfo=PARIS)
    change_status(ticket, Ticket.Status.PENDING, admin_user)
    # It waited for the citizen from Monday 16:00 to Tuesday 10:00: 1 h + 1 h of opening hours.
    TicketEvent.objects.filter(ticket=ticket, kind="status_changed").update(
        created_at=datetime(2026, 6, 1, 16, 0, tzinfo=PARIS)
    )
    ticket.refresh_from_db()

    resume_after_pause(ticket, datetime(2026, 6, 2, 10, 0, tzinfo=PARIS))

    # Both pushed by 2 opening hours, over the lunch break (12:00-13:30).
    assert ticket.due_at == datetime(2026, 6, 2, 14, 0, tzinfo=PARIS)
    assert ticket.resolution_due_at == datetime(2026, 6, 3, 15, 30, tzinfo=PARIS)


@pytest.mark.django_db
def test_the_warning_before_a_breach_emails_the_services_agents_then_the_assignee(organisation, make_ticket):
    from contacts.models import Outbox
    from contacts.services.tickets import assign
    from routing.tasks import check_sla

    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8, resolution_hours=16)
    shared = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    assigned = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    _agent(organisation, "claire", shared.service)
    _agent(organisation, "sans-adresse", shared.service, email=False)
    _agent(organisation, "ailleurs", organisation.services.get(slug="insertion"))
    marc = _agent(organisation, "marc", shared.service)
    assign(assigned, None, marc)

    # Tuesday 10:00: 7.5 of the 8 opening hours to the first answer have gone.
    assert check_sla(now=datetime(2026, 6, 2, 10, 0, tzinfo=PARIS)) == {"warned": 2, "breached": 0}
    assert check_sla(now=datetime(2026, 6, 2, 10, 10, tzinfo=PARIS)) == {"warned": 0, "breached": 0}

    assert shared.events.get(kind="sla_warning").data["agents"] == ["claire", "marc"]
    assert assigned.events.get(kind="sla_warning").data["agents"] == ["marc"]
    mails = Outbox.objects.filter(idempotency_key__startswith="sla-warning:")
    assert sorted(mails.values_list("recipient", flat=True)) == [
        "claire@cd99.example",
        "marc@cd99.example",
        "marc@cd99.example",
    ]
    mail = mails.get(ticket=assigned)
    assert mail.channel == "email"
    assert mail.payload["subject"] == f"Réponse attendue bientôt : demande {assigned.reference}"
    assert "doit recevoir une réponse avant le 2 juin 2026 10:30" in mail.payload["text"]


@pytest.mark.django_db
def test_the_resolution_deadline_warns_then_escalates_once_to_the_supervisors(organisation, make_ticket):

    from contacts.models import Outbox, Ticket
    from routing.tasks import check_sla

    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8, resolution_hours=16)
    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    waiting = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    # Both were answered in time; one now waits for the citizen (its clock is paused).
    Ticket.objects.filter(pk__in=[ticket.pk, waiting.pk]).update(
        first_response_at=datetime(2026, 6, 1, 10, 0, tzinfo=PARIS), status=Ticket.Status.OPEN
    )
    Ticket.objects.filter(pk=waiting.pk).update(status=Ticket.Status.PENDING)
    _agent(organisation, "claire", ticket.service)
    chief = _agent(organisation, "cheffe", ticket.service, role="supervisor")

    # Wednesday 11:00: 15 of the 16 opening hours to resolution have gone.
    assert check_sla(now=datetime(2026, 6, 3, 11, 0, tzinfo=PARIS)) == {"warned": 1, "breached": 0}
    warning = Outbox.objects.get(idempotency_key__startswith="resolution-warning:", recipient="claire@cd99.example")
    assert warning.payload["subject"] == f"Résolution attendue bientôt : demande {ticket.reference}"
    assert "doit être résolue avant le 3 juin 2026 12:00" in warning.payload["text"]

    assert check_sla(now=datetime(2026, 6, 3, 14, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 1}
    assert check_sla(now=datetime(2026, 6, 4, 9, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 0}

    assert ticket.events.filter(kind="resolution_breached").count() == 1
    assert ticket.events.get(kind="resolution_escalated").data["supervisors"] == ["cheffe"]
    assert not ticket.events.filter(kind__in=["sla_warning", "sla_breached", "escalated"]).exists()
    escalation = Outbox.objects.get(idempotency_key=f"resolution-escalated:{ticket.pk}:{chief.pk}")
    assert escalation.payload["subject"] == f"Demande {ticket.reference} non résolue dans les délais"
    assert "n'a pas été résolue dans les délais" in escalation.payload["text"]
    assert not waiting.events.filter(kind__startswith="resolution_").exists()


@pytest.mark.django_db
def test_a_resolved_ticket_is_neither_warned_nor_escalated(organisation, make_ticket):
    from contacts.models import Ticket
    from routing.tasks import check_sla

    SlaPolicy.objects.create(organisation=organisation, first_response_hours=8, resolution_hours=16)
    ticket = make_ticket(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=PARIS))
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_at=datetime(2026, 6, 1, 10, 0, tzinfo=PARIS),
        status=Ticket.Status.RESOLVED,
        resolved_at=datetime(2026, 6, 2, 10, 0, tzinfo=PARIS),
    )
    assert check_sla(now=datetime(2026, 6, 5, 9, 0, tzinfo=PARIS)) == {"warned": 0, "breached": 0}
    assert not ticket.events.filter(kind__in=["resolution_warning", "resolution_escalated"]).exists()
