"""Administrators and managers give a second factor (TOTP) after their
password; agents do not."""

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from contacts.models import AgentProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.OTP_REQUIRED = True


def _user(organisation, name, role):
    user = get_user_model().objects.create_user(name, password="x", is_staff=True)
    AgentProfile.objects.create(user=user, organisation=organisation, role=role)
    return user


def _code(user):
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_a_manager_registers_an_app_then_gets_in(client, organisation, required):
    manager = _user(organisation, "manager", AgentProfile.Role.MANAGER)
    client.force_login(manager)
    response = client.get("/agents/")
    assert response.status_code == 302 and response["Location"].startswith("/securite/?next=/agents/")
    page = client.get(response["Location"])
    assert 'id="secret"' in page.content.decode()  # the key to register in the app
    ok = client.post("/securite/", {"code": _code(manager), "next": "/agents/"})
    assert ok.status_code == 302 and ok["Location"] == "/agents/"
    assert TOTPDevice.objects.get(user=manager).confirmed
    assert client.get("/agents/").status_code == 200


def test_a_wrong_code_is_refused_and_retries_are_throttled(client, organisation, required):
    manager = _user(organisation, "manager", AgentProfile.Role.MANAGER)
    client.force_login(manager)
    client.get("/securite/")
    good = _code(manager)
    wrong = "000000" if good != "000000" else "111111"
    first = client.post("/securite/", {"code": wrong, "next": "/agents/"})
    assert first.status_code == 400 and "pas valide" in first.content.decode()
    again = client.post("/securite/", {"code": good, "next": "/agents/"})  # at once: throttled
    assert again.status_code == 400 and "attendez quelques secondes" in again.content.decode()
    assert client.get("/agents/").status_code == 302


def test_an_agent_needs_no_second_factor(client, organisation, required):
    agent = _user(organisation, "agent", AgentProfile.Role.AGENT)
    client.force_login(agent)
    assert client.get("/agents/").status_code == 200


def test_a_superuser_is_asked_on_the_admin_and_an_outside_next_is_ignored(client, required):
    boss = get_user_model().objects.create_user("boss", password="x", is_staff=True, is_superuser=True)
    client.force_login(boss)
    assert client.get("/admin/").status_code == 302
    client.get("/securite/")
    ok = client.post("/securite/", {"code": _code(boss), "next": "https://evil.example/"})
    assert ok["Location"] == "/agents/"
    assert client.get("/admin/").status_code == 200


def test_off_in_the_embedded_demo(client, settings):
    settings.OTP_REQUIRED = False
    boss = get_user_model().objects.create_user("boss", password="x", is_staff=True, is_superuser=True)
    client.force_login(boss)
    assert client.get("/admin/").status_code == 200
