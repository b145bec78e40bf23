"""Two agents claim the same ticket at the same moment: one gets it, the
other a clear French error, and the ticket records one assignment."""

import threading

import pytest
from django.db import connection

from contacts.inbox import actions
from contacts.models import Ticket, TicketEvent
from contacts.services import TicketActionError
from tests.inbox.world import build_world


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims(fast_passwords):
    world = build_world()
    ticket = world.ticket("rsa")
    agents = [world.users["alice"], world.users["bruno"]]
    start = threading.Barrier(len(agents))
    outcomes = {}

    def claim(user):
        try:
            start.wait(timeout=10)
            actions.claim(ticket, user)
            outcomes[user.username] = "claimed"
        except TicketActionError as exc:
            outcomes[user.username] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winner = Ticket.objects.get(pk=ticket.pk).assignee
    assert winner in agents
    loser = next(user for user in agents if user != winner)
    assert outcomes[winner.username] == "claimed"
    assert outcomes[loser.username] == f"{winner.get_full_name()} a déjà pris cette demande."
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED).count() == 1
