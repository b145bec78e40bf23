"""Fixed-window rate limits on the public endpoints, counted in the cache
(Redis in production: one atomic INCR per hit, shared by every process).
While Redis is unreachable nothing is counted and nothing refused."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def client_ip(request):
    """The client's address: REMOTE_ADDR, or, when the deployment says a
    trusted proxy sets X-Forwarded-For, the address that proxy appended (the
    last one: the first ones are whatever the client wrote)."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def hit(scope, identity, limit, window_seconds):
    """Count one hit; False when ``identity`` already made ``limit`` hits in
    this ``scope`` within the window."""
    if not identity or not limit:
        return True
    digest = hashlib.sha256(str(identity).lower().encode()).hexdigest()[:32]
    key = f"rl:{scope}:{digest}"
    try:
        cache.add(key, 0, timeout=window_seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window_seconds)
            count = 1
    except (RedisError, OSError) as error:
        # Redis down: a limit that cannot be counted lets the request
        # through, rather than refusing every citizen until it is back.
        logger.warning("rate limit %s not counted, the cache is unreachable: %s", scope, error)
        return True
    return count <= limit


def allow_ip(request, scope):
    limit, window = settings.PUBLIC_RATE_LIMITS[scope]
    return hit(f"{scope}:ip", client_ip(request), limit, window)


def allow_contact(scope, identity):
    limit, window = settings.PUBLIC_RATE_LIMITS[f"{scope}:contact"]
    return hit(f"{scope}:contact", identity, limit, window)


def body_too_large(request):
    """A POST body over the limit, or of unknown length, is refused before
    anything reads it."""
    if request.method != "POST":
        return False
    try:
        return not request.META.get("CONTENT_LENGTH") or int(request.META["CONTENT_LENGTH"]) > (
            settings.FORM_MAX_REQUEST_BYTES
        )
    except ValueError:
        return True
