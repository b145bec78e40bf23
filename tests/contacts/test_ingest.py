import hashlib
import threading

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from contacts.inbound import InboundAttachment
from contacts.models import Attachment, Contact, Message, Outbox, Ticket, TicketEvent
from contacts.services import IngestError, change_status, ingest, reply


@pytest.mark.django_db
def test_new_message_creates_contact_ticket_message_events_and_acknowledgement(make_inbound, organisation):
    result = ingest(make_inbound(sender_phone="06 39 98 12 34", postcode="99100"))

    assert result.outcome == "created"
    ticket = result.ticket
    assert ticket.reference == f"CD99-{ticket.created_at.year}-000001"
    assert ticket.channel == "email"
    assert ticket.status == Ticket.Status.NEW
    assert ticket.service.slug == "accueil"
    contact = ticket.contact
    assert contact.email == "marie.durand@citoyen.example"
    assert contact.phone == "+33639981234"
    assert contact.postcode == "99100"
    assert list(ticket.messages.values_list("direction", "body_text")) == [
        ("in", "Bonjour, je n'ai pas reçu mon RSA ce mois-ci.")
    ]
    assert list(ticket.events.values_list("kind", flat=True)) == ["created", "routed"]
    ack = Outbox.objects.get(ticket=ticket)
    assert ack.recipient == "marie.durand@citoyen.example"
    assert ticket.reference in ack.payload["subject"]
    assert ack.payload["in_reply_to"] == result.message.external_id


