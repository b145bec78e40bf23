"""Rate limits while Redis, where they are counted, is unreachable: nothing
is counted and nothing refused (tests/faults/test_redis.py stops a real
Redis under the running server; here the cache points at a closed port)."""

import uuid

import pytest

from channels_app.portal import ratelimit
from contacts.models import Ticket
from tests.support.private_services import free_port


@pytest.fixture
def unreachable_cache(settings):
    reachable = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    yield
    settings.CACHES = reachable  # before the portal's fixtures clear the cache


def test_a_limit_that_cannot_be_counted_lets_requests_through(unreachable_cache, caplog):
    assert all(ratelimit.hit("submit:ip", "192.0.2.1", 1, 60) for _ in range(3))
    assert "not counted, the cache is unreachable" in caplog.text


def test_the_form_api_takes_requests_while_redis_is_down(client, widget, unreachable_cache):
    for n in range(3):
        response = client.post(
            f"/api/v1/widgets/{widget.key}/requests/",
            {
                "submission_id": str(uuid.uuid4()),
                "name": "Léa Martin",
                "email": f"lea{n}@example.org",
                "message": "Mon RSA n'a pas été versé.",
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 3
