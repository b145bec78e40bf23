"""Consent records (RGPD): every change of a citizen's SMS consent, wherever
it comes from, goes through change_consent and leaves an append-only proof."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import translation

from channels_app.portal.forms import SMS_CONSENT_WORDING
from contacts.inbound import InboundMessage
from contacts.models import ConsentRecord, Contact, Ticket
from contacts.services import ingest
from contacts.services.consent import ConsentError, change_consent
from contacts.services.ingest import IngestError
from contacts.services.privacy import erase_contact, export_contact
from tests.portal.conftest import _fresh_limits, kb  # noqa: F401 (fixtures)
from tests.sms.conftest import MOBILE, TOKEN, webhook_token  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _history(contact):
    return list(contact.consent_records.values_list("given", "source", "evidence"))


def _sms(client, text, message_id, phone=MOBILE):
    return client.post(
        "/sms/cd99/inbound/generic/",
        json.dumps({"id": message_id, "from": phone, "text": text}),
        content_type="application/json",
        HTTP_X_AIGUILLAGE_TOKEN=TOKEN,
    )


def _contact(organisation, **fields):
    return Contact.objects.create(organisation=organisation, name="Léa Martin", phone=MOBILE, **fields)


def test_the_form_checkbox_is_recorded_with_its_wording(client, kb):  # noqa: F811
    page = client.get("/contact/cd99/ecrire/")
    token = re.search(r'name="submission" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        "/contact/cd99/ecrire/",
        {
            "submission": token,
            "name": "Léa Martin",
            "email": "",
            "phone": "06 12 34 56 78",
            "postcode": "99100",
            "message": "Bonjour, mon RSA n'a pas été versé ce mois-ci.",
            "preferred_channel": "sms",
            "sms_consent": "on",
            "sujet": "cd99/rsa-versement",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    contact = Ticket.objects.get().contact
    record = contact.consent_records.get()
    with translation.override("fr"):
        wording = str(SMS_CONSENT_WORDING)
    assert wording.startswith("J’accepte")  # what the French page showed
    assert (record.kind, record.given, record.source, record.evidence) == ("sms", True, "form", wording)
    assert contact.sms_consent is True and contact.sms_consent_at == record.at


def test_sms_then_stop_then_sms_again_keeps_the_withdrawal(client, organisation, webhook_token):  # noqa: F811
    assert _sms(client, "Bonjour, mon RSA n'est pas arrivé", "m-1").status_code == 200
    assert _sms(client, "STOP", "m-2").status_code == 200
    assert _sms(client, "STOP", "m-2").status_code == 200  # the provider retries: recorded once
    assert _sms(client, "Encore une question", "m-3").status_code == 200

    contact = Contact.objects.get(phone=MOBILE)
    assert _history(contact) == [
        (True, "sms_message", "SMS generic:m-1"),  # the message named, its text not copied (purged with the ticket)
        (False, "sms_stop", "STOP"),
    ]
    assert contact.sms_consent is False
    assert contact.sms_consent_at == contact.consent_records.last().at


def test_the_same_consent_again_writes_nothing(organisation):
    contact = _contact(organisation)
    first = change_consent(contact, given=True, source="phone", evidence="Appel du 3 mars")
    assert first is not None
    assert change_consent(contact, given=True, source="form", evidence="case cochée") is None
    assert contact.consent_records.count() == 1
    contact.refresh_from_db()
    assert contact.sms_consent is True and contact.sms_consent_at == first.at


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"given": True, "source": "pigeon"}, "source: unknown source 'pigeon'"),
        ({"given": True, "source": ""}, "source: unknown source ''"),
        ({"given": "yes", "source": "phone"}, "given: expected True or False"),
        ({"given": True, "source": "phone", "kind": "newsletter"}, "kind: unknown kind of consent 'newsletter'"),
    ],
)
def test_a_bad_change_is_refused_clearly_and_writes_nothing(organisation, arguments, error):
    contact = _contact(organisation)
    with pytest.raises(ConsentError, match=re.escape(error)):
        change_consent(contact, **arguments)
    contact.refresh_from_db()
    assert contact.sms_consent is False and contact.sms_consent_at is None
    assert not ConsentRecord.objects.exists()


def test_an_unsaved_contact_is_refused(organisation):
    with pytest.raises(ConsentError, match="contact: save the contact"):
        change_consent(Contact(organisation=organisation), given=True, source="phone")


def test_a_message_carrying_a_consent_without_a_source_is_refused_whole(organisation):
    inbound = InboundMessage(
        channel="email",
        external_id="<c1@example.org>",
        organisation=organisation.slug,
        sender_email="lea@example.org",
        text="Bonjour",
        sms_consent=True,
    )
    with pytest.raises(IngestError, match="sms_consent: source"):
        ingest(inbound)
    assert not Contact.objects.exists() and not Ticket.objects.exists()
    inbound.sms_consent_source = "carrier-pigeon"
    with pytest.raises(IngestError, match="unknown source 'carrier-pigeon'"):
        ingest(inbound)
    assert not Contact.objects.exists() and not ConsentRecord.objects.exists()


def test_records_are_append_only(organisation):
    contact = _contact(organisation)
    record = change_consent(contact, given=True, source="phone", evidence="Appel")
    record.given = False
    with pytest.raises(ValidationError):
        record.save()
    with pytest.raises(ValidationError):
        record.delete()
    assert ConsentRecord.objects.get().given is True


def _admin(client, organisation):
    from contacts.models import AgentProfile

    user = get_user_model().objects.create_superuser("chef", password="x")
    AgentProfile.objects.create(user=user, organisation=organisation, role=AgentProfile.Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def _admin_form(contact, **changes):
    data = {
        "organisation": contact.organisation_id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "postcode": contact.postcode,
        "consent_source": "",
        "consent_evidence": "",
        "consent_records-TOTAL_FORMS": "0",
        "consent_records-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_the_admin_changes_consent_only_with_how_and_shows_the_history_in_french(client, organisation):
    user = _admin(client, organisation)
    contact = _contact(organisation)
    url = f"/admin/contacts/contact/{contact.pk}/change/"

    refused = client.post(url, _admin_form(contact, sms_consent="on"), HTTP_ACCEPT_LANGUAGE="fr")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Indiquez comment" in page and "Notez ce que" in page
    contact.refresh_from_db()
    assert contact.sms_consent is False and not ConsentRecord.objects.exists()

    done = client.post(
        url,
        _admin_form(contact, sms_consent="on", consent_source="phone", consent_evidence="Appel du 3 mars, accord oral"),
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    contact.refresh_from_db()
    record = contact.consent_records.get()
    assert (record.given, record.source, record.evidence, record.actor) == (
        True,
        "phone",
        "Appel du 3 mars, accord oral",
        user,
    )
    assert contact.sms_consent is True and contact.sms_consent_at == record.at

    # Other fields change without touching the consent.
    assert client.post(url, _admin_form(contact, name="Léa M.", sms_consent="on")).status_code == 302
    assert contact.consent_records.count() == 1

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Historique des consentements" in page
    assert "Appel du 3 mars, accord oral" in page and "Indiqué à un agent au téléphone" in page
    assert 'name="consent_records-0-evidence"' not in page  # read-only


def test_export_includes_the_history_and_erasure_keeps_it_without_evidence(organisation):
    inbound = InboundMessage(
        channel="sms",
        external_id="sms-1",
        organisation=organisation.slug,
        sender_phone=MOBILE,
        text="Bonjour, je suis Léa Martin, 3 rue des Lilas",
        sms_consent=True,
    )
    contact = ingest(inbound).ticket.contact
    with translation.override("fr"):
        exported = export_contact(contact)
    assert [(c["given"], c["how"], c["evidence"]) for c in exported["consents"]] == [
        (True, "Message envoyé par SMS", "SMS sms-1")  # named, not copied
    ]
    assert exported["consents"][0]["consent_to"] == "SMS sur ses demandes"
    json.dumps(exported)  # JSON-ready

    erase_contact(contact)
    contact.refresh_from_db()
    assert contact.phone == "" and contact.sms_consent is False
    assert _history(contact) == [(True, "sms_message", ""), (False, "erasure", "")]
    assert contact.sms_consent_at == contact.consent_records.last().at
    erase_contact(contact)  # again: nothing more to record
    assert contact.consent_records.count() == 2
