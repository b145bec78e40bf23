import pytest
from django.conf import settings

from kb.models import Organisation, Service


@pytest.fixture
def organisation(db):
    organisation = Organisation.objects.create(slug="cd99", name="Département de Seine-et-Ornain", kind="departement")
    Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True, sla_hours=48)
    Service.objects.create(organisation=organisation, slug="insertion", name="Insertion", sla_hours=72)
    return organisation


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager_celery(settings):
    """Run Celery tasks in-process for this test (delivery after commit)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


def pytest_configure(config):
    # A full garbage collection per knowledge-base change (config.memory)
    # only costs time in the test process, which builds hundreds of them.
    settings.GC_FREEZE = False


def pytest_report_header(config):
    return f"database: {settings.DATABASES['default']['ENGINE']}, redis: {settings.REDIS_URL or 'none'}"


@pytest.fixture(scope="session", autouse=True)
def _clean_broker():
    """Start from an empty test Redis database (broker, cache, channel layer)."""
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.flushdb()
        client.close()


@pytest.fixture(autouse=True)
def _fresh_matcher():
    """Each test's database starts over, and so do knowledge-base revisions:
    forget the matcher built for another test."""
    from channels_app.portal import search
    from kb import revision
    from routing import matcher

    matcher.reset_cache()
    search.reset_cache()
    revision.forget()


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's synchronous API keeps an event loop
    in the test thread for the rest of the session, which other tests'
    async_to_sync calls (live updates, chat pushes) cannot share."""
    browser = [item for item in items if "/tests/e2e/" in str(item.path)]
    others = [item for item in items if "/tests/e2e/" not in str(item.path)]
    items[:] = others + browser
