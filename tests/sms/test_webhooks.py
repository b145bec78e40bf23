import json

import pytest

from channels_app.sms.inbound import is_stop
from contacts.models import Contact, Message, Outbox, Ticket
from tests.sms.conftest import MOBILE, TOKEN

pytestmark = pytest.mark.django_db  # through config/urls.py, where "sms/" is mounted


def post(client, url, data, token=TOKEN, as_json=True):
    headers = {"HTTP_X_AIGUILLAGE_TOKEN": token} if token else {}
    if as_json:
        return client.post(url, json.dumps(data), content_type="application/json", **headers)
    return client.post(url, data, **headers)


def generic(client, text, message_id, phone=MOBILE, token=TOKEN):
    return post(client, "/sms/cd99/inbound/generic/", {"id": message_id, "from": phone, "text": text}, token=token)


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x"])
def test_inbound_without_the_right_token_is_refused_and_nothing_stored(client, organisation, webhook_token, token):
    response = generic(client, "Bonjour", "m-1", token=token)
    assert response.status_code == 403
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_no_token_configured_refuses_everything(client, organisation, settings):
    settings.SMS_WEBHOOK_TOKEN = ""
    assert generic(client, "Bonjour", "m-1", token="").status_code == 403


def test_reply_threads_onto_the_open_ticket_and_is_idempotent(client, organisation, webhook_token):
    first = generic(client, "Bonjour, mon RSA n'est pas arrivé", "m-1")
    assert first.status_code == 200, first.content
    assert first.json()["outcome"] == "created"
    second = generic(client, "J'ai oublié : numéro allocataire 123", "m-2")
    again = generic(client, "J'ai oublié : numéro allocataire 123", "m-2")

    assert second.json()["outcome"] == "threaded"
    assert again.json()["outcome"] == "duplicate"
    ticket = Ticket.objects.get()
    assert ticket.channel == "sms"
    assert list(ticket.messages.values_list("external_id", flat=True)) == ["generic:m-1", "generic:m-2"]
    assert ticket.contact.sms_consent is True  # writing to us: consent to be answered by SMS


def test_query_token_and_ovh_format(client, organisation, webhook_token):
    response = client.get(
        "/sms/cd99/inbound/ovh/", {"token": TOKEN, "id": "998877", "sender": "+33612345678", "message": "Bonjour"}
    )
    assert response.status_code == 200, response.content
    assert Message.objects.get().external_id == "ovh:998877"


def test_brevo_reply_event(client, organisation, webhook_token):
    event = {"id": 4455, "to": "33612345678", "msg_status": "replied", "reply": "Bonjour", "ts_event": 1773139200}
    response = post(client, "/sms/cd99/inbound/brevo/", event)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    assert message.ticket.contact.phone == MOBILE
    assert message.external_id == "brevo:4455:1773139200"


def test_malformed_inbound_is_a_clear_400(client, organisation, webhook_token):
    response = post(client, "/sms/cd99/inbound/generic/", {"from": MOBILE})
    assert response.status_code == 400
    assert "missing field: id" in response.json()["error"]
    assert post(client, "/sms/cd99/inbound/nokia/", {"id": 1}).status_code == 400


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop. ", "ARRÊT", "arret", "Désinscription", "desinscription!"])
def test_stop_words_alone(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["stop stop", "Je veux arrêter", "STOP les SMS", "stopper", ""])
def test_not_stop(text):
    assert not is_stop(text)


def test_stop_revokes_consent_confirms_once_and_opens_no_ticket(client, organisation, webhook_token, sms_ticket):
    ticket = sms_ticket()
    tickets_before = Ticket.objects.count()
    for _ in range(2):  # the provider posts it twice
        response = generic(client, "Arrêt", "m-stop")
        assert response.status_code == 200
        assert response.json()["outcome"] == "stopped"

    contact = Contact.objects.get(phone=MOBILE)
    assert contact.sms_consent is False
    assert contact.sms_consent_at is not None
    assert Ticket.objects.count() == tickets_before
    assert not Message.objects.filter(external_id="generic:m-stop").exists()
    (confirmation,) = Outbox.objects.filter(idempotency_key="stop:generic:m-stop")
    assert confirmation.payload["kind"] == "stop"
    assert confirmation.recipient == MOBILE
    assert confirmation.ticket == ticket

    # A later message is still received, but consent is not given back.
    generic(client, "Finalement j'ai une question", "m-3")
    assert Contact.objects.get(phone=MOBILE).sms_consent is False


def test_receipts_update_the_row_and_a_failure_is_recorded(client, organisation, webhook_token, sms_ticket):
    ticket = sms_ticket(phone="+33612345670")
    row = Outbox.objects.get(ticket=ticket)
    Outbox.objects.filter(pk=row.pk).update(status="sent", provider_id="1511882900000042")

    response = post(client, "/sms/receipts/brevo/", {"messageId": 1511882900000042, "msg_status": "sent"})
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "sent"

    for _ in range(2):
        response = post(client, "/sms/receipts/brevo/", {"messageId": 1511882900000042, "msg_status": "hardBounce"})
        assert response.json() == {"matched": 1, "status": "failed"}
    row.refresh_from_db()
    assert row.delivery_status == "failed"
    assert ticket.events.filter(kind="delivery_failed").count() == 1
    # A late intermediate report does not undo the final one.
    post(client, "/sms/receipts/brevo/", {"messageId": 1511882900000042, "msg_status": "accepted"})
    row.refresh_from_db()
    assert row.delivery_status == "failed"


def test_ovh_delivery_report(client, organisation, webhook_token, sms_ticket):
    ticket = sms_ticket()
    row = Outbox.objects.get(ticket=ticket)
    Outbox.objects.filter(pk=row.pk).update(status="sent", provider_id="777")
    response = client.get("/sms/receipts/ovh/", {"token": TOKEN, "id": "777", "dlr": "1"})
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "delivered"
    assert not ticket.events.filter(kind="delivery_failed").exists()


def test_receipt_for_an_unknown_id_is_404_and_without_token_403(client, organisation, webhook_token):
    assert post(client, "/sms/receipts/generic/", {"id": "nope", "status": "delivered"}).status_code == 404
    assert post(client, "/sms/receipts/generic/", {"id": "x", "status": "failed"}, token="bad").status_code == 403
