"""Who reaches what through the agents' API: token and session (with CSRF)
authentication, agents only, and every endpoint answers 404 for what the
agent may not see, whatever reference or id is guessed."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import AgentProfile, Outbox, Ticket
from tests.inbox.world import make_agent

ACTIONS = {
    "reply": {"text": "Bonjour", "channel": "email"},
    "note": {"text": "note"},
    "claim": {},
    "assign": {"assignee": 1, "reason": "x"},
    "transfer": {"service": "accueil", "reason": "x"},
    "status": {"status": "closed"},
}
COLLECTIONS = ["/api/v1/tickets/", "/api/v1/contacts/", "/api/v1/kb/topics/", "/api/v1/kb/services/"]


def every_url(reference, contact, topic="rsa"):
    gets = [
        *COLLECTIONS,
        f"/api/v1/tickets/{reference}/",
        f"/api/v1/contacts/{contact}/",
        f"/api/v1/kb/topics/{topic}/",
    ]
    posts = [f"/api/v1/tickets/{reference}/{action}/" for action in ACTIONS]
    return gets, posts


@pytest.mark.django_db
def test_anonymous_or_bad_token_answers_401(world):
    rsa = world.ticket("rsa")
    gets, posts = every_url(rsa.reference, rsa.contact_id)
    for client in [APIClient(), APIClient(HTTP_AUTHORIZATION="Token 0123456789abcdef")]:
        for path in gets:
            response = client.get(path)
            assert response.status_code == 401, path
            assert response["WWW-Authenticate"] == "Token"
        for path in posts:
            assert client.post(path, {}, format="json").status_code == 401, path


@pytest.mark.django_db
def test_an_expired_token_is_refused_and_says_so(world, api, settings):
    settings.API_TOKEN_MAX_AGE_DAYS = 30
    client = api(world.users["alice"])
    assert client.get("/api/v1/tickets/").status_code == 200
    token = Token.objects.get(user=world.users["alice"])
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=31))
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Ce jeton a expiré ; demandez-en un nouveau à un administrateur."}
    rsa = world.ticket("rsa")
    assert (
        client.post(f"/api/v1/tickets/{rsa.reference}/status/", {"status": "closed"}, format="json").status_code == 401
    )
    assert world.ticket("rsa").status == Ticket.Status.NEW


@pytest.mark.django_db
def test_a_user_without_agent_profile_is_refused_in_french(world, api):
    rsa = world.ticket("rsa")
    gets, posts = every_url(rsa.reference, rsa.contact_id)
    client = api(world.users["nobody"])
    for path in gets:
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json() == {"detail": "Ce compte n’est pas celui d’un agent : l’API des agents lui est fermée."}
    for path in posts:
        assert client.post(path, ACTIONS["status"], format="json").status_code == 403


@pytest.mark.django_db
def test_session_authentication_needs_the_csrf_token_to_write(world):
    rsa = world.ticket("rsa")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.users["alice"])
    assert client.get("/api/v1/tickets/").status_code == 200
    refused = client.post(f"/api/v1/tickets/{rsa.reference}/status/", {"status": "closed"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert world.ticket("rsa").status == Ticket.Status.NEW

    client.get("/agents/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        f"/api/v1/tickets/{rsa.reference}/status/", {"status": "closed"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200
    assert world.ticket("rsa").status == Ticket.Status.CLOSED


@pytest.mark.django_db
def test_token_auth_needs_no_csrf(world, api):
    client = api(world.users["alice"])
    client.enforce_csrf_checks = True
    response = client.post(f"/api/v1/tickets/{world.tickets['rsa'].reference}/note/", {"text": "ok"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@override_settings(OTP_REQUIRED=True)
def test_a_managers_session_without_second_factor_is_refused_a_token_is_not(world, api):
    maud = make_agent("maud", world.organisation, [], role=AgentProfile.Role.MANAGER)
    session = APIClient()
    session.force_login(maud)
    refused = session.get("/api/v1/tickets/")
    assert refused.status_code == 403
    assert "second facteur" in refused.json()["detail"]
    assert api(maud).get("/api/v1/tickets/").status_code == 200


# who, ticket, may see it
MATRIX = [
    ("alice", "rsa", True),
    ("alice", "apa", True),  # another service of her organisation, not sensitive
    ("alice", "secret", False),  # sensitive, not her service
    ("alice", "elsewhere", False),  # another organisation
    ("bruno", "rsa2", True),  # the triage service's, not sensitive
    ("chloe", "secret", True),  # the competent service
    ("sam", "secret", False),  # a supervisor of another service
    ("olga", "rsa", False),
    ("olga", "secret", False),
    ("olga", "elsewhere", True),
]


@pytest.mark.django_db
def test_permission_matrix_over_every_ticket_endpoint(world, api):
    for who, which, allowed in MATRIX:
        client = api(world.users[who])
        ticket = world.ticket(which)
        gets, posts = every_url(ticket.reference, ticket.contact_id)
        listed = [row["reference"] for row in client.get("/api/v1/tickets/").json()["results"]]
        searched = client.get("/api/v1/tickets/", {"q": ticket.reference}).json()["results"]
        contacts = [row["id"] for row in client.get("/api/v1/contacts/").json()["results"]]
        if allowed:
            assert client.get(gets[4]).status_code == 200, (who, which)
            assert client.get(gets[5]).status_code == 200, (who, which)
            assert ticket.reference in listed and searched and ticket.contact_id in contacts
            continue
        assert ticket.reference not in listed and not searched, (who, which)
        assert ticket.contact_id not in contacts, (who, which)
        for path in gets[4:6]:
            response = client.get(path)
            assert response.status_code == 404, (who, path)
        for path in posts:
            response = client.post(path, ACTIONS[path.rstrip("/").rsplit("/", 1)[-1]], format="json")
            assert response.status_code == 404, (who, path)
        after = world.ticket(which)
        assert (after.status, after.assignee_id, after.service_id, after.messages.count()) == (
            ticket.status,
            ticket.assignee_id,
            ticket.service_id,
            ticket.messages.count(),
        )
        assert not Outbox.objects.filter(ticket=ticket, message__isnull=False).exists()


@pytest.mark.django_db
def test_a_missing_ticket_and_a_hidden_one_answer_alike(world, api):
    client = api(world.users["alice"])
    hidden = client.get(f"/api/v1/tickets/{world.tickets['secret'].reference}/")
    missing = client.get("/api/v1/tickets/DEMO-2026-999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "Aucune demande de ce nom."}
    for guess in ["DEMO-2026-000004%00", "%00", "x" * 300, "DEMO-2026-00000%25", "..%2F..%2Fadmin"]:
        assert client.get(f"/api/v1/tickets/{guess}/").status_code == 404, guess
        assert client.post(f"/api/v1/tickets/{guess}/status/", {"status": "closed"}, format="json").status_code == 404
    for guess in [0, 999999, 2**40, 10**30]:
        assert client.get(f"/api/v1/contacts/{guess}/").status_code == 404, guess


@pytest.mark.django_db
def test_a_contact_is_seen_only_through_a_visible_ticket(world, api):
    rsa = world.ticket("rsa")
    data = api(world.users["alice"]).get(f"/api/v1/contacts/{rsa.contact_id}/").json()
    assert data["email"] == "usager1@citoyen.example"
    assert [row["reference"] for row in data["tickets"]] == [
        world.tickets["rsa2"].reference,
        world.tickets["rsa"].reference,
    ]
    assert api(world.users["olga"]).get(f"/api/v1/contacts/{rsa.contact_id}/").status_code == 404
    found = api(world.users["alice"]).get("/api/v1/contacts/", {"q": "Marie"}).json()["results"]
    assert [row["id"] for row in found] == [rsa.contact_id]


@pytest.mark.django_db
def test_the_knowledge_base_is_the_organisations_own(world, api):
    alice = api(world.users["alice"])
    topics = {row["slug"]: row for row in alice.get("/api/v1/kb/topics/").json()}
    assert topics["enfant-en-danger"]["sensitive"] is True  # that it exists is no secret
    detail = alice.get("/api/v1/kb/topics/enfant-en-danger/").json()
    assert "tickets" not in detail and detail["services"]
    article = alice.get("/api/v1/kb/topics/rsa-versement/").json()
    assert article["parent"] and "<script" not in article["article_html"]
    services = {row["slug"] for row in alice.get("/api/v1/kb/services/").json()}
    assert "insertion" in services and "mairie" not in services

    olga = api(world.users["olga"])
    assert olga.get("/api/v1/kb/topics/rsa-versement/").status_code == 404
    assert "rsa-versement" not in {row["slug"] for row in olga.get("/api/v1/kb/topics/").json()}
    assert {row["slug"] for row in olga.get("/api/v1/kb/services/").json()} == {"mairie"}


@pytest.mark.django_db
def test_tokens_are_managed_in_the_french_admin(world, client):
    admin = world.users["nobody"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.get("/admin/authtoken/tokenproxy/")
    assert response.status_code == 200
    assert "Jeton" in response.content.decode()
    Token.objects.create(user=world.users["alice"])
    assert "alice" in client.get("/admin/authtoken/tokenproxy/").content.decode()
