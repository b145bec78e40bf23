"""The chat from the agents' inbox: take the conversation, answer through
the composer on the chat channel."""

import pytest
from django.contrib.auth import get_user_model

from channels_app.chat import services
from channels_app.models import ChatEntry
from contacts.models import AgentProfile, Outbox
from kb.models import Organisation, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(eager_celery, django_capture_on_commit_callbacks):
    organisation = Organisation.objects.create(slug="cd99", name="Département", kind="departement")
    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True)
    conversation = services.start(organisation)
    services.citizen_says(conversation, "c1", "Bonjour")
    services.hand_over(conversation, "Léa", "lea@example.org")
    conversation.refresh_from_db()
    return conversation


def _agent(organisation, name):
    user = get_user_model().objects.create_user(name, password="x")
    profile = AgentProfile.objects.create(user=user, organisation=organisation)
    profile.services.set(organisation.services.all())
    return user


def test_take_the_conversation_and_answer_in_the_chat(client, waiting, django_capture_on_commit_callbacks):
    ticket = waiting.ticket
    agent = _agent(waiting.organisation, "agent1")
    client.force_login(agent)
    page = client.get(f"/agents/demandes/{ticket.reference}/").content.decode()
    assert "Répondre dans la discussion" in page
    response = client.post(f"/agents/discussion/{ticket.reference}/accepter/")
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.agent == agent
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/agents/demandes/{ticket.reference}/repondre/", {"channel": "chat", "text": "Je regarde."})
    row = Outbox.objects.get(channel="chat")
    assert row.status == "sent"
    assert ChatEntry.objects.filter(conversation=waiting, author="agent", text="Je regarde.").exists()


def test_a_second_agent_is_told_it_is_taken(client, waiting):
    first = _agent(waiting.organisation, "agent1")
    services.accept(waiting, first)
    second = _agent(waiting.organisation, "agent2")
    client.force_login(second)
    response = client.post(f"/agents/discussion/{waiting.ticket.reference}/accepter/", follow=True)
    assert "déjà pris cette conversation" in response.content.decode()


def test_an_agent_of_another_organisation_gets_404(client, waiting):
    other = Organisation.objects.create(slug="autre", name="Autre", kind="commune")
    stranger = _agent(other, "stranger")
    client.force_login(stranger)
    assert client.post(f"/agents/discussion/{waiting.ticket.reference}/accepter/").status_code == 404
