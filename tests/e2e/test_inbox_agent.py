"""An agent in a real browser: logs in, finds a routed ticket in the inbox,
answers with a template (the email waits in the outbox with its threading
headers), transfers with a reason; what they may not see stays out of reach."""

import re

import pytest
from playwright.sync_api import expect

from contacts.models import Outbox, Ticket, TicketEvent
from tests.inbox.world import PASSWORD, build_world


@pytest.fixture
def world(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/agents/")
    expect(page).to_have_url(re.compile(r"/agents/connexion/\?next="))
    expect(page.get_by_role("heading", name="Connexion des agents")).to_be_visible()
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes demandes")).to_be_visible()


@pytest.mark.slow
def test_agent_answers_with_a_template_and_transfers(world, live_server, page, axe_check):
    rsa = world.ticket("rsa")
    page.goto(f"{live_server.url}/agents/connexion/")
    axe_check(page)
    log_in(page, live_server, "alice")
    axe_check(page)

    # The routed ticket waits in "my services, unassigned".
    page.get_by_role("link", name=re.compile("Mes services, non attribuées")).click()
    expect(page.get_by_role("link", name=rsa.reference)).to_be_visible()

    # Searching updates the list in place (htmx), accents and plurals ignored.
    page.get_by_role("link", name=re.compile("^Toutes")).click()
    page.get_by_role("searchbox", name="Rechercher").fill("versements")
    expect(page.get_by_role("link", name=world.ticket("rsa2").reference)).to_have_count(0)
    expect(page.get_by_role("link", name=rsa.reference)).to_be_visible()
    assert "q=versements" in page.url
    axe_check(page)

    page.get_by_role("link", name=rsa.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(rsa.reference)
    expect(page.get_by_text("le versement est en retard")).to_be_visible()
    axe_check(page)

    # Template picker: the composer is filled with the rendered template.
    page.get_by_label("Modèle").select_option(label="★ Pièces à fournir")
    expect(page.get_by_label("Objet")).to_have_value(f"Pièces à fournir pour votre demande {rsa.reference}")
    expect(page.get_by_label("Réponse")).to_have_value(re.compile("Bonjour Marie Durand"))
    expect(page.get_by_label("Envoyer par")).to_have_value("email")
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_role("status")).to_contain_text("Votre réponse part vers l’usager.")

    row = Outbox.objects.get(ticket=rsa, message__isnull=False)
    first_id = rsa.messages.filter(direction="in").first().external_id
    assert row.channel == "email" and row.recipient == "usager1@citoyen.example"
    assert row.payload["in_reply_to"] == first_id and row.payload["references"] == [first_id]
    assert "Marie Durand" in row.payload["text"] and "{{" not in row.payload["text"]

    # Transfer: refused without a reason, done with one.
    page.get_by_text("Transférer à un autre service").click()
    page.get_by_label("Vers le service").select_option(label="Maison départementale des solidarités")
    page.get_by_role("button", name="Transférer", exact=True).click()  # the browser asks for the reason
    assert Ticket.objects.get(pk=rsa.pk).service == rsa.service
    page.get_by_label("Motif").fill("Aide d'urgence plutôt que RSA")
    page.get_by_role("button", name="Transférer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("La demande a été transférée.")
    expect(page.get_by_text("Motif : Aide d'urgence plutôt que RSA")).to_be_visible()
    event = TicketEvent.objects.get(ticket=rsa, kind=TicketEvent.Kind.TRANSFERRED)
    assert event.data["reason"] == "Aide d'urgence plutôt que RSA"
    assert Ticket.objects.get(pk=rsa.pk).service.slug == "solidarites"
    axe_check(page)


@pytest.mark.slow
def test_what_the_agent_may_not_see_is_out_of_reach(world, live_server, page):
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/agents/?view=all")
    expect(page.get_by_role("link", name=world.ticket("rsa").reference)).to_be_visible()
    for hidden in ("secret", "elsewhere"):  # sensitive topic of another service; another organisation
        reference = world.ticket(hidden).reference
        expect(page.get_by_role("link", name=reference)).to_have_count(0)
        response = page.goto(f"{live_server.url}/agents/demandes/{reference}/")
        assert response.status == 404
    response = page.goto(f"{live_server.url}/agents/?view=all&q={world.ticket('secret').reference}")
    expect(page.get_by_text("Aucune demande ici.")).to_be_visible()


@pytest.mark.slow
def test_a_template_with_a_missing_value_is_explained_in_the_composer(world, live_server, page):
    from kb.models import ReplyTemplate

    ReplyTemplate.objects.create(
        organisation=world.organisation,
        slug="code-postal",
        name="Code postal",
        body="Votre code : {{ contact.postcode }}",
    )
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/agents/demandes/{world.tickets['rsa'].reference}/")
    page.get_by_label("Modèle").select_option(label="Code postal")
    expect(page.get_by_role("alert")).to_contain_text("Le modèle « Code postal » ne peut pas servir pour cette demande")
    expect(page.get_by_label("Réponse")).to_have_value("")
