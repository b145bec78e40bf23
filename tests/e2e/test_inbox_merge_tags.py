"""An agent in a real browser merges a citizen's duplicate request into
their other one from the ticket page, then tags the result."""

import re

import pytest
from playwright.sync_api import expect

from contacts.models import Ticket, TicketEvent
from tests.e2e.test_inbox_agent import log_in
from tests.inbox.world import build_world


@pytest.fixture
def world(live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


@pytest.mark.slow
def test_agent_merges_a_duplicate_and_adds_a_tag(world, live_server, page, axe_check):
    source, target = world.ticket("rsa"), world.ticket("rsa2")
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/agents/demandes/{source.reference}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(source.reference)
    page.get_by_text("Fusionner dans…").click()
    axe_check(page)

    page.get_by_label("Fusionner dans").select_option(value=target.reference)
    page.get_by_role("button", name="Fusionner", exact=True).click()  # the browser asks for the confirmation
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None
    page.get_by_label(re.compile("^Je confirme")).check()
    page.get_by_role("button", name="Fusionner", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(f"Demande {source.reference} fusionnée dans celle-ci.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(target.reference)
    expect(page.get_by_text("je n'ai pas reçu mon RSA")).to_be_visible()
    expect(page.get_by_text(f"depuis {source.reference}")).to_be_visible()
    expect(page.get_by_role("link", name="releve.txt")).to_be_visible()

    page.get_by_label("Nouvelle étiquette").fill("  Relance CAF ")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Étiquette ajoutée.")
    expect(page.get_by_role("link", name="relance caf")).to_be_visible()
    expect(page.get_by_role("button", name="Retirer l’étiquette relance caf")).to_be_visible()
    axe_check(page)

    merged = Ticket.objects.get(pk=source.pk)
    assert merged.merged_into_id == target.pk and merged.status == Ticket.Status.CLOSED
    assert Ticket.objects.get(pk=target.pk).tags[-1] == "relance caf"
    assert TicketEvent.objects.filter(ticket=target, kind=TicketEvent.Kind.MERGED_FROM).count() == 1

    # The tag leads to the inbox filtered by it.
    page.get_by_role("link", name="relance caf").click()
    expect(page.get_by_label(re.compile("^Étiquette"))).to_have_value("relance caf")
    expect(page.get_by_role("link", name=target.reference)).to_be_visible()
    expect(page.get_by_role("link", name=world.ticket("apa").reference)).to_have_count(0)
