"""Answering and handling from the ticket page: every action goes through
the ticket services; bad input gets a clear French error and changes nothing."""

import re

import pytest
from django.utils.html import escape

from contacts.models import Outbox, Ticket, TicketEvent
from kb.models import ReplyTemplate, Topic


def url(ticket, action=""):
    return f"/agents/demandes/{ticket.reference}/{action + '/' if action else ''}"


def field_value(html, name):
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    if match:
        return match.group(1).strip()
    match = re.search(rf'<input type="text" name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


@pytest.mark.django_db
def test_answer_with_a_template_by_email_with_threading_headers(world, login):
    alice = world.users["alice"]
    client = login(alice)
    rsa = world.ticket("rsa")
    template = ReplyTemplate.objects.get(organisation=world.organisation, slug="pieces-a-fournir")

    preview = client.get(url(rsa, "modele"), {"template": template.pk, "channel": "email"}, HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "<html" not in html
    text = field_value(html, "text")
    subject = field_value(html, "subject")
    assert subject == escape(f"Pièces à fournir pour votre demande {rsa.reference}")
    assert "Bonjour Marie Durand" in text
    assert "Alice" in text and "Direction de l&#x27;insertion" in text
    assert "{{" not in text

    response = client.post(
        url(rsa, "repondre"),
        {"channel": "email", "subject": "Pièces à fournir", "text": "Bonjour Marie Durand,\nvoici la liste."},
    )
    assert response.status_code == 302
    assert "Votre réponse part vers l’usager." in client.get(url(rsa)).content.decode()
    row = Outbox.objects.get(ticket=rsa, message__isnull=False)
    assert row.channel == "email"
    assert row.recipient == "usager1@citoyen.example"
    first_id = rsa.messages.filter(direction="in").first().external_id
    assert row.payload["in_reply_to"] == first_id
    assert row.payload["references"] == [first_id]
    assert rsa.reference in row.payload["subject"]
    ticket = Ticket.objects.get(pk=rsa.pk)
    assert ticket.status == Ticket.Status.OPEN and ticket.first_response_at is not None
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLIED, actor=alice).exists()


@pytest.mark.django_db
def test_the_channel_defaults_to_the_origin_and_can_be_changed(world, login):
    client = login(world.users["alice"])
    apa = world.ticket("apa")  # came by SMS, consent given, no email
    html = client.get(url(apa)).content.decode()
    options = re.findall(r'<option value="(\w+)"( selected)?>', html.split('name="channel"')[1].split("</select>")[0])
    assert options[0] == ("sms", " selected")
    client.post(url(apa, "repondre"), {"channel": "sms", "text": "Bonjour, voici la marche à suivre."})
    assert Outbox.objects.get(ticket=apa, message__isnull=False).channel == "sms"

    # The citizen has no email address: email is not offered, and forcing it is refused in French.
    refused = client.post(url(apa, "repondre"), {"channel": "email", "text": "Bonjour"})
    assert refused.status_code == 400
    assert "Sélectionnez un choix valide" in refused.content.decode()
    assert Outbox.objects.filter(ticket=apa, message__isnull=False).count() == 1


@pytest.mark.django_db
def test_without_email_or_sms_the_answer_waits_on_the_follow_up_page(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    rsa.contact.email = ""
    rsa.contact.save()
    html = client.get(url(rsa)).content.decode()
    choices = re.findall(r'<option value="(\w+)"', html.split('name="channel"')[1].split("</select>")[0])
    assert choices == ["form"]
    assert "Page de suivi uniquement" in html
    refused = client.post(url(rsa, "repondre"), {"channel": "email", "text": "Bonjour"})
    assert refused.status_code == 400
    assert "Sélectionnez un choix valide" in refused.content.decode()
    assert client.post(url(rsa, "repondre"), {"channel": "form", "text": "Bonjour"}).status_code == 302
    answer = rsa.messages.get(direction="out")
    assert answer.channel == "form"
    assert not Outbox.objects.filter(ticket=rsa, channel="email", message=answer).exists()


@pytest.mark.django_db
def test_empty_answer_and_note_are_refused(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    response = client.post(url(rsa, "repondre"), {"channel": "email", "text": "   "})
    assert response.status_code == 400
    assert "La réponse est vide." in response.content.decode()
    response = client.post(url(rsa, "note"), {"text": ""})
    assert response.status_code == 400
    assert "La note est vide." in response.content.decode()
    assert not rsa.messages.filter(direction="out").exists()


@pytest.mark.django_db
def test_a_template_with_a_missing_value_says_which(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    template = ReplyTemplate.objects.create(
        organisation=world.organisation,
        slug="code-postal",
        name="Code postal",
        body="Votre code : {{ contact.postcode }}",
    )
    response = client.get(url(rsa, "modele"), {"template": template.pk})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Le modèle « Code postal » ne peut pas servir pour cette demande" in html
    assert "contact.postcode" in html
    # Another organisation's template is not offered.
    other = ReplyTemplate.objects.create(organisation=world.other, slug="x", name="Autre", body="x")
    response = client.get(url(rsa, "modele"), {"template": other.pk})
    assert response.status_code == 400
    assert "Choisissez l’un des modèles proposés." in response.content.decode()


@pytest.mark.django_db
def test_internal_note(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    assert client.post(url(rsa, "note"), {"text": "Appeler la CAF demain."}).status_code == 302
    note = rsa.messages.get(is_internal=True)
    assert note.body_text == "Appeler la CAF demain." and note.author == world.users["alice"]
    assert not Outbox.objects.filter(message=note).exists()


@pytest.mark.django_db
def test_claim_and_a_colleague_who_claims_too_late(world, login, client):
    from django.test import Client

    rsa = world.ticket("rsa")
    alice_client = login(world.users["alice"])
    bruno_client = Client()
    bruno_client.force_login(world.users["bruno"])
    bruno_page = bruno_client.get(url(rsa))  # both opened the page
    assert "Prendre cette demande" in bruno_page.content.decode()
    assert alice_client.post(url(rsa, "prendre")).status_code == 302
    late = bruno_client.post(url(rsa, "prendre"))
    assert late.status_code == 409
    assert "Alice Martin a déjà pris cette demande." in late.content.decode()
    assert Ticket.objects.get(pk=rsa.pk).assignee == world.users["alice"]
    assert TicketEvent.objects.filter(ticket=rsa, kind=TicketEvent.Kind.ASSIGNED).count() == 1


@pytest.mark.django_db
def test_transfer_needs_a_reason_and_is_counted(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    solidarites = world.organisation.services.get(slug="solidarites")
    refused = client.post(url(rsa, "transferer"), {"service": solidarites.pk, "reason": "  "})
    assert refused.status_code == 400
    assert "Un transfert doit être motivé." in refused.content.decode()
    assert Ticket.objects.get(pk=rsa.pk).service == rsa.service

    done = client.post(url(rsa, "transferer"), {"service": solidarites.pk, "reason": "Aide d'urgence, pas le RSA"})
    assert done.status_code == 302
    ticket = Ticket.objects.get(pk=rsa.pk)
    assert ticket.service == solidarites
    event = ticket.events.get(kind=TicketEvent.Kind.TRANSFERRED)
    assert event.data["reason"] == "Aide d'urgence, pas le RSA" and event.actor == world.users["alice"]

    again = client.post(url(rsa, "transferer"), {"service": solidarites.pk, "reason": "encore"})
    assert again.status_code == 400
    assert "déjà" in again.content.decode()
    other_service = world.other.services.get()
    assert client.post(url(rsa, "transferer"), {"service": other_service.pk, "reason": "x"}).status_code == 400


@pytest.mark.django_db
def test_giving_a_ticket_to_another_agent(world, login):
    rsa = world.ticket("rsa")
    Ticket.objects.filter(pk=rsa.pk).update(assignee=world.users["alice"])
    bruno = login(world.users["bruno"])
    # An agent cannot take a colleague's ticket away.
    response = bruno.post(url(rsa, "attribuer"), {"assignee": world.users["bruno"].pk, "reason": "Je m'en occupe"})
    assert response.status_code == 400
    assert "seul un superviseur" in response.content.decode()
    # Without a reason: refused.
    alice = login(world.users["alice"])
    response = alice.post(url(rsa, "attribuer"), {"assignee": world.users["bruno"].pk, "reason": ""})
    assert response.status_code == 400
    assert "Un transfert doit être motivé." in response.content.decode()
    # Alice passes her own ticket on; a supervisor may reassign anyone's.
    assert (
        alice.post(url(rsa, "attribuer"), {"assignee": world.users["bruno"].pk, "reason": "Congés"}).status_code == 302
    )
    assert Ticket.objects.get(pk=rsa.pk).assignee == world.users["bruno"]
    sam = login(world.users["sam"])
    assert sam.post(url(rsa, "attribuer"), {"assignee": world.users["alice"].pk, "reason": "Retour"}).status_code == 302
    assert Ticket.objects.get(pk=rsa.pk).assignee == world.users["alice"]
    transfers = TicketEvent.objects.filter(ticket=rsa, kind=TicketEvent.Kind.TRANSFERRED).order_by("pk")
    assert [e.data["reason"] for e in transfers] == ["Congés", "Retour"]
    assert transfers[0].data["to_agent"] == "Bruno Petit"
    # An agent of another organisation is not a choice.
    response = sam.post(url(rsa, "attribuer"), {"assignee": world.users["olga"].pk, "reason": "x"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_status_priority_and_topic(world, login):
    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    assert client.post(url(rsa, "statut"), {"status": "pending"}).status_code == 302
    assert Ticket.objects.get(pk=rsa.pk).status == "pending"
    assert client.post(url(rsa, "statut"), {"status": "closed"}).status_code == 302
    refused = client.post(url(rsa, "statut"), {"status": "open"})
    assert refused.status_code == 400
    assert "Une demande ne peut pas passer de « Close » à « En cours »." in refused.content.decode()
    assert Ticket.objects.get(pk=rsa.pk).status == "closed"

    assert client.post(url(rsa, "priorite"), {"priority": "high"}).status_code == 302
    ticket = Ticket.objects.get(pk=rsa.pk)
    assert ticket.priority == "high"
    assert ticket.events.get(kind=TicketEvent.Kind.PRIORITY_CHANGED).data == {"previous": "normal", "priority": "high"}

    apa_topic = Topic.objects.get(organisation=world.organisation, slug="apa")
    assert client.post(url(rsa, "sujet"), {"topic": apa_topic.pk}).status_code == 302
    ticket = Ticket.objects.get(pk=rsa.pk)
    assert ticket.topic == apa_topic
    corrected = ticket.events.get(kind=TicketEvent.Kind.CORRECTED)
    assert corrected.data == {"from_topic": "rsa-versement", "to_topic": "apa"}
    assert client.post(url(rsa, "priorite"), {"priority": "énorme"}).status_code == 400


@pytest.mark.django_db
def test_get_on_an_action_is_refused(world, login):
    client = login(world.users["alice"])
    assert client.get(url(world.ticket("rsa"), "prendre")).status_code == 405


@pytest.mark.django_db
def test_mentions_in_a_note_are_highlighted(world, login):
    from contacts.inbox.mentions import mentioned_agents

    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    text = "Voir avec @Bruno et @olga, pas @inconnu <b>vite</b> (mail: x@y.fr)"
    assert [u.username for u in mentioned_agents(world.organisation, text)] == ["bruno"]  # olga: another organisation
    assert client.post(url(rsa, "note"), {"text": text}).status_code == 302
    html = client.get(url(rsa)).content.decode()
    assert '<strong class="mention">@Bruno</strong>' in html
    assert "&lt;b&gt;vite&lt;/b&gt;" in html
    assert '<strong class="mention">@y.fr' not in html


@pytest.mark.django_db
def test_documents_go_with_an_email_answer_only(world, login, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.FORM_MAX_FILE_BYTES = 1024 * 1024
    client = login(world.users["alice"])
    rsa, apa = world.ticket("rsa"), world.ticket("apa")

    def upload(name="liste.txt", content=b"Liste des pieces\n"):
        return SimpleUploadedFile(name, content, content_type="text/plain")

    response = client.post(
        url(rsa, "repondre"),
        {"channel": "email", "text": "Voici la liste.", "documents": [upload(), upload("formulaire.txt")]},
    )
    assert response.status_code == 302
    message = rsa.messages.get(direction="out")
    assert sorted(a.filename for a in message.attachments.all()) == ["formulaire.txt", "liste.txt"]
    row = Outbox.objects.get(message=message)
    assert sorted(row.payload["attachments"]) == sorted(a.pk for a in message.attachments.all())

    by_sms = client.post(url(apa, "repondre"), {"channel": "sms", "text": "Bonjour", "documents": [upload()]})
    assert by_sms.status_code == 400
    assert "Les documents ne peuvent être envoyés que par courriel." in by_sms.content.decode()
    assert not apa.messages.filter(direction="out").exists()

    too_big = client.post(
        url(rsa, "repondre"),
        {"channel": "email", "text": "Bonjour", "documents": [upload("gros.txt", b"x" * (1024 * 1024 + 1))]},
    )
    assert too_big.status_code == 400
    assert "« gros.txt » est trop volumineux (1 Mo au plus)." in too_big.content.decode()
    assert rsa.messages.filter(direction="out").count() == 1
