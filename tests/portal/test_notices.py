"""What the citizen is told when agents act, with the follow-up link."""

from django.contrib.auth import get_user_model

from channels_app.links import followup_token
from contacts.inbound import InboundMessage
from contacts.models import Outbox, Ticket
from contacts.services import change_status, ingest, reply


def _ticket(kb, **sender):
    return ingest(
        InboundMessage(
            channel="form",
            external_id=f"form:{sorted(sender.items())}",
            organisation=kb,
            sender_name="Léa",
            subject="Mon RSA",
            text="Mon RSA n'a pas été versé.",
            **sender,
        )
    ).ticket


def _agent():
    return get_user_model().objects.create(username="agent1")


def test_answer_by_email_is_announced_by_sms_with_the_link(kb):
    ticket = _ticket(kb, sender_email="lea@example.org", sender_phone="0612345678", sms_consent=True)
    message = reply(ticket, _agent(), "Votre dossier est en cours.", channel="email")
    assert Outbox.objects.get(idempotency_key=f"message:{message.pk}").channel == "email"
    notice = Outbox.objects.get(idempotency_key=f"answer:{message.pk}")
    assert notice.channel == "sms"
    assert followup_token(ticket).split(":")[0] in notice.payload["text"]


def test_without_email_nor_sms_the_answer_waits_on_the_followup_page(client, kb):
    ticket = _ticket(kb, sender_phone="0123456789")
    message = reply(ticket, _agent(), "Nous vous rappelons demain.")
    assert message.channel == "form"
    assert not Outbox.objects.filter(message=message).exists()
    html = client.get(f"/suivi/{followup_token(ticket)}/").content.decode()
    assert "Nous vous rappelons demain." in html


def test_resolution_asks_for_an_opinion_with_the_link(client, kb):
    ticket = _ticket(kb, sender_email="lea@example.org")
    reply(ticket, _agent(), "C'est réglé.")
    change_status(ticket, Ticket.Status.RESOLVED)
    request = Outbox.objects.get(idempotency_key__startswith=f"resolved:{ticket.pk}:")
    assert request.channel == "email"
    assert f"/suivi/{followup_token(ticket).split(':')[0]}" in request.payload["text"]
    html = client.get(f"/suivi/{followup_token(ticket)}/").content.decode()
    assert "Donner mon avis" in html


def test_closing_without_resolving_asks_nothing(kb):
    ticket = _ticket(kb, sender_email="lea@example.org")
    change_status(ticket, Ticket.Status.CLOSED)
    assert not Outbox.objects.filter(idempotency_key__startswith="resolved:").exists()
