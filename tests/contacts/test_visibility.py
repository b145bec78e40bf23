"""Ticket.objects.visible_to(user): organisation, service and sensitivity."""

import pytest
from django.contrib.auth import get_user_model

from contacts.inbound import InboundMessage
from contacts.models import AgentProfile, Ticket
from contacts.services import ingest
from kb.models import Organisation, Service, Topic


@pytest.fixture
def world(organisation):
    insertion = organisation.services.get(slug="insertion")
    enfance = Service.objects.create(organisation=organisation, slug="enfance", name="Enfance")
    sensitive = Topic.objects.create(organisation=organisation, slug="enfant-danger", title="Enfant", sensitive=True)
    other_org = Organisation.objects.create(slug="autre", name="Autre", kind="commune")
    Service.objects.create(organisation=other_org, slug="mairie", name="Mairie", is_triage=True)

    def ticket(org, n):
        return ingest(
            InboundMessage(
                channel="form", external_id=f"v{n}", organisation=org, sender_email=f"v{n}@x.example", text="Bonjour"
            )
        ).ticket

    plain = ticket("cd99", 1)
    secret = ticket("cd99", 2)
    Ticket.objects.filter(pk=secret.pk).update(topic=sensitive, service=enfance)
    elsewhere = ticket("autre", 3)

    def agent(name, org, *services, **extra):
        user = get_user_model().objects.create_user(name, **extra)
        if org:
            profile = AgentProfile.objects.create(user=user, organisation=org)
            profile.services.set(services)
        return user

    return {
        "plain": plain,
        "secret": secret,
        "elsewhere": elsewhere,
        "insertion_agent": agent("ins", organisation, insertion),
        "enfance_agent": agent("enf", organisation, enfance),
        "other_agent": agent("oth", other_org),
        "no_profile": agent("nop", None),
        "root": agent("root", None, is_superuser=True),
    }


def visible(user):
    return set(Ticket.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.django_db
def test_permission_matrix(world):
    plain, secret, elsewhere = world["plain"].pk, world["secret"].pk, world["elsewhere"].pk
    assert visible(world["insertion_agent"]) == {plain}
    assert visible(world["enfance_agent"]) == {plain, secret}
    assert visible(world["other_agent"]) == {elsewhere}
    assert visible(world["no_profile"]) == set()
    assert visible(world["root"]) == {plain, secret, elsewhere}


@pytest.mark.django_db
def test_the_assignee_of_a_sensitive_ticket_sees_it(world):
    Ticket.objects.filter(pk=world["secret"].pk).update(assignee=world["insertion_agent"])
    assert world["secret"].pk in visible(world["insertion_agent"])


@pytest.mark.django_db
def test_anonymous_and_inactive_users_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert visible(AnonymousUser()) == set()
    user = world["enfance_agent"]
    user.is_active = False
    user.save()
    assert visible(user) == set()


@pytest.mark.django_db
def test_admin_lists_and_pages_follow_the_same_scoping(client, world):
    from django.contrib.auth.models import Permission

    agent = world["insertion_agent"]
    agent.is_staff = True
    agent.set_password("pw")
    agent.save()
    agent.user_permissions.set(Permission.objects.filter(codename__in=["view_ticket", "view_message"]))
    client.login(username="ins", password="pw")

    listing = client.get("/admin/contacts/ticket/").content.decode()
    assert world["plain"].reference in listing
    assert world["secret"].reference not in listing
    assert client.get(f"/admin/contacts/ticket/{world['secret'].pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/contacts/ticket/{world['elsewhere'].pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/contacts/ticket/{world['plain'].pk}/change/").status_code == 200
