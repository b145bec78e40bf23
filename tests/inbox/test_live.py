"""Live updates over a real websocket, against uvicorn on the Redis channel
layer: new tickets and messages reach the agents who may see them, and two
agents on one ticket see each other (collision warning)."""

import json

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from contacts.services import ingest
from tests.inbox.asgi_server import asgi_server, elsewhere
from tests.inbox.world import build_world, inbound

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path, transactional_db, fast_passwords):
    if not settings.REDIS_URL:
        pytest.skip("live updates across processes need REDIS_URL")
    world = build_world()
    with asgi_server(tmp_path / "uvicorn.log") as url:
        yield url, world


def socket_for(url, user):
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return connect(
        url.replace("http://", "ws://") + "/ws/agents/",
        origin=url,
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    )


def receive(socket, timeout=10):
    return json.loads(socket.recv(timeout=timeout))


def test_new_tickets_reach_the_agents_who_may_see_them(server):
    url, world = server
    with (
        socket_for(url, world.users["alice"]) as alice,
        socket_for(url, world.users["chloe"]) as chloe,
        socket_for(url, world.users["olga"]) as olga,
    ):
        # A sensitive request: only the competent service hears of it.
        secret = elsewhere(
            lambda: ingest(inbound(50, subject="Enfant en danger", text="Un enfant est en danger, il est frappé."))
        )
        assert secret.ticket.topic.sensitive
        heard = receive(chloe)
        assert heard["reference"] == secret.ticket.reference and heard["kind"] == "created"

        plain = elsewhere(lambda: ingest(inbound(51, subject="RSA", text="Mon RSA n'a pas été versé ce mois-ci.")))
        heard = receive(alice)  # the first thing alice hears is the plain one, not the secret
        assert heard == {
            "type": "ticket",
            "reference": plain.ticket.reference,
            "subject": "RSA",
            "status": "new",
            "kind": "created",
            "by_me": False,
        }
        # A message on an existing ticket.
        elsewhere(
            lambda: ingest(
                inbound(
                    53,
                    subject=f"Re: [{plain.ticket.reference}]",
                    text="Je précise ma demande.",
                    sender_email="usager51@citoyen.example",
                )
            )
        )
        heard = receive(alice)
        assert (heard["reference"], heard["kind"]) == (plain.ticket.reference, "message_received")
        assert receive(chloe)["reference"] == plain.ticket.reference
        # Another organisation hears nothing of it.
        other = elsewhere(
            lambda: ingest(inbound(52, organisation="autre", subject="Voirie", text="Un trou dans la rue."))
        )
        assert receive(olga)["reference"] == other.ticket.reference


def test_two_agents_on_one_ticket_see_each_other(server):
    url, world = server
    reference = world.tickets["rsa"].reference
    with socket_for(url, world.users["alice"]) as alice, socket_for(url, world.users["bruno"]) as bruno:
        alice.send(json.dumps({"watch": reference}))
        bruno.send(json.dumps({"watch": reference}))
        assert receive(alice) == {
            "type": "presence",
            "state": "viewing",
            "user": world.users["bruno"].pk,
            "name": "Bruno Petit",
        }
        assert receive(bruno) == {
            "type": "presence",
            "state": "viewing",
            "user": world.users["alice"].pk,
            "name": "Alice Martin",
        }
        bruno.send(json.dumps({"typing": True}))
        assert receive(alice)["state"] == "typing"
        bruno.close()
        assert receive(alice) == {
            "type": "presence",
            "state": "left",
            "user": world.users["bruno"].pk,
            "name": "Bruno Petit",
        }


def test_a_hidden_ticket_cannot_be_watched(server):
    url, world = server
    with socket_for(url, world.users["alice"]) as alice:
        alice.send(json.dumps({"watch": world.tickets["secret"].reference}))
        assert receive(alice) == {"type": "error", "error": "not found"}
        alice.send(json.dumps({"watch": world.tickets["elsewhere"].reference}))
        assert receive(alice) == {"type": "error", "error": "not found"}


def test_anonymous_and_non_agent_connections_are_refused(server):
    url, world = server
    with pytest.raises(InvalidStatus):
        connect(url.replace("http://", "ws://") + "/ws/agents/", origin=url, open_timeout=10)
    with pytest.raises(InvalidStatus):
        socket_for(url, world.users["nobody"])
    with pytest.raises(InvalidStatus):  # another site's page cannot use an agent's session
        client = Client()
        client.force_login(world.users["alice"])
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        connect(
            url.replace("http://", "ws://") + "/ws/agents/",
            origin="https://evil.example",
            additional_headers={"Cookie": cookie},
            open_timeout=10,
        )


def test_agents_named_in_a_note_are_told(server):
    from contacts.inbox.actions import add_note

    url, world = server
    rsa, secret = world.ticket("rsa"), world.ticket("secret")
    with socket_for(url, world.users["bruno"]) as bruno, socket_for(url, world.users["alice"]) as alice:
        # Chloé names Alice on a sensitive ticket Alice may not read: Alice is not told.
        elsewhere(lambda: add_note(secret, world.users["chloe"], world.organisation, "@alice regarde"))
        elsewhere(lambda: add_note(rsa, world.users["alice"], world.organisation, "@bruno peux-tu rappeler ?"))
        assert receive(bruno)["kind"] == "note_added"  # the note changed the ticket; then the mention
        assert receive(bruno) == {
            "type": "mention",
            "reference": rsa.reference,
            "subject": rsa.subject,
            "by": "Alice Martin",
        }
        heard = receive(alice)  # the note changed a ticket she sees; no mention of the secret one
        assert heard["type"] == "ticket" and heard["reference"] == rsa.reference and heard["by_me"] is True


def test_a_burst_of_changes_travels_as_one_message_and_each_agent_hears_their_own(server):
    from contacts.services import background

    url, world = server
    with socket_for(url, world.users["alice"]) as alice, socket_for(url, world.users["chloe"]) as chloe:

        def burst():
            return [
                ingest(inbound(60, subject="RSA", text="Mon RSA n'a pas été versé ce mois-ci.")),
                ingest(inbound(61, subject="Enfant en danger", text="Un enfant est en danger, il est frappé.")),
                ingest(inbound(62, subject="RSA", text="Mon allocation RSA est suspendue.")),
            ]

        with background.held():  # the three are gathered, whatever the machine's speed
            first, secret, last = elsewhere(burst)
        assert background.flush(10)
        heard = [receive(alice), receive(alice)]
        assert [h["reference"] for h in heard] == [first.ticket.reference, last.ticket.reference]
        assert all(h["kind"] == "created" for h in heard)
        with pytest.raises(TimeoutError):  # nothing more: the sensitive one is not for her
            alice.recv(timeout=1)
        # The competent service hears of it.
        assert secret.ticket.reference in [receive(chloe)["reference"] for _ in range(2)]
