"""The follow-up page: signed links, replies, documents, rating, lost links."""

import datetime

from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.links import followup_token
from contacts.inbound import InboundMessage
from contacts.models import Outbox, Ticket, TicketEvent
from contacts.services import ingest


def _ticket(kb, email="lea@example.org", n=1):
    return ingest(
        InboundMessage(
            channel="form",
            external_id=f"form:test-{n}",
            organisation=kb,
            sender_email=email,
            sender_name="Léa",
            subject="Mon RSA",
            text="Mon RSA n'a pas été versé.",
        )
    ).ticket


def _token_field(html):
    import re

    return re.search(r'name="submission" value="([^"]+)"', html).group(1)


def test_link_shows_its_own_request_and_public_messages_only(client, kb):
    ticket = _ticket(kb)
    other = _ticket(kb, n=2)
    from django.contrib.auth import get_user_model

    from contacts.services import note

    agent = get_user_model().objects.create(username="agent")
    note(ticket, agent, "Note interne à ne pas montrer")
    html = client.get(f"/suivi/{followup_token(ticket)}/").content.decode()
    assert ticket.reference in html
    assert other.reference not in html  # a link opens its own request only
    assert "Mon RSA n&#x27;a pas été versé." in html
    assert "Note interne" not in html


def test_forged_and_expired_links(client, kb, settings):
    ticket = _ticket(kb)
    token = followup_token(ticket)
    forged = client.get(f"/suivi/{token[:-2]}xx/")
    assert forged.status_code == 404
    assert "Ce lien n’est pas valide" in forged.content.decode()
    old = signing.TimestampSigner(salt="followup").sign_object(ticket.pk)
    settings.FOLLOWUP_LINK_MAX_AGE_DAYS = 0
    import time

    time.sleep(1.1)
    expired = client.get(f"/suivi/{old}/")
    assert expired.status_code == 410
    assert "Ce lien a expiré" in expired.content.decode()


def test_reply_with_a_document_threads_on_the_ticket(client, kb):
    ticket = _ticket(kb)
    url = f"/suivi/{followup_token(ticket)}/"
    token = _token_field(client.get(url).content.decode())
    document = SimpleUploadedFile("justificatif.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
    response = client.post(
        url,
        {
            "action": "reply",
            "demande": ticket.reference,
            "submission": token,
            "message": "Voici le justificatif.",
            "attachments": document,
        },
    )
    assert response.status_code == 302
    again = client.post(
        url, {"action": "reply", "demande": ticket.reference, "submission": token, "message": "Voici le justificatif."}
    )
    assert again.status_code == 302
    assert Ticket.objects.count() == 1
    messages = list(ticket.messages.order_by("created_at"))
    assert len(messages) == 2 and messages[1].body_text == "Voici le justificatif."
    assert messages[1].attachments.get().filename == "justificatif.png"
    page = client.get(response["Location"]).content.decode()
    assert "Votre message a été ajouté" in page
    attachment = messages[1].attachments.get()
    download = client.get(f"{url}piece/{attachment.pk}/")
    assert download.status_code == 200
    other = _ticket(kb, email="autre@example.org", n=9)
    assert client.get(f"/suivi/{followup_token(other)}/piece/{attachment.pk}/").status_code == 404


def test_rating_once_resolved(client, kb):
    ticket = _ticket(kb)
    url = f"/suivi/{followup_token(ticket)}/"
    early = client.post(url, {"action": "rate", "demande": ticket.reference, "score": "4"})
    assert "une fois votre demande résolue" in early.content.decode()
    Ticket.objects.filter(pk=ticket.pk).update(status="resolved")
    done = client.post(url, {"action": "rate", "demande": ticket.reference, "score": "4", "comment": "Merci"})
    assert done.status_code == 302
    twice = client.post(url, {"action": "rate", "demande": ticket.reference, "score": "1"})
    assert "Vous avez déjà donné votre avis" in twice.content.decode()
    event = ticket.events.get(kind=TicketEvent.Kind.RATED)
    assert event.data == {"score": 4, "comment": "Merci"}
    bad = client.post(url, {"action": "rate", "demande": ticket.reference, "score": "9"})
    assert (
        "Choisissez une note de 1 à 5" in bad.content.decode() or "Sélectionnez un choix valide" in bad.content.decode()
    )


def test_lost_link_is_sent_again_without_telling_who_is_known(client, kb):
    ticket = _ticket(kb)
    known = client.post("/suivi/", {"address": "LEA@example.org"}).content.decode()
    unknown = client.post("/suivi/", {"address": "personne@example.org"}).content.decode()
    message = "un nouveau lien vient d’y être envoyé"
    assert message in known and message in unknown
    row = Outbox.objects.get(idempotency_key__startswith=f"relink:{ticket.pk}:")
    assert followup_token(ticket).split(":")[0] in row.payload["text"]
    client.post("/suivi/", {"address": "lea@example.org"})
    assert Outbox.objects.filter(idempotency_key__startswith="relink:").count() == 1  # once per window


def test_lost_link_bad_address(client, kb):
    html = client.post("/suivi/", {"address": "pas une adresse"}).content.decode()
    assert "Saisissez un numéro de téléphone valide" in html


def test_expected_answer_date_is_shown(client, kb):
    ticket = _ticket(kb)
    Ticket.objects.filter(pk=ticket.pk).update(due_at=datetime.datetime(2030, 3, 14, 10, tzinfo=datetime.UTC))
    html = client.get(f"/suivi/{followup_token(ticket)}/").content.decode()
    assert "jeudi 14 mars" in html
