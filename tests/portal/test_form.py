"""The unique contact form and the callback request."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.models import CallbackRequest, FormSubmission, Orientation
from channels_app.portal.orientation import orientation_token
from contacts.models import Outbox, Ticket, TicketEvent

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _form(client, path="/contact/cd99/ecrire/", **query):
    page = client.get(path, query)
    assert page.status_code == 200
    return re.search(r'name="submission" value="([^"]+)"', page.content.decode()).group(1)


def _post(client, token, path="/contact/cd99/ecrire/", topic="cd99/rsa-versement", headers=None, **fields):
    data = {
        "submission": token,
        "name": "Léa Martin",
        "email": "lea.martin@example.org",
        "phone": "",
        "postcode": "99100",
        "message": "Bonjour, mon RSA n'a pas été versé ce mois-ci.",
        "preferred_channel": "email",
        "sujet": topic,
    }
    data.update(fields)
    return client.post(path, {k: v for k, v in data.items() if v is not None}, headers=headers)


def test_submission_makes_a_routed_acknowledged_ticket(client, kb):
    client.get("/contact/cd99/sujet/cd99/rsa-versement/", {"cp": "99100"})
    orientation = Orientation.objects.get()
    carried = orientation_token(orientation.pk)
    token = _form(client, sujet="cd99/rsa-versement", orientation=carried)
    attachment = SimpleUploadedFile("avis.pdf", PDF, content_type="application/pdf")
    response = _post(client, token, orientation=carried, attachments=attachment)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "form"
    assert ticket.topic.slug == "rsa-versement"  # the path's topic, not a guess
    assert ticket.service.slug in {s.slug for s in ticket.topic.candidate_services()}
    routed = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    assert routed.data["decided_by"] == "citizen"
    message = ticket.messages.get()
    assert message.attachments.get().filename == "avis.pdf"
    assert FormSubmission.objects.get(ticket=ticket).preferred_channel == "email"
    assert Outbox.objects.filter(ticket=ticket, idempotency_key=f"ack:{ticket.pk}").exists()
    orientation.refresh_from_db()
    assert orientation.ticket == ticket

    confirmation = client.get(response["Location"]).content.decode()
    assert ticket.reference in confirmation
    assert "Suivre ma demande" in confirmation


def test_an_orientation_id_not_signed_by_the_site_is_not_attached(client, kb):
    """Orientations are counted per citizen: a guessed id (another visitor's)
    must not be linked to this request; the request itself still goes."""
    client.get("/contact/cd99/sujet/cd99/rsa-versement/", {"cp": "99100"})
    orientation = Orientation.objects.get()
    token = _form(client, sujet="cd99/rsa-versement")
    response = _post(client, token, orientation=str(orientation.pk))
    assert response.status_code == 302
    assert Ticket.objects.count() == 1
    orientation.refresh_from_db()
    assert orientation.ticket is None


def test_double_click_makes_one_ticket(client, kb):
    token = _form(client)
    first = _post(client, token)
    second = _post(client, token)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1


def test_a_token_is_not_reusable_by_someone_else(client, kb):
    token = _form(client)
    _post(client, token)
    other = _post(client, token, email="autre@example.org", name="Autre")
    assert other.status_code == 200
    assert "déjà été envoyé" in other.content.decode()
    assert Ticket.objects.count() == 1


def test_forged_token_is_refused(client, kb):
    response = _post(client, "forged-token")
    assert response.status_code == 200
    assert "Ce formulaire a expiré" in response.content.decode()
    assert Ticket.objects.count() == 0


def _errors(response):
    assert response.status_code == 200
    return response.content.decode()


def test_missing_email_and_phone(client, kb):
    html = _errors(_post(client, _form(client), email="", phone=""))
    assert "Indiquez une adresse e-mail ou un numéro de téléphone" in html
    assert Ticket.objects.count() == 0


def test_malformed_email_and_phone(client, kb):
    html = _errors(_post(client, _form(client), email="lea@", phone="12"))
    assert "Saisissez une adresse e-mail valide" in html
    assert "Saisissez un numéro de téléphone valide" in html
    assert 'aria-invalid="true"' in html
    assert Ticket.objects.count() == 0


def test_text_too_long(client, kb, settings):
    html = _errors(_post(client, _form(client), message="a" * (settings.FORM_MAX_MESSAGE_CHARS + 1)))
    assert "Votre message est trop long" in html
    assert Ticket.objects.count() == 0


def test_file_of_30_mb_is_refused(client, kb):
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * (30 * 1024 * 1024), content_type="application/pdf")
    html = _errors(_post(client, _form(client), attachments=big))
    assert "« scan.pdf » est trop volumineux" in html
    assert Ticket.objects.count() == 0


def test_executable_renamed_pdf_is_refused(client, kb):
    elf = SimpleUploadedFile("facture.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, content_type="application/pdf")
    html = _errors(_post(client, _form(client), attachments=elf))
    assert "« facture.pdf » n’est pas vraiment un fichier PDF" in html
    assert Ticket.objects.count() == 0


def test_too_many_files(client, kb, settings):
    files = [
        SimpleUploadedFile(f"p{i}.pdf", PDF, content_type="application/pdf") for i in range(settings.FORM_MAX_FILES + 1)
    ]
    html = _errors(_post(client, _form(client), attachments=files))
    assert "au plus" in html
    assert Ticket.objects.count() == 0


def test_sms_answer_needs_consent_and_a_mobile(client, kb):
    html = _errors(_post(client, _form(client), email="", phone="01 23 45 67 89", preferred_channel="sms"))
    assert "Cochez cette case pour recevoir la réponse par SMS" in html
    assert "numéro de mobile" in html
    assert Ticket.objects.count() == 0


def test_honeypot_filled_by_a_robot_makes_nothing(client, kb):
    response = _post(client, _form(client), website="http://spam.example")
    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_submissions_are_rate_limited_per_ip(client, kb, settings):
    settings.PUBLIC_RATE_LIMITS = {**settings.PUBLIC_RATE_LIMITS, "submit": (2, 3600)}
    codes = [_post(client, _form(client), email=f"c{i}@example.org").status_code for i in range(3)]
    assert codes == [302, 302, 429]
    assert Ticket.objects.count() == 2


def test_sms_consent_is_recorded_and_acknowledged_by_sms(client, kb):
    response = _post(client, _form(client), email="", phone="06 12 34 56 78", preferred_channel="sms", sms_consent="on")
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.contact.sms_consent is True and ticket.contact.sms_consent_at is not None
    assert Outbox.objects.get(ticket=ticket, idempotency_key=f"ack:{ticket.pk}").channel == "sms"


def test_callback_request_is_a_phone_ticket_in_the_competent_queue(client, kb):
    token = _form(client, "/contact/cd99/rappel/", sujet="cd99/rsa-versement")
    response = client.post(
        "/contact/cd99/rappel/",
        {
            "submission": token,
            "name": "Paul Durand",
            "phone": "06 11 22 33 44",
            "slots": ["morning", "afternoon"],
            "postcode": "99100",
            "sujet": "cd99/rsa-versement",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "phone"
    assert ticket.topic.slug == "rsa-versement"
    assert ticket.service is not None and not ticket.service.is_triage
    callback = CallbackRequest.objects.get(ticket=ticket)
    assert callback.phone == "+33611223344" and callback.slots == ["morning", "afternoon"]
    assert "Créneaux" in ticket.messages.get().body_text


def test_callback_without_slot_or_phone(client, kb):
    token = _form(client, "/contact/cd99/rappel/")
    response = client.post("/contact/cd99/rappel/", {"submission": token, "name": "Paul", "phone": ""})
    html = response.content.decode()
    assert "Choisissez au moins un créneau" in html
    assert "Ce champ est obligatoire" in html
    assert Ticket.objects.count() == 0


def test_pages_may_not_be_framed_but_the_widget_only_by_its_origins(client, widget):
    own = client.get("/contact/cd99/")
    assert own["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in own["Content-Security-Policy"]
    framed = client.get(f"/w/{widget.key}/")
    assert framed.status_code == 200
    assert "X-Frame-Options" not in framed
    assert "frame-ancestors 'self' https://www.cd99.example" in framed["Content-Security-Policy"]
    assert client.get("/w/unknown-key/").status_code == 404


def test_widget_submission_records_the_widget(client, widget):
    token = _form(client, f"/w/{widget.key}/ecrire/")
    forged = _post(client, token, path=f"/w/{widget.key}/ecrire/", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403  # framed pages have no cookies: the Origin is checked instead
    assert Ticket.objects.count() == 0
    response = _post(client, token, path=f"/w/{widget.key}/ecrire/", headers={"Origin": "http://testserver"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/w/{widget.key}/merci/")
    assert FormSubmission.objects.get().widget == widget
