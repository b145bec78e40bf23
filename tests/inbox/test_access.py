"""Login (French page, django-axes throttling) and who reaches what: every
inbox URL answers 404 for a ticket the agent may not see."""

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Attachment
from tests.inbox.world import PASSWORD


@pytest.mark.django_db
def test_login_page_is_french_and_leads_to_the_inbox(world):
    client = Client()
    page = client.get("/agents/connexion/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "Connexion des agents" in html
    assert "Content-Security-Policy" in page.headers

    response = client.post("/agents/connexion/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/agents/"
    assert client.get("/agents/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_says_so_in_french(world):
    response = Client().post("/agents/connexion/", {"username": "alice", "password": "faux"})
    assert response.status_code == 200
    assert "Votre nom d’utilisateur et votre mot de passe ne correspondent pas" in response.content.decode()


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_from_that_address(world, settings):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/agents/connexion/", {"username": "alice", "password": "faux"})
    locked = client.post("/agents/connexion/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out for the same account.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/agents/connexion/", {"username": "alice", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(world):
    reference = world.tickets["rsa"].reference
    for url in ["/agents/", f"/agents/demandes/{reference}/"]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/agents/connexion/?next=")


@pytest.mark.django_db
def test_a_user_without_agent_profile_is_told_so(world, login):
    response = login(world.users["nobody"]).get("/agents/")
    assert response.status_code == 403
    assert "pas un compte d’agent" in response.content.decode()


@pytest.mark.django_db
def test_logout(world, login):
    client = login(world.users["alice"])
    assert client.post("/agents/deconnexion/").status_code == 302
    assert client.get("/agents/").status_code == 302


def ticket_urls(reference):
    gets = [f"/agents/demandes/{reference}/", f"/agents/demandes/{reference}/modele/?template=1"]
    posts = [
        f"/agents/demandes/{reference}/{action}/"
        for action in ["repondre", "note", "prendre", "attribuer", "transferer", "statut", "priorite", "sujet"]
    ]
    return gets, posts


# who, ticket, may see it
MATRIX = [
    ("alice", "rsa", True),
    ("alice", "apa", True),  # another service of her organisation, not sensitive
    ("alice", "secret", False),  # sensitive, not her service
    ("alice", "elsewhere", False),  # another organisation
    ("chloe", "secret", True),  # the competent service
    ("sam", "secret", False),  # a supervisor of another service
    ("olga", "rsa", False),
    ("olga", "elsewhere", True),
]


@pytest.mark.django_db
def test_permission_matrix_over_every_ticket_url(world, login):
    for who, which, allowed in MATRIX:
        client = login(world.users[who])
        ticket = world.ticket(which)
        gets, posts = ticket_urls(ticket.reference)
        if allowed:
            assert client.get(gets[0]).status_code == 200, (who, which)
            continue
        for url in gets:
            assert client.get(url).status_code == 404, (who, url)
        for url in posts:
            assert client.post(url, {"text": "x", "reason": "x", "status": "closed"}).status_code == 404, (who, url)
        after = world.ticket(which)
        assert (after.status, after.assignee_id, after.service_id) == (
            ticket.status,
            ticket.assignee_id,
            ticket.service_id,
        )
        assert not after.messages.filter(direction="out").exists()


@pytest.mark.django_db
def test_a_sensitive_ticket_is_in_no_list_and_no_search_of_other_services(world, login):
    client = login(world.users["alice"])
    link = f'href="/agents/demandes/{world.tickets["secret"].reference}/"'
    for view in ["all", "urgent", "unassigned", "at-risk"]:
        assert link not in client.get(f"/agents/?view={view}").content.decode()
    assert link not in client.get(f"/agents/?view=all&q={world.tickets['secret'].reference}").content.decode()
    assert link not in client.get("/agents/?view=all&q=maltraité").content.decode()
    assert link in login(world.users["chloe"]).get("/agents/?view=all&q=maltraité").content.decode()


@pytest.mark.django_db
def test_unknown_references_answer_404(world, login):
    client = login(world.users["alice"])
    assert client.get("/agents/demandes/DEMO-2026-999999/").status_code == 404
    assert client.get("/agents/demandes/%27%20OR%201=1/").status_code == 404


@pytest.mark.django_db
def test_attachments_only_for_who_may_see_the_ticket(world, login):
    document = Attachment.objects.get(message__ticket=world.tickets["rsa"])
    url = reverse("inbox:attachment", args=[document.pk])
    response = login(world.users["alice"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Releve de compte\n"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert login(world.users["olga"]).get(url).status_code == 404
    assert login(world.users["nobody"]).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    assert login(world.users["alice"]).get(reverse("inbox:attachment", args=[document.pk + 1000])).status_code == 404


@pytest.mark.django_db
def test_sensitive_attachment_hidden_from_other_services(world, login):
    from contacts.inbound import InboundAttachment
    from contacts.services import ingest
    from tests.inbox.world import inbound

    result = ingest(
        inbound(
            40,
            subject="Enfant en danger",
            text="Enfant en danger, il est frappé.",
            attachments=[InboundAttachment("photo.txt", "text/plain", b"secret\n")],
        )
    )
    assert result.ticket.topic.sensitive
    document = Attachment.objects.get(message__ticket=result.ticket)
    url = reverse("inbox:attachment", args=[document.pk])
    assert login(world.users["alice"]).get(url).status_code == 404
    assert login(world.users["chloe"]).get(url).status_code == 200


@pytest.mark.django_db
def test_an_agent_sets_their_availability(world, login):
    client = login(world.users["alice"])
    page = client.get("/agents/").content.decode()
    assert "Disponible" in page
    response = client.post("/agents/disponibilite/", {"available": "0", "next": "/agents/?view=all"})
    assert response.status_code == 302 and response["Location"] == "/agents/?view=all"
    world.users["alice"].agent.refresh_from_db()
    assert world.users["alice"].agent.is_available is False
    assert "aucune nouvelle demande ne vous sera attribuée" in client.get("/agents/").content.decode()
    response = client.post("/agents/disponibilite/", {"available": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/agents/"
    world.users["alice"].agent.refresh_from_db()
    assert world.users["alice"].agent.is_available is True
