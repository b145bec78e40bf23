"""Live updates in real browsers, against uvicorn on the Redis channel layer:
a new ticket appears in an open inbox without reloading, and an agent sees
that a colleague is on the same ticket, then writing an answer."""

import re

import pytest
from playwright.sync_api import expect

from contacts.services import ingest
from tests.e2e.conftest import ARTEFACTS
from tests.inbox.asgi_server import asgi_server, elsewhere
from tests.inbox.world import PASSWORD, build_world, inbound

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path, transactional_db, settings):
    if not settings.REDIS_URL:
        pytest.skip("live updates across processes need REDIS_URL")
    # Real password hashing: the server process checks the passwords.
    world = build_world()
    with asgi_server(tmp_path / "uvicorn.log") as url:
        yield url, world


@pytest.fixture
def new_page(browser, request):
    contexts = []

    def make():
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    for n, context in enumerate(contexts):
        try:
            for page in context.pages:
                page.screenshot(path=str(ARTEFACTS / f"{name}-{n}.png"), full_page=True)
        finally:
            context.close()


def log_in(page, url, username):
    page.goto(f"{url}/agents/connexion/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes demandes")).to_be_visible()


def test_a_new_ticket_appears_without_reloading(server, new_page, axe_check):
    url, world = server
    page = new_page()
    log_in(page, url, "alice")
    page.goto(f"{url}/agents/?view=all")
    expect(page.locator("#live")).to_have_attribute("data-connected", "1")
    count = page.locator('.count[data-view="unassigned"]')  # "all", the whole history, is not counted
    expect(count).to_have_text(re.compile(r"^\d+$"))
    before = int(count.inner_text())

    created = elsewhere(
        lambda: ingest(
            inbound(60, subject="Aide au chauffage", text="Mon RSA n'a pas été versé, je ne peux pas payer.")
        )
    )
    reference = created.ticket.reference
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text(f"Du nouveau sur {reference}")
    expect(count).to_have_text(str(before + 1))
    # Nothing was reloaded: the page still has the script state of its first load.
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    axe_check(page)


def test_two_agents_on_one_ticket_see_each_other(server, new_page, axe_check):
    url, world = server
    reference = world.tickets["rsa"].reference
    alice, bruno = new_page(), new_page()
    log_in(alice, url, "alice")
    log_in(bruno, url, "bruno")
    alice.goto(f"{url}/agents/demandes/{reference}/")
    expect(alice.locator("#live")).to_have_attribute("data-connected", "1")
    bruno.goto(f"{url}/agents/demandes/{reference}/")

    expect(alice.locator("#presence")).to_have_text("Bruno Petit consulte aussi cette demande.")
    expect(bruno.locator("#presence")).to_have_text("Alice Martin consulte aussi cette demande.")
    bruno.get_by_label("Réponse").press_sequentially("Bonjour")
    expect(alice.locator("#presence")).to_have_text("Bruno Petit est en train de répondre à cette demande.")
    axe_check(alice)

    # Bruno answers: Alice's page says the request changed.
    bruno.get_by_role("button", name="Envoyer la réponse").click()
    expect(alice.locator("#live-status")).to_contain_text("Cette demande a changé depuis son ouverture")
    bruno.close()
    expect(alice.locator("#presence")).to_be_hidden()
