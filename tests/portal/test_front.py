"""The site's front page: the public sees the administrations it can
contact; people who work here are sent to their tools."""

from django.utils.html import escape

from contacts.models import AgentProfile
from kb.models import Organisation


def test_the_public_sees_the_administrations_it_can_contact(client, kb):
    empty = Organisation.objects.create(slug="sans-sujet", name="Organisation sans sujet", kind="commune")
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Contacter une administration" in html
    cd99 = Organisation.objects.get(slug="cd99")
    assert f'<a href="/contact/cd99/">{escape(cd99.name)}</a>' in html
    assert f"/contact/{empty.slug}/" not in html  # nothing to orient to there
    assert 'href="/suivi/"' in html and 'href="/agents/"' in html
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_people_who_work_here_go_to_their_tools(client, kb, django_user_model):
    cd99 = Organisation.objects.get(slug="cd99")
    for role, where in [
        (AgentProfile.Role.AGENT, "/agents/"),
        (AgentProfile.Role.SUPERVISOR, "/agents/"),
        (AgentProfile.Role.MANAGER, "/indicateurs/"),
    ]:
        user = django_user_model.objects.create_user(f"u-{role}", password="x")
        AgentProfile.objects.create(user=user, organisation=cd99, role=role)
        client.force_login(user)
        response = client.get("/")
        assert (response.status_code, response["Location"]) == (302, where), role
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/")["Location"] == "/admin/"
