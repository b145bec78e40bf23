"""Fixed-window rate limits on the public endpoints, counted in the cache
(Redis in production: one atomic INCR per hit, shared by every process)."""

import hashlib

from django.conf import settings
from django.core.cache import cache


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
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        count = 1
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
