"""Bad input on the chat's websocket: refused with a clear close code, no
server error; two ASGI processes on the Redis layer talk to each other."""

import json

import pytest
from django.contrib.auth import get_user_model
from websockets.exceptions import ConnectionClosed

from channels_app.chat import services
from channels_app.models import ChatEntry, Conversation
from tests.chat.sockets import citizen, receive, receive_until
from tests.inbox.asgi_server import asgi_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _opened(socket):
    socket.send(json.dumps({"type": "hello"}))
    hello = receive(socket)
    receive(socket)  # the greeting
    return hello


def _closed_with(socket, code):
    # (uvicorn's websockets implementation sends the close frame only once its
    # close timeout has passed when the client is still sending: up to 10 s)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            socket.recv(timeout=20)
    assert closed.value.rcvd.code == code


def test_a_100_kb_message_is_refused(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        _opened(socket)
        socket.send(json.dumps({"type": "message", "client_id": "big", "text": "a" * 100_000}))
        assert receive(socket)["type"] == "error"
        _closed_with(socket, 4413)
    assert not ChatEntry.objects.filter(client_id="big").exists()


def test_a_message_longer_than_allowed_gets_an_error(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        _opened(socket)
        socket.send(json.dumps({"type": "message", "client_id": "long", "text": "a" * 5000}))
        error = receive(socket)
        assert error["type"] == "error" and "4000" in error["message"].replace("\u202f", "").replace(" ", "")


def test_malformed_json_closes_cleanly(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        _opened(socket)
        socket.send("{not json")
        assert receive(socket)["type"] == "error"
        _closed_with(socket, 4400)
    with citizen(url, widget) as socket:  # the server still answers
        assert _opened(socket)["type"] == "conversation"


def test_fifty_messages_a_second_are_throttled_and_none_is_lost_for_the_other_side(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        hello = _opened(socket)
        for _ in range(50):
            socket.send(json.dumps({"type": "typing"}))
        _closed_with(socket, 4429)
    conversation = services.conversation_from_token(hello["token"], organisation)
    assert conversation is not None
    with citizen(url, widget) as again:  # the client comes back and resends
        again.send(json.dumps({"type": "hello", "token": hello["token"], "last_seq": 1}))
        assert receive(again)["token"]
        again.send(json.dumps({"type": "message", "client_id": "m1", "text": "Bonjour"}))
        assert receive_until(again, lambda e: e.get("client_id") == "m1")["seq"] == 2


def test_a_forged_token_starts_a_new_conversation(server):
    url, organisation, widget = server
    with citizen(url, widget) as socket:
        socket.send(json.dumps({"type": "hello", "token": "forged:token", "last_seq": 0}))
        hello = receive(socket)
        assert hello["type"] == "conversation" and hello["token"] != "forged:token"
    assert Conversation.objects.count() == 1


def test_a_citizen_on_one_server_and_an_agent_on_another(server, tmp_path):
    url, organisation, widget = server
    from django.conf import settings
    from django.test import Client

    from contacts.models import AgentProfile
    from kb.models import Service

    with citizen(url, widget) as socket:
        _opened(socket)
        socket.send(json.dumps({"type": "message", "client_id": "a", "text": "Mon RSA n'a pas été versé"}))
        receive(socket), receive(socket)
        socket.send(json.dumps({"type": "agent", "name": "Léa", "email": "lea@example.org"}))
        receive_until(socket, lambda e: e.get("author") == "system")
        conversation = Conversation.objects.get()
        agent = get_user_model().objects.create_user("agent-b", password="x")
        profile = AgentProfile.objects.create(user=agent, organisation=organisation)
        profile.services.set(Service.objects.filter(organisation=organisation))
        client = Client()
        client.force_login(agent)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        from websockets.sync.client import connect

        with asgi_server(tmp_path / "second.log") as other:
            ws = other.replace("http://", "ws://") + f"/ws/chat/agent/{conversation.pk}/"
            with connect(ws, origin=other, additional_headers={"Cookie": cookie}, open_timeout=10) as agent_socket:
                agent_socket.send(json.dumps({"type": "accept"}))
                assert receive_until(socket, lambda e: e.get("data", {}).get("status") == "active")
                socket.send(json.dumps({"type": "message", "client_id": "b", "text": "Vous êtes là ?"}))
                heard = receive_until(agent_socket, lambda e: e.get("client_id") == "b")
                assert heard["text"] == "Vous êtes là ?"
                socket.send(json.dumps({"type": "typing"}))
                assert receive_until(agent_socket, lambda e: e["type"] == "typing")["by"] == "citizen"
