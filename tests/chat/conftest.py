from pathlib import Path

import pytest
from django.conf import settings

from channels_app.models import Widget
from kb.importer import import_files
from kb.models import Organisation
from tests.chat.sockets import SITE
from tests.inbox.asgi_server import asgi_server

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.fixture
def server(tmp_path, transactional_db):
    if not settings.REDIS_URL:
        pytest.skip("the chat across processes needs REDIS_URL")
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    organisation = Organisation.objects.get(slug="cd99")
    widget = Widget.objects.create(organisation=organisation, name="Commune", key="chat-test", allowed_origins=[SITE])
    with asgi_server(tmp_path / "uvicorn.log") as url:
        yield url, organisation, widget
