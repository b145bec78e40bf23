"""Personal data: retention, export, erasure (RGPD)."""

import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.inbound import InboundAttachment, InboundMessage
from contacts.models import AgentProfile, Attachment, Contact, Outbox, Ticket, TicketEvent
from contacts.services import change_status, ingest, note, reply
from contacts.services.privacy import erase_contact, export_contact, purge_expired

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"


def _ticket(organisation, n, email="lea@example.org", closed_months_ago=None, document=PDF):
    result = ingest(
        InboundMessage(
            channel="email",
            external_id=f"<p{n}@example.org>",
            organisation=organisation,
            sender_email=email,
            sender_name="Léa Martin",
            subject=f"Demande {n}",
            text="Je m'appelle Léa Martin, j'habite 3 rue des Lilas.",
            attachments=[InboundAttachment("avis.pdf", "application/pdf", document)],
        )
    )
    ticket = result.ticket
    if closed_months_ago is not None:
        change_status(ticket, Ticket.Status.CLOSED)
        Ticket.objects.filter(pk=ticket.pk).update(
            closed_at=timezone.now() - datetime.timedelta(days=31 * closed_months_ago)
        )
    return ticket


def test_retention_erases_personal_data_and_keeps_the_statistics(organisation, django_capture_on_commit_callbacks):
    organisation.retention_months = 12
    organisation.save()
    old = _ticket(organisation, 1, closed_months_ago=13, document=PDF + b"% only in the old one\n")
    recent = _ticket(organisation, 2, email="paul@example.org", closed_months_ago=1)
    shared = _ticket(organisation, 3, email="marc@example.org", closed_months_ago=13)  # same PDF as recent
    path = Attachment.objects.get(message__ticket=old).file.path
    shared_path = Attachment.objects.get(message__ticket=recent).file.path
    before = Ticket.objects.values("channel", "service_id", "created_at", "status").get(pk=old.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert purge_expired() == 2
    assert shared.pk

    old.refresh_from_db()
    assert old.purged_at is not None and old.subject == ""
    assert set(old.messages.values_list("body_text", flat=True)) == {""}
    assert not Attachment.objects.filter(message__ticket=old).exists()
    import os

    assert not os.path.exists(path)
    assert os.path.exists(shared_path)  # still the recent ticket's document
    for row in Outbox.objects.filter(ticket=old):
        assert row.recipient == "" and row.payload.get("purged") is True and "text" not in row.payload
    assert not any("recipient" in e.data for e in old.events.all())
    assert old.events.filter(kind=TicketEvent.Kind.PURGED).exists()
    contact = Contact.objects.get(pk=old.contact_id)
    assert (contact.name, contact.email, contact.phone) == ("", "", "")
    assert Ticket.objects.values("channel", "service_id", "created_at", "status").get(pk=old.pk) == before

    recent.refresh_from_db()
    assert recent.purged_at is None and recent.messages.first().body_text
    assert purge_expired() == 0  # idempotent


def test_a_contact_with_a_ticket_still_kept_is_not_anonymised(organisation):
    organisation.retention_months = 12
    organisation.save()
    old = _ticket(organisation, 1, closed_months_ago=13)
    _ticket(organisation, 2)  # the same citizen, still open
    purge_expired()
    assert Contact.objects.get(pk=old.contact_id).email == "lea@example.org"


def test_retention_zero_keeps_everything(organisation):
    organisation.retention_months = 0
    organisation.save()
    _ticket(organisation, 1, closed_months_ago=100)
    assert purge_expired() == 0


def test_export_gives_the_citizens_messages_but_not_internal_notes(organisation):
    ticket = _ticket(organisation, 1)
    agent = get_user_model().objects.create(username="agent")
    note(ticket, agent, "Note interne")
    reply(ticket, agent, "Nous traitons votre demande.")
    data = export_contact(ticket.contact)
    json.dumps(data)  # JSON-ready
    texts = [m["text"] for m in data["tickets"][0]["messages"]]
    assert texts == ["Je m'appelle Léa Martin, j'habite 3 rue des Lilas.", "Nous traitons votre demande."]
    assert data["contact"]["email"] == "lea@example.org"
    assert data["tickets"][0]["messages"][0]["documents"] == ["avis.pdf"]


def test_erasure_on_request_closes_and_purges_now(organisation):
    ticket = _ticket(organisation, 1)
    erase_contact(ticket.contact)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED and ticket.purged_at is not None
    assert Contact.objects.get(pk=ticket.contact_id).email == ""


def test_admin_scopes_contacts_and_reserves_the_rgpd_actions(organisation, client):
    from kb.models import Organisation

    ticket = _ticket(organisation, 1)
    other = Organisation.objects.create(slug="autre", name="Autre", kind="commune")
    User = get_user_model()
    stranger = User.objects.create_user("stranger", password="x", is_staff=True)
    AgentProfile.objects.create(user=stranger, organisation=other)
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(codename__in=["view_contact", "change_contact"])
    stranger.user_permissions.set(perms)
    client.force_login(stranger)
    assert client.get(f"/admin/contacts/contact/{ticket.contact_id}/change/").status_code in (302, 404)
    assert "lea@example.org" not in client.get("/admin/contacts/contact/").content.decode()

    agent = User.objects.create_user("agent", password="x", is_staff=True)
    AgentProfile.objects.create(user=agent, organisation=organisation)
    agent.user_permissions.set(perms)
    client.force_login(agent)
    page = client.get("/admin/contacts/contact/").content.decode()
    assert "lea@example.org" in page and "export_personal_data" not in page

    admin_user = User.objects.create_user("chef", password="x", is_staff=True)
    AgentProfile.objects.create(user=admin_user, organisation=organisation, role=AgentProfile.Role.ADMINISTRATOR)
    admin_user.user_permissions.set(perms)
    client.force_login(admin_user)
    response = client.post(
        "/admin/contacts/contact/",
        {"action": "export_personal_data", "_selected_action": [ticket.contact_id]},
    )
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)[0]["contact"]["email"] == "lea@example.org"


def test_channels_erase_their_own_copies(organisation):
    from channels_app.chat import services as chat
    from channels_app.models import ChatEntry, Conversation
    from mail.models import RawMessage

    organisation.retention_months = 12
    organisation.save()
    ticket = _ticket(organisation, 1, closed_months_ago=13)
    RawMessage.objects.create(
        organisation=organisation, source="file", sha256="a" * 64, size=10, compressed=b"raw", ticket=ticket
    )
    conversation = Conversation.objects.create(organisation=organisation, ticket=ticket)
    chat.append(conversation, "citizen", "Je suis Léa, 06 12 34 56 78", client_id="c1")
    purge_expired()
    raw = RawMessage.objects.get()
    assert bytes(raw.compressed) == b"" and raw.sha256 == "a" * 64
    assert ChatEntry.objects.get().text == ""
