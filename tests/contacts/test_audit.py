"""The audit log of sensitive requests."""

import pytest
from django.contrib.auth import get_user_model

from contacts.inbound import InboundMessage
from contacts.models import AccessLog, AgentProfile, Ticket
from contacts.services import ingest
from contacts.services.audit import record_access
from kb.models import Topic

pytestmark = pytest.mark.django_db


def _ticket(organisation, sensitive):
    topic = Topic.objects.create(organisation=organisation, slug=f"t{sensitive}", title="Sujet", sensitive=sensitive)
    ticket = ingest(
        InboundMessage(
            channel="email",
            external_id=f"<a{sensitive}@x>",
            organisation=organisation,
            sender_email="lea@example.org",
            subject="Demande",
            text="Bonjour",
        )
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(topic=topic)
    return Ticket.objects.select_related("topic").get(pk=ticket.pk)


def test_only_sensitive_tickets_are_logged(organisation):
    user = get_user_model().objects.create(username="agent")
    assert record_access(user, _ticket(organisation, False)) is None
    entry = record_access(user, _ticket(organisation, True), what="page")
    assert entry is not None and AccessLog.objects.get() == entry


def test_the_admin_logs_openings_and_only_administrators_read_the_log(organisation, client):
    ticket = _ticket(organisation, True)
    User = get_user_model()
    boss = User.objects.create_user("boss", password="x", is_staff=True, is_superuser=True)
    client.force_login(boss)
    assert client.get(f"/admin/contacts/ticket/{ticket.pk}/change/").status_code == 200
    log = AccessLog.objects.get()
    assert (log.user, log.ticket, log.what) == (boss, ticket, "admin")
    assert ticket.reference in client.get("/admin/contacts/accesslog/").content.decode()

    agent = User.objects.create_user("agent", password="x", is_staff=True)
    AgentProfile.objects.create(user=agent, organisation=organisation)
    client.force_login(agent)
    assert client.get("/admin/contacts/accesslog/").status_code == 403
    chief = User.objects.create_user("chief", password="x", is_staff=True)
    AgentProfile.objects.create(user=chief, organisation=organisation, role=AgentProfile.Role.ADMINISTRATOR)
    client.force_login(chief)
    assert ticket.reference in client.get("/admin/contacts/accesslog/").content.decode()


def test_the_inbox_logs_openings_of_sensitive_tickets_and_documents(organisation, client):
    from contacts.inbound import InboundAttachment

    sensitive = _ticket(organisation, True)
    plain = _ticket(organisation, False)
    message = ingest(
        InboundMessage(
            channel="email",
            external_id="<doc-sensitive@x>",
            organisation=organisation,
            sender_email="lea@example.org",
            subject=f"Re: [{sensitive.reference}]",
            text="La pièce",
            attachments=[InboundAttachment("certificat.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")],
        )
    ).message
    agent = get_user_model().objects.create_user("agent2", password="x")
    AgentProfile.objects.create(user=agent, organisation=organisation).services.set(organisation.services.all())
    from kb.models import TopicService

    for ticket in (sensitive, plain):
        TopicService.objects.get_or_create(topic=ticket.topic, service=organisation.services.first())
        Ticket.objects.filter(pk=ticket.pk).update(service=organisation.services.first())
    client.force_login(agent)
    assert client.get(f"/agents/demandes/{plain.reference}/").status_code == 200
    assert not AccessLog.objects.exists()
    assert client.get(f"/agents/demandes/{sensitive.reference}/").status_code == 200
    attachment = message.attachments.get()
    assert client.get(f"/agents/pieces/{attachment.pk}/").status_code == 200
    logged = list(AccessLog.objects.order_by("at").values_list("ticket", "attachment", "what"))
    assert logged == [(sensitive.pk, None, "page"), (sensitive.pk, attachment.pk, "certificat.pdf")]
