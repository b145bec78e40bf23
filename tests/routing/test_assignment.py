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


@pytest.mark.django_db(transaction=True)
def test_concurrent_round_robin_gives_each_agent_its_turn(make_ticket, agents):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    service, profiles = agents
    tickets = [make_ticket() for _ in range(6)]
    ServiceRouting.objects.update_or_create(service=service, defaults={"mode": "round_robin"})
    barrier = threading.Barrier(6)

    def work(ticket):
        try:
            barrier.wait()
            assign_agent(ticket)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = sorted(Ticket.objects.filter(assignee__isnull=False).values_list("assignee__username", flat=True))
    assert counts == ["alice", "alice", "bruno", "bruno", "chloe", "chloe"]
