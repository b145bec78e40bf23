"""The websockets ask the second factor as the pages do."""

import pytest
from django.contrib.auth import get_user_model

from contacts.models import AgentProfile
from contacts.second_factor import websocket_allowed

pytestmark = pytest.mark.django_db


def test_a_manager_without_the_second_factor_cannot_open_a_websocket(organisation, settings):
    from django_otp import DEVICE_ID_SESSION_KEY

    settings.OTP_REQUIRED = True
    manager = get_user_model().objects.create_user("manager", password="x")
    AgentProfile.objects.create(user=manager, organisation=organisation, role=AgentProfile.Role.MANAGER)
    agent = get_user_model().objects.create_user("agent", password="x")
    AgentProfile.objects.create(user=agent, organisation=organisation)
    assert not websocket_allowed({"user": manager, "session": {}})
    assert websocket_allowed({"user": manager, "session": {DEVICE_ID_SESSION_KEY: "otp_totp.totpdevice/1"}})
    assert websocket_allowed({"user": agent, "session": {}})
    settings.OTP_REQUIRED = False
    assert websocket_allowed({"user": manager, "session": {}})
