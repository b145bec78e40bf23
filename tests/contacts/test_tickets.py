import pytest

from contacts.models import Message, Outbox, Ticket
from contacts.services import TicketActionError, assign, ingest, note, reply, transfer
from kb.models import Service


@pytest.mark.django_db
def test_reply_answers_through_the_citizens_channel_and_records_first_response(make_inbound, admin_user):
    ticket = ingest(make_inbound()).ticket

    message = reply(ticket, admin_user, "Bonjour, c'est réglé.")

    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.status == Ticket.Status.OPEN
    row = Outbox.objects.get(message=message)
    assert (row.channel, row.recipient) == ("email", "marie.durand@citoyen.example")
    assert row.payload["message_id"] == message.external_id
    assert ticket.events.filter(kind="replied", actor=admin_user).exists()


@pytest.mark.django_db
def test_reply_to_an_sms_goes_by_sms_when_the_citizen_consented(make_inbound, admin_user):
    ticket = ingest(make_inbound(channel="sms", sender_email="", sender_phone="0639980004", sms_consent=True)).ticket
    message = reply(ticket, admin_user, "Bien reçu.")
    assert Outbox.objects.get(message=message).recipient == "+33639980004"
    assert message.channel == "sms"


@pytest.mark.django_db
def test_reply_with_no_channel_to_the_citizen_is_refused(make_inbound, admin_user):
    ticket = ingest(make_inbound(channel="chat", sender_email="", sender_name="Visiteur")).ticket
    with pytest.raises(TicketActionError, match="ni adresse courriel ni numéro"):
        reply(ticket, admin_user, "Bonjour")
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.django_db
def test_reply_on_a_channel_the_citizen_cannot_be_reached_by_is_refused(make_inbound, admin_user):
    ticket = ingest(make_inbound()).ticket
    with pytest.raises(TicketActionError, match="ne peut pas être joint par SMS"):
        reply(ticket, admin_user, "Bonjour", channel="sms")


@pytest.mark.django_db
def test_note_is_internal_and_sends_nothing(make_inbound, admin_user):
    ticket = ingest(make_inbound()).ticket
    outbox_before = Outbox.objects.count()
    message = note(ticket, admin_user, "Voir avec la CAF")
    assert message.is_internal
    assert Outbox.objects.count() == outbox_before


@pytest.mark.django_db
def test_transfer_needs_a_reason_and_records_it(make_inbound, admin_user, organisation):
    ticket = ingest(make_inbound()).ticket
    insertion = Service.objects.get(organisation=organisation, slug="insertion")

    with pytest.raises(TicketActionError, match="doit être motivé"):
        transfer(ticket, admin_user, insertion, "  ")
    ticket.refresh_from_db()
    assert ticket.service.slug == "accueil"

    transfer(ticket, admin_user, insertion, "Relève du RSA")
    ticket.refresh_from_db()
    assert ticket.service == insertion
    event = ticket.events.get(kind="transferred")
    assert event.data == {"from_service": "cd99/accueil", "to_service": "cd99/insertion", "reason": "Relève du RSA"}


@pytest.mark.django_db
def test_assign_records_the_assignee(make_inbound, admin_user, django_user_model):
    agent = django_user_model.objects.create_user("agent", password="x")
    ticket = ingest(make_inbound()).ticket
    assign(ticket, admin_user, agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.events.get(kind="assigned").data["assignee"] == agent.pk


@pytest.mark.django_db
def test_events_are_append_only(make_inbound):
    from django.core.exceptions import ValidationError

    event = ingest(make_inbound()).ticket.events.first()
    event.data = {"forged": True}
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


@pytest.mark.django_db
def test_reply_with_a_document_is_sent_as_an_email_attachment_in_text_and_html(
    make_inbound, admin_user, eager_celery, django_capture_on_commit_callbacks
):
    from django.core import mail

    from contacts.inbound import InboundAttachment

    ticket = ingest(make_inbound(mailbox_address="contact@cd99.example")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply(
            ticket,
            admin_user,
            "Voici le formulaire <à remplir>.",
            attachments=[InboundAttachment("formulaire.pdf", "application/pdf", b"%PDF-1.4 formulaire")],
        )

    sent = mail.outbox[-1]
    assert sent.reply_to == ["contact@cd99.example"]
    assert sent.attachments[0][0] == "formulaire.pdf"
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html"
    assert "&lt;à remplir&gt;" in html


@pytest.mark.django_db
def test_documents_cannot_be_sent_by_sms(make_inbound, admin_user):
    from contacts.inbound import InboundAttachment

    ticket = ingest(make_inbound(channel="sms", sender_email="", sender_phone="0639980005", sms_consent=True)).ticket
    with pytest.raises(TicketActionError, match="que par courriel"):
        reply(ticket, admin_user, "Voici", attachments=[InboundAttachment("a.pdf", "application/pdf", b"x")])
    assert not Message.objects.filter(direction="out").exists()
