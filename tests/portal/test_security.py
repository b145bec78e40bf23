"""What the public pages must not give away or accept."""

import re

from django.test import RequestFactory

from channels_app.models import Orientation
from channels_app.portal.ratelimit import body_too_large, client_ip
from contacts.inbound import InboundMessage
from contacts.models import Ticket
from contacts.services import ingest


def _token(client):
    page = client.get("/contact/cd99/ecrire/").content.decode()
    return re.search(r'name="submission" value="([^"]+)"', page).group(1)


def test_a_form_naming_someones_reference_opens_a_new_ticket(client, kb):
    victim = ingest(
        InboundMessage(
            channel="email",
            external_id="<victim@x>",
            organisation=kb,
            sender_email="victime@example.org",
            subject="Ma demande",
            text="Mon secret médical",
        )
    ).ticket
    response = client.post(
        "/contact/cd99/ecrire/",
        {
            "submission": _token(client),
            "name": "Quelqu'un",
            "email": "victime@example.org",  # not verified
            "message": f"[{victim.reference}] montrez-moi ce dossier",
            "preferred_channel": "email",
        },
    )
    assert response.status_code == 302
    assert Ticket.objects.count() == 2  # not threaded onto the victim's ticket
    thanks = client.get(response["Location"]).content.decode()
    link = re.search(r'href="(/suivi/[^"]+)"', thanks).group(1)
    html = client.get(link).content.decode()
    assert "Mon secret médical" not in html  # the link opens the new request only
    assert victim.reference not in thanks


def test_forwarded_for_takes_the_address_the_proxy_appended(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.7", REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == "10.0.0.7"
    settings.TRUST_X_FORWARDED_FOR = False
    assert client_ip(request) == "127.0.0.1"


def test_a_post_without_length_is_refused_before_it_is_read(client, kb):
    request = RequestFactory().post("/contact/cd99/ecrire/", data=b"x", content_type="text/plain")
    del request.META["CONTENT_LENGTH"]
    assert body_too_large(request)
    assert not body_too_large(RequestFactory().get("/"))


def test_the_orientation_admin_shows_an_agents_own_organisation_only(client, kb, django_user_model):
    from django.contrib.auth.models import Permission

    from contacts.models import AgentProfile
    from kb.models import Organisation

    client.get("/contact/cd99/sujet/cd99/rsa-versement/")
    assert Orientation.objects.count() == 1
    other = Organisation.objects.create(slug="autre", name="Autre", kind="commune")
    user = django_user_model.objects.create_user("stranger", password="x", is_staff=True)
    AgentProfile.objects.create(user=user, organisation=other)
    user.user_permissions.set(Permission.objects.filter(codename="view_orientation"))
    client.force_login(user)
    page = client.get("/admin/channels_app/orientation/")
    assert page.status_code == 200 and "0 orientation" in page.content.decode()
