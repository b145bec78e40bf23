import json

import pytest
from django.core import signing

from channels_app.links import followup_url, read_followup_token
from channels_app.sms.backends import BrevoBackend, FileBackend, OvhBackend, ovh_signature
from contacts.senders import PermanentDeliveryError, TemporaryDeliveryError, get_sender
from tests.sms.conftest import MOBILE


def test_brevo_request_is_the_documented_one(brevo, settings):
    settings.SMS_RECEIPT_URL = "https://aiguillage.example/sms/receipts/brevo/?token=x"
    provider_id = BrevoBackend().send(MOBILE, "Bonjour", reference="ack:1", sender="CD99")

    (request,) = brevo.received
    assert request.path == "/v3/transactionalSMS/sms"
    assert request.headers["api-key"] == brevo.BREVO_API_KEY
    assert request.json == {
        "sender": "CD99",
        "recipient": "33612345678",
        "content": "Bonjour",
        "type": "transactional",
        "tag": "ack:1",
        "unicodeEnabled": False,
        "webUrl": "https://aiguillage.example/sms/receipts/brevo/?token=x",
    }
    assert provider_id == "1511882900000001"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_brevo_server_errors_and_throttling_are_temporary(brevo, status):
    brevo.script = [status]
    with pytest.raises(TemporaryDeliveryError, match=str(status)):
        BrevoBackend().send(MOBILE, "Bonjour", reference="k")


@pytest.mark.parametrize("step", ["invalid", 400, 401, 403, 402])
def test_brevo_client_errors_are_permanent(brevo, step):
    brevo.script = [step]
    with pytest.raises(PermanentDeliveryError):
        BrevoBackend().send(MOBILE, "Bonjour", reference="k")


def test_brevo_wrong_key_is_permanent(brevo, settings):
    settings.SMS_BREVO_API_KEY = "wrong"
    with pytest.raises(PermanentDeliveryError, match="401"):
        BrevoBackend().send(MOBILE, "Bonjour", reference="k")


def test_timeout_and_connection_refused_are_temporary(brevo, settings):
    brevo.script = ["timeout"]
    with pytest.raises(TemporaryDeliveryError, match="timeout"):
        BrevoBackend().send(MOBILE, "Bonjour", reference="k")
    settings.SMS_BREVO_BASE_URL = "http://127.0.0.1:9/v3"  # nothing listens there
    with pytest.raises(TemporaryDeliveryError, match="connection"):
        BrevoBackend().send(MOBILE, "Bonjour", reference="k")
    assert brevo.accepted == []


def test_ovh_request_is_signed_as_documented(ovh):
    provider_id = OvhBackend().send(MOBILE, "Pièces à fournir", reference="documents:12", sender="CD99", unicode=True)

    (request,) = ovh.received
    assert request.path == f"/1.0/sms/{ovh.OVH_SERVICE}/jobs"
    assert request.accepted  # the fake checked the signature
    headers = request.headers
    assert headers["X-Ovh-Application"] == ovh.OVH_APPLICATION_KEY
    assert headers["X-Ovh-Signature"] == ovh_signature(
        ovh.OVH_APPLICATION_SECRET,
        ovh.OVH_CONSUMER_KEY,
        "POST",
        f"{ovh.url}{request.path}",
        request.body.decode(),
        headers["X-Ovh-Timestamp"],
    )
    assert request.json["receivers"] == [MOBILE]
    assert request.json["message"] == "Pièces à fournir"
    assert request.json["coding"] == "8bit"
    assert request.json["noStopClause"] is True
    assert request.json["tag"] == "documents:12"
    assert provider_id == "1511882900000001"


def test_ovh_signature_matches_a_known_value():
    # sha1("AS+CK+GET+https://eu.api.ovh.com/1.0/sms++1366560945")
    assert ovh_signature("AS", "CK", "GET", "https://eu.api.ovh.com/1.0/sms", "", 1366560945) == (
        "$1$" + __import__("hashlib").sha1(b"AS+CK+GET+https://eu.api.ovh.com/1.0/sms++1366560945").hexdigest()
    )


def test_ovh_invalid_receiver_is_permanent_and_5xx_temporary(ovh):
    ovh.script = ["invalid", 503]
    with pytest.raises(PermanentDeliveryError, match="invalid receiver"):
        OvhBackend().send(MOBILE, "Bonjour", reference="k")
    with pytest.raises(TemporaryDeliveryError, match="503"):
        OvhBackend().send(MOBILE, "Bonjour", reference="k")


def test_ovh_bad_secret_is_refused_permanently(ovh, settings):
    settings.SMS_OVH_APPLICATION_SECRET = "wrong"
    with pytest.raises(PermanentDeliveryError, match="Invalid signature"):
        OvhBackend().send(MOBILE, "Bonjour", reference="k")


def test_file_backend_writes_a_reference_once(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    first = FileBackend().send(MOBILE, "Bonjour", reference="ack:1")
    second = FileBackend().send(MOBILE, "Bonjour encore", reference="ack:1")
    files = list((tmp_path / "sms").iterdir())
    assert first == second
    assert len(files) == 1
    assert json.loads(files[0].read_text())["text"] == "Bonjour"


def test_the_sender_is_registered_with_the_backends_resend_safety(settings):
    settings.SMS_BACKEND = "channels_app.sms.backends.FileBackend"
    assert get_sender("sms").resend_is_safe is True
    settings.SMS_BACKEND = "channels_app.sms.backends.BrevoBackend"
    assert get_sender("sms").resend_is_safe is False
    settings.SMS_BACKEND = "channels_app.sms.backends.OvhBackend"
    assert get_sender("sms").resend_is_safe is False


@pytest.mark.django_db
def test_followup_url_is_absolute_signed_and_verifiable(settings, sms_ticket):
    settings.PUBLIC_BASE_URL = "https://contact.cd99.example/"
    ticket = sms_ticket()
    url = followup_url(ticket)
    assert url.startswith("https://contact.cd99.example/suivi/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert read_followup_token(token, max_age=3600) == ticket.pk
    with pytest.raises(signing.BadSignature):
        read_followup_token(token[:-2] + "xx", max_age=3600)
    with pytest.raises(signing.BadSignature):
        read_followup_token(signing.dumps(ticket.pk, salt="other"), max_age=3600)
