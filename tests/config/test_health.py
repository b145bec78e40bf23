import pytest
from django.conf import settings


@pytest.mark.django_db
def test_healthz_reports_database_and_redis(client, eager_celery):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["redis"]["status"] == "ok"
    assert body["celery"]["status"] == "ok"


@pytest.mark.django_db
def test_healthz_says_when_no_celery_worker_answers(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs the Redis broker")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["celery"] == {"status": "error", "detail": "no worker answered"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_redis(client, settings, eager_celery):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"]["status"] == "error"
    assert "ConnectionError" in response.json()["redis"]["detail"]


def test_tests_run_on_postgresql_and_redis():
    # The README's test command points the suite at the real services.
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.REDIS_URL.startswith("redis://")
