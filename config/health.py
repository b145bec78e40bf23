"""GET /healthz: the state of the database, Redis and Celery, as JSON."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


def check_redis():
    if not settings.REDIS_URL:
        return {"status": "ok", "detail": "not configured (embedded default)"}
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {"status": "ok"}


def check_celery():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "detail": "eager (tasks run in the web process)"}
    replies = celery_app.control.ping(timeout=0.5) or []
    if not replies:
        return {"status": "error", "detail": "no worker answered"}
    return {"status": "ok", "workers": len(replies)}


CHECKS = {"database": check_database, "redis": check_redis, "celery": check_celery}


@never_cache
def healthz(request):
    body = {}
    for name, check in CHECKS.items():
        try:
            body[name] = check()
        except Exception as exc:  # a health check reports every failure
            body[name] = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}
    healthy = all(part["status"] == "ok" for part in body.values())
    body["status"] = "ok" if healthy else "error"
    return JsonResponse(body, status=200 if healthy else 503)
