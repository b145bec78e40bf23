import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from contacts.models import Absence, AgentProfile, Ticket
from routing.assignment import assign_agent
from routing.models import ServiceRouting


@pytest.fixture
def agents(organisation):
    service = organisation.triage_service()
    profiles = []
    for name in ("alice", "bruno", "chloe"):
        user = get_user_model().objects.create_user(name)
        profile = AgentProfile.objects.create(user=user, organisation=organisation)
        profile.services.add(service)
        profiles.append(profile)
    return service, profiles


@pytest.mark.django_db
def test_shared_queue_assigns_nobody(make_ticket, agents):
    assert make_ticket().assignee is None


@pytest.mark.django_db
def test_round_robin_skips_unavailable_and_absent_agents(make_ticket, agents):
    service, (alice, bruno, chloe) = agents
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    bruno.is_available = False
    bruno.save()
    Absence.objects.create(
        agent=chloe, starts_at=timezone.now() - timedelta(days=1), ends_at=timezone.now() + timedelta(days=1)
    )
    assignees = {make_ticket().assignee for _ in range(3)}
    assert assignees == {alice.user}


@pytest.mark.django_db
def test_least_loaded_gives_to_who_has_least(make_ticket, agents):
    service, (alice, bruno, chloe) = agents
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "least_loaded"})
    first = [make_ticket().assignee for _ in range(3)]
    assert sorted(u.username for u in first) == ["alice", "bruno", "chloe"]
    assert make_ticket().events.filter(kind="assigned").exists()


@pytest.mark.django_db
def test_round_robin_goes_round_in_order_and_keeps_its_place_when_agents_change(make_ticket, agents):
    service, (alice, bruno, chloe) = agents
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    assert [make_ticket().assignee.username for _ in range(4)] == ["alice", "bruno", "chloe", "alice"]
    chloe.is_available = False
    chloe.save()
    assert [make_ticket().assignee.username for _ in range(3)] == ["bruno", "alice", "bruno"]
    assert make_ticket().events.get(kind="assigned").data["mode"] == "round_robin"


@pytest.mark.django_db
def test_a_past_absence_does_not_keep_an_agent_away(make_ticket, agents):
    service, (alice, bruno, chloe) = agents
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    now = timezone.now()
    # One absence over, one to come: neither is now.
    Absence.objects.create(agent=alice, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=8))
    Absence.objects.create(agent=alice, starts_at=now + timedelta(days=8), ends_at=now + timedelta(days=9))
    assert {make_ticket().assignee.username for _ in range(3)} == {"alice", "bruno", "chloe"}


@pytest.mark.django_db
def test_least_loaded_counts_only_open_tickets(make_ticket, agents):
    service, (alice, bruno, chloe) = agents
    for user, status in [(alice.user, "closed"), (alice.user, "closed"), (bruno.user, "open"), (chloe.user, "pending")]:
        ticket = make_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(assignee=user, status=status)
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "least_loaded"})
    assert make_ticket().assignee == alice.user


@pytest.mark.django_db
def test_nobody_available_leaves_the_ticket_in_the_queue(make_ticket, agents):
    service, profiles = agents
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    AgentProfile.objects.filter(pk__in=[p.pk for p in profiles]).update(is_available=False)
    ticket = make_ticket()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind="assigned").exists()


def _assign_concurrently(tickets):
    barrier = threading.Barrier(len(tickets))
    errors = []

    def work(ticket):
        try:
            barrier.wait()
            assign_agent(ticket)
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_least_loaded_assignments_spread_evenly(make_ticket, agents):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    service, profiles = agents
    tickets = [make_ticket() for _ in range(6)]
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "least_loaded"})
    _assign_concurrently(tickets)
    counts = sorted(Ticket.objects.filter(assignee__isnull=False).values_list("assignee__username", flat=True))
    assert counts == ["alice", "alice", "bruno", "bruno", "chloe", "chloe"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_round_robin_gives_each_agent_its_turn(make_ticket, agents):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    service, profiles = agents
    tickets = [make_ticket() for _ in range(6)]
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    _assign_concurrently(tickets)
    counts = sorted(Ticket.objects.filter(assignee__isnull=False).values_list("assignee__username", flat=True))
    assert counts == ["alice", "alice", "bruno", "bruno", "chloe", "chloe"]
    assert Ticket.objects.filter(events__kind="assigned").count() == 6