@pytest.mark.django_db
def test_same_message_twice_is_stored_once(make_inbound):
    inbound = make_inbound(external_id="<same@citoyen.example>")
    first = ingest(inbound)
    second = ingest(inbound)

    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert second.message == first.message
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Outbox.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_message_by_two_workers_at_once_is_stored_once(make_inbound):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    inbound = make_inbound(external_id="<race@citoyen.example>")
    barrier = threading.Barrier(4)
    outcomes = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(ingest(inbound).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_contact_is_matched_by_email_then_by_phone(make_inbound):
    first = ingest(make_inbound(sender_email="a@citoyen.example", sender_phone="+33639980001"))
    by_email = ingest(make_inbound(sender_email="A@CITOYEN.EXAMPLE", sender_phone=""))
    by_phone = ingest(make_inbound(channel="sms", sender_email="", sender_phone="06 39 98 00 01"))

    assert by_email.ticket.contact == first.ticket.contact
    assert by_phone.ticket.contact == first.ticket.contact
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_reply_to_our_outbound_email_threads_onto_the_ticket(make_inbound, admin_user):
    created = ingest(make_inbound())
    answer = reply(created.ticket, admin_user, "Bonjour, pouvez-vous préciser ?")

    followup = ingest(make_inbound(subject="Re: Mon RSA", in_reply_to=[answer.external_id], text="Voici."))

    assert followup.outcome == "threaded"
    assert followup.ticket == created.ticket
    assert followup.ticket.events.filter(kind="message_received").count() == 1


@pytest.mark.django_db
def test_reference_in_subject_threads_only_the_contacts_own_ticket(make_inbound):
    created = ingest(make_inbound())
    reference = created.ticket.reference

    same_contact = ingest(make_inbound(subject=f"Re: [{reference}] complément"))
    other_contact = ingest(make_inbound(subject=f"[{reference}] je lis vos dossiers", sender_email="x@evil.example"))

    assert same_contact.outcome == "threaded" and same_contact.ticket == created.ticket
    assert other_contact.outcome == "created" and other_contact.ticket != created.ticket


@pytest.mark.django_db
def test_citizen_reply_reopens_a_resolved_ticket(make_inbound):
    created = ingest(make_inbound())
    change_status(created.ticket, Ticket.Status.RESOLVED)

    again = ingest(make_inbound(subject=f"Re: [{created.ticket.reference}]", text="Ce n'est pas réglé."))

    ticket = Ticket.objects.get(pk=created.ticket.pk)
    assert again.ticket == ticket
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.resolved_at is None
    assert ticket.events.filter(kind="reopened", data__previous="resolved").exists()


@pytest.mark.django_db
def test_reply_to_a_closed_ticket_opens_a_new_one_that_follows_it(make_inbound):
    created = ingest(make_inbound())
    change_status(created.ticket, Ticket.Status.CLOSED)

    again = ingest(make_inbound(subject=f"Re: [{created.ticket.reference}]"))

    assert again.outcome == "created"
    assert again.ticket.events.get(kind="created").data["follows"] == created.ticket.reference


@pytest.mark.django_db
def test_sms_threads_onto_the_contacts_open_ticket(make_inbound):
    first = ingest(make_inbound(channel="sms", external_id="sms-1", sender_email="", sender_phone="+33639980002"))
    second = ingest(
        make_inbound(
            channel="sms", external_id="sms-2", sender_email="", sender_phone="+33639980002", thread_on_open_ticket=True
        )
    )
    assert second.outcome == "threaded"
    assert second.ticket == first.ticket


@pytest.mark.django_db
def test_auto_reply_never_opens_a_ticket_but_is_kept_on_its_ticket(make_inbound, admin_user):
    ignored = ingest(make_inbound(auto_submitted=True, subject="Absence du bureau"))
    assert ignored.outcome == "ignored"
    assert Ticket.objects.count() == 0
    assert Contact.objects.count() == 0

    created = ingest(make_inbound())
    answer = reply(created.ticket, admin_user, "Bonjour")
    outbox_before = Outbox.objects.count()
    kept = ingest(make_inbound(auto_submitted=True, in_reply_to=[answer.external_id], subject="Réponse automatique"))

    assert kept.outcome == "threaded"
    assert kept.ticket == created.ticket
    assert Outbox.objects.count() == outbox_before


@pytest.mark.django_db
def test_attachments_are_stored_with_their_hash(make_inbound):
    result = ingest(make_inbound(attachments=[InboundAttachment("avis.pdf", "application/pdf", b"%PDF-1.4 demo")]))

    attachment = Attachment.objects.get(message=result.message)
    assert attachment.filename == "avis.pdf"
    assert attachment.size == len(b"%PDF-1.4 demo")
    assert attachment.sha256 == hashlib.sha256(b"%PDF-1.4 demo").hexdigest()
    with attachment.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 demo"


@pytest.mark.django_db
def test_attachment_that_cannot_be_stored_rolls_everything_back(make_inbound, monkeypatch):
    saved = []
    original_save = default_storage.save

    def failing_save(name, content, max_length=None):
        if len(saved) == 1:
            raise OSError("disk full")
        saved.append(original_save(name, content, max_length=max_length))
        return saved[-1]

    monkeypatch.setattr(default_storage, "save", failing_save)
    inbound = make_inbound(
        attachments=[
            InboundAttachment("a.pdf", "application/pdf", b"first"),
            InboundAttachment("b.pdf", "application/pdf", b"second"),
        ]
    )

    with pytest.raises(IngestError, match=r"attachment 'b.pdf' could not be stored: disk full"):
        ingest(inbound)

    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert Outbox.objects.count() == 0
    assert not default_storage.exists(saved[0])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"channel": "fax"}, "unknown channel 'fax'"),
        ({"organisation": "nowhere"}, "unknown organisation 'nowhere'"),
        ({"sender_phone": "12"}, "sender: invalid phone number '12'"),
    ],
)
def test_bad_inbound_is_refused_with_a_clear_error(make_inbound, overrides, error):
    with pytest.raises(IngestError, match=error):
        ingest(make_inbound(**overrides))
    assert Ticket.objects.count() == 0
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_acknowledgements_to_one_address_are_rate_limited(make_inbound, settings):
    settings.ACK_MAX_PER_HOUR = 2
    tickets = [ingest(make_inbound(subject=f"Demande {n}")).ticket for n in range(4)]

    assert Outbox.objects.filter(idempotency_key__startswith="ack:").count() == 2
    skipped = [t for t in tickets if t.events.filter(kind="ack_skipped").exists()]
    assert len(skipped) == 2
    assert Ticket.objects.count() == 4
