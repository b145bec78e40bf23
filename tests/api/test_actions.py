"""Acting on a ticket through the agents' API: the inbox's services, a clear
400 that says where when the input or the move is refused, and nothing
changed then."""

import threading

import pytest
from django.db import connection

from contacts.models import AgentProfile, Message, Outbox, Ticket, TicketEvent
from tests.inbox.world import build_world, make_agent


def url(ticket, action):
    return f"/api/v1/tickets/{ticket.reference}/{action}/"


def snapshot(ticket):
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (ticket.status, ticket.assignee_id, ticket.service_id, ticket.messages.count(), ticket.events.count())


@pytest.mark.django_db
def test_reply_by_email_lands_in_the_outbox_with_its_threading(world, api):
    rsa = world.ticket("rsa")
    response = api(world.users["alice"]).post(
        url(rsa, "reply"), {"text": "Bonjour, votre RSA sera versé lundi.", "subject": "Votre RSA"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["channel"] == "email" and response.json()["direction"] == "out"
    row = Outbox.objects.get(ticket=rsa, message__isnull=False)
    assert (row.channel, row.recipient) == ("email", "usager1@citoyen.example")
    assert row.payload["in_reply_to"] == rsa.messages.get(direction="in").external_id
    ticket = Ticket.objects.get(pk=rsa.pk)
    assert ticket.status == Ticket.Status.OPEN and ticket.first_response_at is not None
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLIED, actor=world.users["alice"]).exists()


@pytest.mark.django_db
def test_reply_takes_the_citizens_channel_and_refuses_one_they_cannot_be_reached_by(world, api):
    client = api(world.users["alice"])
    apa = world.ticket("apa")  # by SMS, no email address
    assert client.post(url(apa, "reply"), {"text": "Bonjour"}, format="json").status_code == 201
    assert Outbox.objects.get(ticket=apa, message__isnull=False).channel == "sms"
    before = snapshot(apa)
    refused = client.post(url(apa, "reply"), {"text": "Bonjour", "channel": "email"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"channel": ["L'usager ne peut pas être joint par Courriel."]}
    assert snapshot(apa) == before
    assert Outbox.objects.filter(ticket=apa, message__isnull=False).count() == 1


@pytest.mark.django_db
def test_empty_or_malformed_input_is_refused_field_by_field(world, api):
    client = api(world.users["alice"])
    rsa = world.ticket("rsa")
    before = snapshot(rsa)
    cases = [
        ("reply", {"text": "  "}, {"text": ["La réponse est vide."]}),
        ("reply", {}, {"text": ["La réponse est vide."]}),
        ("reply", {"text": "Bonjour", "channel": "pigeon"}, "channel"),
        ("note", {"text": ""}, {"text": ["La note est vide."]}),
        ("status", {"status": "lost"}, "status"),
        ("status", {}, "status"),
        ("assign", {"assignee": "alice", "reason": "congés"}, "assignee"),
    ]
    for action, body, expected in cases:
        response = client.post(url(rsa, action), body, format="json")
        assert response.status_code == 400, (action, body)
        if isinstance(expected, dict):
            assert response.json() == expected
        else:
            assert list(response.json()) == [expected], response.json()
    malformed = client.post(url(rsa, "note"), "{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert "JSON" in malformed.json()["detail"]
    assert snapshot(rsa) == before
    assert not Outbox.objects.filter(ticket=rsa, message__isnull=False).exists()


@pytest.mark.django_db
def test_a_note_is_internal_and_tells_the_colleagues_it_names(world, api):
    rsa = world.ticket("rsa")
    response = api(world.users["alice"]).post(url(rsa, "note"), {"text": "@bruno peux-tu regarder ?"}, format="json")
    assert response.status_code == 201
    assert response.json()["internal"] is True
    message = Message.objects.get(pk=response.json()["id"])
    assert message.is_internal and message.author == world.users["alice"]
    assert not Outbox.objects.filter(ticket=rsa, message=message).exists()  # the citizen never sees it


@pytest.mark.django_db
def test_a_transfer_needs_a_reason_and_a_service_of_the_organisation(world, api):
    client = api(world.users["alice"])
    rsa = world.ticket("rsa")
    before = snapshot(rsa)
    for body, field, text in [
        ({"service": "autonomie"}, "reason", "Un transfert doit être motivé."),
        ({"service": "autonomie", "reason": "   "}, "reason", "Un transfert doit être motivé."),
        ({"service": "mairie", "reason": "pas chez nous"}, "service", "n'existe pas"),
        ({"service": "insertion", "reason": "pas chez nous"}, "service", "déjà dans ce service"),
    ]:
        response = client.post(url(rsa, "transfer"), body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field], response.json()
        assert text in response.json()[field][0]
    assert snapshot(rsa) == before

    response = client.post(url(rsa, "transfer"), {"service": "autonomie", "reason": "Personne âgée"}, format="json")
    assert response.status_code == 200
    assert response.json()["service"]["slug"] == "autonomie"
    event = TicketEvent.objects.get(ticket=rsa, kind=TicketEvent.Kind.TRANSFERRED)
    assert event.data["reason"] == "Personne âgée" and event.actor == world.users["alice"]


@pytest.mark.django_db
def test_assign_to_a_colleague_with_a_reason_and_only_a_supervisor_takes_one_away(world, api):
    rsa = world.ticket("rsa")
    alice, bruno, sam = (world.users[name] for name in ["alice", "bruno", "sam"])
    olga = world.users["olga"]
    refused = api(alice).post(url(rsa, "assign"), {"assignee": olga.pk, "reason": "renfort"}, format="json")
    assert refused.status_code == 400 and "assignee" in refused.json()  # not of her organisation
    response = api(alice).post(
        url(rsa, "assign"), {"assignee": bruno.pk, "reason": "Il connaît le dossier"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "bruno"

    before = snapshot(rsa)
    taken = api(alice).post(url(rsa, "assign"), {"assignee": alice.pk, "reason": "je reprends"}, format="json")
    assert taken.status_code == 400
    assert taken.json() == {
        "assignee": ["Bruno Petit traite cette demande ; seul un superviseur peut la confier à quelqu’un d’autre."]
    }
    assert snapshot(rsa) == before
    response = api(sam).post(url(rsa, "assign"), {"assignee": alice.pk, "reason": "absence"}, format="json")
    assert response.status_code == 200 and response.json()["assignee"]["username"] == "alice"


@pytest.mark.django_db
def test_status_moves_follow_the_state_machine(world, api):
    client = api(world.users["alice"])
    rsa = world.ticket("rsa")
    response = client.post(url(rsa, "status"), {"status": "closed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    before = snapshot(rsa)
    refused = client.post(url(rsa, "status"), {"status": "open"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"status": ["Une demande ne peut pas passer de « Close » à « En cours »."]}
    assert snapshot(rsa) == before


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_one_gets_it_the_other_a_409(fast_passwords):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    world = build_world()
    ticket = world.ticket("rsa")
    agents = [world.users["alice"], world.users["bruno"]]
    keys = {user.username: Token.objects.create(user=user).key for user in agents}
    start = threading.Barrier(len(agents))
    outcomes = {}

    def claim(user):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {keys[user.username]}")
            start.wait(timeout=10)
            response = client.post(url(ticket, "claim"))
            outcomes[user.username] = (response.status_code, response.json())
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
    assert outcomes[winner.username][0] == 200
    assert outcomes[loser.username] == (409, {"detail": f"{winner.get_full_name()} a déjà pris cette demande."})
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED).count() == 1


@pytest.mark.django_db
def test_a_manager_sees_and_acts_on_the_organisations_tickets(world, api):
    maud = make_agent("maud", world.organisation, [], role=AgentProfile.Role.MANAGER)
    client = api(maud)
    assert client.post(url(world.ticket("rsa"), "claim")).status_code == 200
    assert world.ticket("rsa").assignee == maud


@pytest.mark.django_db
def test_a_reply_retried_with_its_idempotency_key_is_sent_once(world, api):
    client = api(world.users["alice"])
    rsa = world.ticket("rsa")
    body = {"text": "Bonjour, voici la réponse."}
    refused = client.post(url(rsa, "reply"), {"text": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert refused.status_code == 400  # not sent: the key is still free
    assert client.post(url(rsa, "reply"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    again = client.post(url(rsa, "reply"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 409
    assert again.json() == {"detail": "Cette réponse a déjà été envoyée."}
    assert Outbox.objects.filter(ticket=rsa, message__isnull=False).count() == 1
    assert client.post(url(rsa, "reply"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    assert Outbox.objects.filter(ticket=rsa, message__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_reply_stored_before_the_answer_failed_keeps_its_key(world, api, monkeypatch):
    # The answer is committed with its outbox row, then writing the response
    # fails: the client's retry with the same key must not send it again.
    from contacts.api import serializers

    client = api(world.users["alice"])
    client.raise_request_exception = False
    rsa = world.ticket("rsa")
    body = {"text": "Bonjour, voici la réponse."}

    def broken(*args, **kwargs):
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(serializers.MessageSerializer, "data", property(broken))
    assert client.post(url(rsa, "reply"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-9").status_code == 500
    monkeypatch.undo()
    again = client.post(url(rsa, "reply"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert again.status_code == 409
    assert Outbox.objects.filter(ticket=rsa, message__isnull=False).count() == 1
