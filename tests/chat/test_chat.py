"""The chat over real websockets, against uvicorn on the Redis channel layer,
with a real Celery worker delivering the agents' messages."""

import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from channels_app.models import ChatEntry, Conversation, Orientation
from contacts.models import AgentProfile, Outbox, Ticket
from tests.chat.sockets import citizen, receive, receive_until
from tests.support.processes import celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_assistant_answers_from_the_knowledge_base_and_a_reconnect_replays(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        socket.send(json.dumps({"type": "hello"}))
        hello = receive(socket)
        assert hello["type"] == "conversation" and hello["status"] == "assistant"
        greeting = receive(socket)
        assert greeting["seq"] == 1 and greeting["author"] == "assistant"
        assert greeting["data"]["buttons"][-1]["action"] == "agent"

        socket.send(json.dumps({"type": "message", "client_id": "c1", "text": "Mon RSA n'a pas été versé ce mois-ci"}))
        mine = receive(socket)
        assert (mine["seq"], mine["author"], mine["client_id"]) == (2, "citizen", "c1")
        answer = receive(socket)
        assert answer["author"] == "assistant" and answer["seq"] == 3
        assert answer["data"]["topic"].startswith("cd99/rsa")
        assert any(button["action"] == "agent" for button in answer["data"]["buttons"])

        # A retry of the same message (network hiccup) adds nothing.
        socket.send(json.dumps({"type": "message", "client_id": "c1", "text": "Mon RSA n'a pas été versé ce mois-ci"}))
        socket.send(json.dumps({"type": "typing"}))
        assert receive(socket)["type"] == "typing"  # nothing was pushed for the duplicate
        token = hello["token"]

    assert ChatEntry.objects.filter(client_id="c1").count() == 1
    with citizen(url, widget) as again:  # the page was reloaded: same conversation, what was missed
        again.send(json.dumps({"type": "hello", "token": token, "last_seq": 1}))
        assert receive(again)["token"]
        assert [receive(again)["seq"] for _ in range(2)] == [2, 3]
    assert Conversation.objects.count() == 1


def test_a_site_that_is_not_allowed_cannot_open_the_chat(server):
    url, organisation, widget = server
    with pytest.raises(InvalidStatus), citizen(url, widget, origin="https://evil.example") as socket:
        socket.recv(timeout=5)
    assert Conversation.objects.count() == 0


def test_a_conversation_closed_without_agent_counts_as_an_orientation(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        socket.send(json.dumps({"type": "hello"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "choose", "topic": "partenaires/carte-grise"}))
        receive(socket)
        answer = receive(socket)
        assert answer["data"]["service"]["elsewhere"] is True
        socket.send(json.dumps({"type": "close"}))
        assert receive_until(socket, lambda e: e.get("data", {}).get("status") == "closed")
    orientation = Orientation.objects.get()
    assert orientation.channel == "chat" and orientation.ticket is None and orientation.elsewhere
    assert not Ticket.objects.exists()


def test_hand_over_without_an_agent_leaves_a_message(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        socket.send(json.dumps({"type": "hello"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "message", "client_id": "a", "text": "Mon RSA n'a pas été versé"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "agent", "name": "Léa", "email": ""}))
        error = receive(socket)
        assert error["type"] == "error" and "adresse e-mail ou un numéro" in error["message"]
        socket.send(json.dumps({"type": "agent", "name": "Léa", "email": "lea@example.org"}))
        told = receive_until(socket, lambda e: e.get("author") == "system")
        ticket = Ticket.objects.get()
        assert ticket.reference in told["text"]
        assert told["data"]["status"] == "left_message"
    assert ticket.channel == "chat"
    assert "RSA" in ticket.messages.get().body_text  # the transcript
    assert Outbox.objects.filter(ticket=ticket, idempotency_key=f"ack:{ticket.pk}").exists()


def _always_open(organisation):
    from routing.models import BusinessHours

    BusinessHours.objects.update_or_create(
        organisation=organisation, defaults={"schedule": {str(d): [["00:00", "23:59"]] for d in range(7)}}
    )
    from routing.sla import business_hours_between

    now = timezone.now()
    if business_hours_between(now, now + timezone.timedelta(minutes=1), organisation) <= 0:
        pytest.skip("today is a public holiday: nobody works")


def test_hand_over_to_an_available_agent_and_talk(server, tmp_path):
    url, organisation, widget = server
    _always_open(organisation)
    from kb.models import Service

    services = Service.objects.filter(organisation=organisation)
    agent = get_user_model().objects.create_user("agent-chat", password="x")
    profile = AgentProfile.objects.create(user=agent, organisation=organisation, is_available=True)
    profile.services.set(services)
    other = get_user_model().objects.create_user("agent-two", password="x")
    AgentProfile.objects.create(user=other, organisation=organisation, is_available=True).services.set(services)

    client = Client()
    client.force_login(agent)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    client2 = Client()
    client2.force_login(other)
    cookie2 = f"{settings.SESSION_COOKIE_NAME}={client2.cookies[settings.SESSION_COOKIE_NAME].value}"

    with celery_worker(tmp_path / "celery.log"), citizen(url, widget) as socket:
        socket.send(json.dumps({"type": "hello"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "message", "client_id": "a", "text": "Mon RSA n'a pas été versé"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "agent", "name": "Léa", "email": "lea@example.org"}))
        told = receive_until(socket, lambda e: e.get("author") == "system")
        assert told["data"]["status"] == "waiting"
        conversation = Conversation.objects.get()

        ws = url.replace("http://", "ws://") + f"/ws/chat/agent/{conversation.pk}/"
        with (
            connect(ws, origin=url, additional_headers={"Cookie": cookie}, open_timeout=10) as agent_socket,
            connect(ws, origin=url, additional_headers={"Cookie": cookie2}, open_timeout=10) as second,
        ):
            agent_socket.send(json.dumps({"type": "accept"}))
            taken = receive_until(socket, lambda e: e.get("data", {}).get("status") == "active")
            assert "agent-chat" in taken["text"]
            second.send(json.dumps({"type": "accept"}))
            assert "déjà pris" in receive_until(second, lambda e: e["type"] == "error")["message"]

            agent_socket.send(json.dumps({"type": "message", "text": "Bonjour, je regarde votre dossier."}))
            said = receive_until(socket, lambda e: e.get("author") == "agent", timeout=20)
            assert said["text"] == "Bonjour, je regarde votre dossier."

            socket.send(json.dumps({"type": "message", "client_id": "b", "text": "Merci !"}))
            heard = receive_until(agent_socket, lambda e: e.get("client_id") == "b")
            assert heard["author"] == "citizen"

    ticket = Ticket.objects.get()
    assert ticket.assignee == agent
    texts = list(ticket.messages.order_by("created_at").values_list("direction", "channel", "body_text"))
    assert texts[1:] == [("out", "chat", "Bonjour, je regarde votre dossier."), ("in", "chat", "Merci !")]
    assert Outbox.objects.get(channel="chat").status == "sent"


def test_an_agent_who_may_not_see_the_ticket_cannot_join(server):
    url, organisation, widget = server
    conversation = Conversation.objects.create(organisation=organisation, widget=widget)
    stranger = get_user_model().objects.create_user("stranger", password="x")
    client = Client()
    client.force_login(stranger)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    ws = url.replace("http://", "ws://") + f"/ws/chat/agent/{conversation.pk}/"
    with (
        pytest.raises(InvalidStatus),
        connect(ws, origin=url, additional_headers={"Cookie": cookie}, open_timeout=10) as socket,
    ):
        socket.recv(timeout=5)
