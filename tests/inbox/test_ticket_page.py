"""The ticket page: timeline, sanitised HTML, contact card, topic with its
article and suggested templates, in a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from contacts.models import Message, Ticket
from contacts.services import note, transfer
from kb.models import ReplyTemplate
from tests.inbox.world import inbound


def page(client, ticket):
    response = client.get(f"/agents/demandes/{ticket.reference}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_timeline_shows_messages_notes_and_events_in_order(world, login):
    alice = world.users["alice"]
    rsa = world.ticket("rsa")
    note(rsa, alice, "Vérifier le dossier CAF.")
    transfer(rsa, alice, world.organisation.services.get(slug="solidarites"), "Relève du fonds de solidarité")
    html = page(login(alice), rsa)
    timeline = html[html.index('class="timeline"') : html.index('id="composer"')]
    received = timeline.index("le versement est en retard")
    noted = timeline.index("Vérifier le dossier CAF.")
    moved = timeline.index("Motif : Relève du fonds de solidarité")
    assert received < noted < moved
    assert "Note interne" in timeline
    assert "Transférée" in timeline or "Transféré" in timeline
    assert "releve.txt" in timeline


@pytest.mark.django_db
def test_message_html_is_sanitised_again_on_the_way_out(world, login):
    rsa = world.ticket("rsa")
    Message.objects.create(
        ticket=rsa,
        direction="in",
        channel="email",
        body_text="texte",
        body_html=(
            '<p onclick="steal()">Bonjour <b>madame</b></p><script>alert(1)</script>'
            '<img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">lien</a>'
            '<style>body{display:none}</style><iframe src="https://evil.example"></iframe>'
        ),
    )
    response = login(world.users["alice"]).get(f"/agents/demandes/{rsa.reference}/")
    html = response.content.decode()
    assert "<p>Bonjour <b>madame</b></p>" in html
    for bad in ["<script>alert", "onclick", "tracker.example", "javascript:", "display:none", "<iframe"]:
        assert bad not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "img-src 'self' data:" in csp


@pytest.mark.django_db
def test_contact_card_lists_the_other_tickets_the_agent_may_see(world, login):
    rsa, rsa2 = world.ticket("rsa"), world.ticket("rsa2")
    # The same citizen's sensitive request stays hidden from another service.
    secret = Ticket.objects.get(pk=world.tickets["secret"].pk)
    Ticket.objects.filter(pk=secret.pk).update(contact=rsa.contact)
    html = page(login(world.users["alice"]), rsa)
    card = html[html.index('id="contact-title"') :]
    assert "Marie Durand" in card
    assert "usager1@citoyen.example" in card
    assert f'href="/agents/demandes/{rsa2.reference}/"' in card
    assert secret.reference not in html
    assert secret.reference in page(login(world.users["chloe"]), rsa)


@pytest.mark.django_db
def test_topic_article_and_suggested_templates(world, login):
    rsa = world.ticket("rsa")
    assert rsa.topic.slug == "rsa-versement"
    html = page(login(world.users["alice"]), rsa)
    side = html[html.index('id="topic-title"') :]
    assert escape(rsa.topic.title) in side
    assert '<div class="article"><p>' in side
    # Those of the topic and of its parent topic ("RSA").
    suggested = [t.name for t in ReplyTemplate.objects.filter(topics__in=[rsa.topic, rsa.topic.parent]).distinct()]
    assert {"Pièces à fournir", "RSA en cours de vérification"} <= set(suggested)
    assert suggested and all(escape(name) in side for name in suggested)
    # Suggested templates come first in the picker, marked with a star.
    picker = html[html.index('id="id_template"') : html.index("</select>", html.index('id="id_template"'))]
    first_option = picker.split("<option")[2]
    assert "★" in first_option and escape(suggested[0]) in first_option


@pytest.mark.django_db
def test_the_ticket_page_costs_a_constant_number_of_queries(world, login):
    from contacts.inbound import InboundAttachment
    from contacts.services import ingest

    client = login(world.users["alice"])
    rsa = world.ticket("rsa")
    page(client, rsa)

    def count():
        with CaptureQueriesContext(connection) as captured:
            page(client, rsa)
        return len(captured)

    before = count()
    for n in range(6):
        ingest(
            inbound(
                300 + n,
                subject=f"Re: [{rsa.reference}] suite",
                text=f"Encore un message {n}",
                sender_email="usager1@citoyen.example",
                attachments=[InboundAttachment(f"piece{n}.txt", "text/plain", f"piece {n}\n".encode())],
            )
        )
        note(rsa, world.users["alice"], f"note {n}")
    assert Ticket.objects.get(pk=rsa.pk).messages.count() >= 13
    assert count() == before


@pytest.mark.django_db
def test_the_picker_offers_the_templates_that_fit_the_channel(world, login):
    apa = world.ticket("apa")  # answered by SMS
    html = page(login(world.users["alice"]), apa)
    picker = html[html.index('id="id_template"') : html.index("</select>", html.index('id="id_template"'))]
    assert "Accusé de réception" in picker  # email, sms, chat, form
    assert "Pièces à fournir" not in picker  # email and form only


@pytest.mark.django_db
def test_an_answer_without_an_author_is_signed_by_the_service_not_an_error(world, login):
    # Answers sent by the system (no agent) have no author: the page names
    # the product instead of failing on the missing name.
    rsa = world.ticket("rsa")
    Message.objects.create(
        ticket=rsa, direction=Message.Direction.OUT, channel="email", body_text="Réponse automatique."
    )
    html = page(login(world.users["alice"]), rsa)
    answer = html[: html.index("Réponse automatique.")]
    assert answer[answer.rindex("<strong>") :].startswith("<strong>Aiguillage</strong>")
