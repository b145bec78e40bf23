import datetime

import pytest

from channels_app.sms import policy
from channels_app.sms.backends import LocmemBackend
from contacts.inbound import InboundMessage
from contacts.services import ingest
from tests.support.sms_provider import FakeSmsProvider

MOBILE = "+33612345678"
OTHER_MOBILE = "+33612345679"
LANDLINE = "+33142000000"
TOKEN = "s3cret-webhook-token"


@pytest.fixture
def provider():
    with FakeSmsProvider() as fake:
        yield fake


def _point(settings, fake, backend):
    for key, value in fake.env(backend).items():
        setattr(settings, key, value)
    settings.SMS_HTTP_TIMEOUT_SECONDS = 0.5
    settings.SMS_HTTP_CONNECT_TIMEOUT_SECONDS = 0.5
    fake.slow_seconds = 1.5
    return fake


@pytest.fixture
def brevo(settings, provider):
    return _point(settings, provider, "brevo")


@pytest.fixture
def ovh(settings, provider):
    return _point(settings, provider, "ovh")


@pytest.fixture
def locmem(settings):
    settings.SMS_BACKEND = "channels_app.sms.backends.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()


@pytest.fixture
def webhook_token(settings):
    settings.SMS_WEBHOOK_TOKEN = TOKEN
    return TOKEN


class Clock:
    """Moves ``policy.now`` (the time the SMS rules read)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def set(self, moment):
        self.monkeypatch.setattr(policy, "now", lambda: moment)
        return moment

    def local(self, organisation, *args):
        return self.set(datetime.datetime(*args, tzinfo=organisation.tzinfo).astimezone(datetime.UTC))


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def no_quiet_hours(organisation):
    from channels_app.models import SmsSettings

    return SmsSettings.objects.create(
        organisation=organisation,
        quiet_start=datetime.time(0, 0),
        quiet_end=datetime.time(0, 0),
        quiet_on_sundays=False,
    )


@pytest.fixture
def sms_ticket(organisation):
    """Create a ticket by an SMS from a consenting mobile (or another number)."""
    counter = iter(range(1, 10_000))

    def make(phone=MOBILE, consent=True, email="", text="Bonjour, où en est mon dossier RSA ?", **extra):
        return ingest(
            InboundMessage(
                channel="sms" if not email else "email",
                external_id=f"sms-{next(counter)}",
                organisation=organisation.slug,
                sender_phone=phone,
                sender_email=email,
                text=text,
                sms_consent=consent,
                # An email carrying a consent must say how it was given.
                sms_consent_source="" if not email else "written",
                **extra,
            )
        ).ticket

    return make
