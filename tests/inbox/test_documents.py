"""Asking the citizen for documents from the ticket page: told now, reminded
before the date, the request waits for them."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from channels_app.models import DocumentRequest, Reminder
from contacts.inbound import InboundMessage
from contacts.models import AgentProfile, Outbox, Ticket
from contacts.services import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(organisation, client):
    ticket = ingest(
        InboundMessage(
            channel="email",
            external_id="<doc@x>",
            organisation=organisation,
            sender_email="lea@example.org",
            subject="Aide",
            text="Bonjour",
        )
    ).ticket
    agent = get_user_model().objects.create_user("agent", password="x")
    AgentProfile.objects.create(user=agent, organisation=organisation).services.set(organisation.services.all())
    client.force_login(agent)
    return ticket


def test_ask_for_documents(client, setup):
    ticket = setup
    due = (timezone.now() + datetime.timedelta(days=10)).date()
    response = client.post(
        f"/agents/demandes/{ticket.reference}/pieces/",
        {"text": "Votre dernier avis d'imposition", "due_date": due.isoformat()},
    )
    assert response.status_code == 302
    request = DocumentRequest.objects.get(ticket=ticket)
    assert request.text == "Votre dernier avis d'imposition" and request.due_date == due
    assert Outbox.objects.get(idempotency_key=f"documents:{request.pk}").channel == "email"
    assert Reminder.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING


def test_a_past_date_or_no_text_is_refused(client, setup):
    ticket = setup
    past = (timezone.now() - datetime.timedelta(days=2)).date().isoformat()
    response = client.post(f"/agents/demandes/{ticket.reference}/pieces/", {"text": "Avis", "due_date": past})
    assert response.status_code == 400 and "déjà passée" in response.content.decode()
    response = client.post(f"/agents/demandes/{ticket.reference}/pieces/", {"text": "", "due_date": past})
    assert response.status_code == 400 and "Indiquez les pièces" in response.content.decode()
    assert not DocumentRequest.objects.exists()


def test_a_double_click_sends_the_answer_once(client, setup):
    import re

    ticket = setup
    page = client.get(f"/agents/demandes/{ticket.reference}/").content.decode()
    once = re.search(r'name="once" value="([0-9a-f]+)"', page).group(1)
    data = {"once": once, "channel": "email", "text": "Bonjour, voici la réponse."}
    first = client.post(f"/agents/demandes/{ticket.reference}/repondre/", data)
    second = client.post(f"/agents/demandes/{ticket.reference}/repondre/", data)
    assert first.status_code == second.status_code == 302
    assert ticket.messages.filter(direction="out", is_internal=False).count() == 1
    assert Outbox.objects.filter(ticket=ticket, idempotency_key__startswith="message:").count() == 1
