"""django-anymail webhooks from two providers (Postmark, Brevo), posted as
each provider documents them."""

import base64
import json

import pytest

from contacts.models import Contact, Outbox, Ticket
from contacts.services import ingest
from mail.models import Mailbox, RawMessage

AUTH = "Basic " + base64.b64encode(b"hook:s3cret").decode()


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}


@pytest.fixture
def mailbox(organisation):
    return Mailbox.objects.create(organisation=organisation, address="contact@cd99.example")


def postmark_inbound(message_id="<pm-1@citoyen.example>"):
    return {
        "FromFull": {"Email": "Lucie.Morel@citoyen.example", "Name": "Lucie Morel"},
        "ToFull": [{"Email": "contact@cd99.example", "Name": ""}],
        "Subject": "Aide à domicile pour mon père",
        "MessageID": "8f3b2a43-postmark",
        "Date": "Tue, 24 Nov 2026 09:30:00 +0100",
        "TextBody": "Bonjour, mon père a besoin d'une aide à domicile. Merci.",
        "HtmlBody": "",
        "Headers": [{"Name": "Message-ID", "Value": message_id}],
        "Attachments": [],
    }


@pytest.mark.django_db
def test_postmark_inbound_lands_in_the_pipeline_once(client, mailbox):
    payload = json.dumps(postmark_inbound())
    for _ in range(2):  # providers retry: the second delivery is a duplicate
        response = client.post(
            "/webhooks/anymail/postmark/inbound/", payload, content_type="application/json", HTTP_AUTHORIZATION=AUTH
        )
        assert response.status_code == 200

    ticket = Ticket.objects.get()
    assert ticket.subject == "Aide à domicile pour mon père"
    assert ticket.contact.email == "lucie.morel@citoyen.example"
    assert ticket.messages.get().body_text.startswith("Bonjour, mon père")
    assert RawMessage.objects.get().source == "webhook"


@pytest.mark.django_db
def test_inbound_without_the_webhook_secret_is_refused_and_stores_nothing(client, mailbox):
    response = client.post(
        "/webhooks/anymail/postmark/inbound/",
        json.dumps(postmark_inbound()),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:wrong").decode(),
    )
    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    assert RawMessage.objects.count() == 0


@pytest.mark.django_db
def test_inbound_for_an_address_that_is_not_ours_is_dropped(client, organisation):
    response = client.post(
        "/webhooks/anymail/postmark/inbound/",
        json.dumps(postmark_inbound()),
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )
    assert response.status_code == 200
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_brevo_hard_bounce_updates_the_outbox_row_and_flags_the_address(client, make_email_ticket):
    row = Outbox.objects.get(ticket=make_email_ticket)
    row.provider_id = "<201911261612.33920384@smtp-relay.mailin.fr>"
    row.save()
    event = {
        "event": "hard_bounce",
        "email": "marie.durand@citoyen.example",
        "id": 1234,
        "date": "2026-11-24 10:00:00",
        "ts": 1795510800,
        "message-id": row.provider_id,
        "ts_event": 1795510800,
        "subject": "Votre demande",
        "reason": "550 5.1.1 unknown user",
    }

    response = client.post(
        "/webhooks/anymail/brevo/tracking/", json.dumps(event), content_type="application/json", HTTP_AUTHORIZATION=AUTH
    )

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "bounced"
    assert make_email_ticket.events.filter(kind="delivery_failed").exists()
    assert Contact.objects.get().email_bounced_at is not None


@pytest.mark.django_db
def test_postmark_delivery_updates_the_outbox_row(client, make_email_ticket):
    row = Outbox.objects.get(ticket=make_email_ticket)
    row.provider_id = "883953f4-6105-42a2-a16a-77a8eac79483"
    row.save()
    event = {
        "RecordType": "Delivery",
        "MessageID": row.provider_id,
        "Recipient": "marie.durand@citoyen.example",
        "DeliveredAt": "2026-11-24T10:00:00Z",
        "Details": "Test delivery webhook details",
        "Tag": "",
        "ServerID": 23,
        "Metadata": {},
        "MessageStream": "outbound",
    }
    response = client.post(
        "/webhooks/anymail/postmark/tracking/",
        json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "delivered"
    assert Contact.objects.get().email_bounced_at is None


@pytest.fixture
def make_email_ticket(organisation):
    from contacts.inbound import InboundMessage

    return ingest(
        InboundMessage(
            channel="email",
            external_id="<t@citoyen.example>",
            organisation="cd99",
            sender_email="marie.durand@citoyen.example",
            subject="Votre demande",
            text="Bonjour",
        )
    ).ticket
