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
