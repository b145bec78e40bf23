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
