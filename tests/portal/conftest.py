from pathlib import Path

import pytest
from django.core.cache import cache

from channels_app.models import Widget
from kb.importer import import_files
from kb.models import Organisation

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Rate-limit counters live in the cache (Redis): start each test anew."""
    cache.clear()
    from channels_app.portal import search

    search.reset_cache()
    yield
    cache.clear()


@pytest.fixture
def kb(db):
    import_files([DATASETS / "cd99.yaml", DATASETS / "partners.yaml"])
    return Organisation.objects.get(slug="cd99")


@pytest.fixture
def widget(kb):
    return Widget.objects.create(
        organisation=kb, name="Site du département", key="cle-site", allowed_origins=["https://www.cd99.example"]
    )


@pytest.fixture
def form_token(client):
    """A fresh submission token, as the form page hands it out."""
    from channels_app.portal.submissions import new_submission_token

    return new_submission_token
