"""The chat in a real browser, against uvicorn on the Redis channel layer."""

from pathlib import Path

import pytest
from django.conf import settings

from channels_app.models import Conversation
from kb.importer import import_files
from tests.inbox.asgi_server import asgi_server

pytestmark = [pytest.mark.slow]

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.fixture
def server(tmp_path, transactional_db):
    if not settings.REDIS_URL:
        pytest.skip("the chat across processes needs REDIS_URL")
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    with asgi_server(tmp_path / "uvicorn.log") as url:
        yield url


def test_the_assistant_answers_and_a_reload_resumes(server, page, axe_check):
    page.goto(f"{server}/contact/cd99/discussion/")
    log = page.get_by_role("list", name="Messages")
    assert "Bonjour" in log.locator("li").first.inner_text(timeout=15_000)
    page.get_by_label("Votre message").fill("Mon RSA n'a pas été versé ce mois-ci")
    page.keyboard.press("Enter")
    page.wait_for_selector("li.aig-assistant >> nth=1")
    answer = page.locator("li.aig-assistant").nth(1)
    assert answer.get_by_role("button", name="Parler à un agent").is_visible()
    axe_check(page)

    page.reload()
    page.wait_for_selector("li.aig-assistant >> nth=1")
    assert page.locator("li.aig-citizen").inner_text().endswith("Mon RSA n'a pas été versé ce mois-ci")
    assert Conversation.objects.count() == 1  # resumed, not started again


def test_the_chat_widget_on_a_page_of_another_site(server, page, axe_check, other_origin):
    from channels_app.models import Widget
    from kb.models import Organisation

    widget = Widget.objects.create(
        organisation=Organisation.objects.get(slug="cd99"),
        name="Commune",
        key="chat-site",
        allowed_origins=[other_origin.url],
    )
    (other_origin.folder / "index.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><title>Commune</title></head><body><main><h1>Nous contacter</h1>'
        f'<div data-aiguillage-chat="{widget.key}"></div>'
        f'<script src="{server}/static/chat/chat.js"></script></main></body></html>',
        encoding="utf-8",
    )
    page.goto(f"{other_origin.url}/index.html")
    page.wait_for_selector("li.aig-assistant")
    page.get_by_label("Votre message").fill("carte grise")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_selector("li.aig-citizen")
    page.wait_for_selector("li.aig-assistant >> nth=1")
    page.get_by_role("button", name="Parler à un agent").last.click()
    page.get_by_label("Adresse e-mail").fill("lea@example.org")
    page.locator(".aig-chat-handover").get_by_role("button", name="Parler à un agent").click()
    page.wait_for_selector("li.aig-system")
    assert (
        "référence" in page.locator("li.aig-system").inner_text()
        or "agent" in page.locator("li.aig-system").inner_text()
    )
    axe_check(page)
    assert Conversation.objects.get().ticket is not None


def test_a_citizen_and_an_agent_talk(server, browser, page, tmp_path):
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    from contacts.models import AgentProfile
    from kb.models import Organisation, Service
    from tests.support.processes import celery_worker

    organisation = Organisation.objects.get(slug="cd99")
    agent = get_user_model().objects.create_user("agent-chat", password="mot-de-passe-agent")
    AgentProfile.objects.create(user=agent, organisation=organisation).services.set(
        Service.objects.filter(organisation=organisation)
    )
    with celery_worker(tmp_path / "celery.log"):
        page.goto(f"{server}/contact/cd99/discussion/")
        page.wait_for_selector("li.aig-assistant")
        page.get_by_label("Votre message").fill("Mon RSA n'a pas été versé ce mois-ci")
        page.keyboard.press("Enter")
        page.wait_for_selector("li.aig-assistant >> nth=1")
        page.get_by_role("button", name="Parler à un agent").last.click()
        page.get_by_label("Adresse e-mail").fill("lea@example.org")
        page.locator(".aig-chat-handover").get_by_role("button", name="Parler à un agent").click()
        page.wait_for_selector("li.aig-system")
        ticket = Conversation.objects.get().ticket

        context = browser.new_context(locale="fr-FR")
        agent_page = context.new_page()
        agent_page.set_default_timeout(15_000)
        agent_page.goto(f"{server}/agents/connexion/")
        agent_page.get_by_label("Nom d’utilisateur").fill("agent-chat")
        agent_page.get_by_label("Mot de passe").fill("mot-de-passe-agent")
        agent_page.get_by_role("button", name="Se connecter").click()
        agent_page.goto(f"{server}/agents/demandes/{ticket.reference}/")
        agent_page.get_by_role("button", name="Répondre dans la discussion").click()
        expect(agent_page.locator("#chat-status")).to_contain_text("agent-chat")
        agent_page.get_by_label("Envoyer par").select_option("chat")
        agent_page.get_by_label("Réponse").fill("Bonjour, je regarde votre dossier.")
        agent_page.locator("#composer").get_by_role("button", name="Envoyer la réponse").click()

        expect(page.locator("li.aig-agent")).to_contain_text("Bonjour, je regarde votre dossier.", timeout=20_000)
        assert "agent-chat" in page.locator("li.aig-system").last.inner_text()
        context.close()
