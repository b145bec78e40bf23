"""The end of a conversation: the transcript by email, the rating."""

import pytest

from channels_app.chat import services
from channels_app.models import Conversation
from contacts.models import Outbox, TicketEvent
from kb.models import Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(db):
    organisation = Organisation.objects.create(slug="cd99", name="Département", kind="departement")
    from kb.models import Service

    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True)
    conversation = services.start(organisation)
    services.citizen_says(conversation, "c1", "Bonjour, une question sur le RSA")
    return conversation


def test_transcript_by_email_holds_the_whole_conversation(conversation):
    row = services.send_transcript(conversation, "Lea@Example.org")
    assert row.channel == "email" and row.recipient == "lea@example.org"
    assert "Bonjour, une question sur le RSA" in row.payload["text"]
    assert "Décrivez votre question" in row.payload["text"]
    with pytest.raises(services.ChatError, match="adresse e-mail valide"):
        services.send_transcript(conversation, "lea@")
    with pytest.raises(services.ChatError, match="déjà été envoyée"):
        services.send_transcript(conversation, "autre@example.org")  # once per conversation: not a mailer
    assert Outbox.objects.count() == 1


def test_rating_once_and_on_the_ticket_when_resolved(conversation):
    from contacts.models import Ticket

    services.hand_over(conversation, "Léa", "lea@example.org")
    conversation.refresh_from_db()
    Ticket.objects.filter(pk=conversation.ticket_id).update(status="resolved")
    conversation.refresh_from_db()
    with pytest.raises(services.ChatError, match="de 1 à 5"):
        services.rate(conversation, 9)
    services.rate(conversation, 4, "Rapide")
    with pytest.raises(services.ChatError, match="déjà donné votre avis"):
        services.rate(conversation, 5)
    assert Conversation.objects.get().rating == 4
    event = conversation.ticket.events.get(kind=TicketEvent.Kind.RATED)
    assert event.data == {"score": 4, "comment": "Rapide", "via": "chat"}


def test_rating_an_open_request_stays_on_the_conversation(conversation):
    services.hand_over(conversation, "Léa", "lea@example.org")
    conversation.refresh_from_db()
    services.rate(conversation, 5)
    assert Conversation.objects.get().rating == 5
    assert not conversation.ticket.events.filter(kind=TicketEvent.Kind.RATED).exists()
