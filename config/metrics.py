"""``/metrics``: the Prometheus exposition, for the monitoring only.

Served to a client address within ``METRICS_ALLOWED_IPS`` (loopback by
default) or to a request carrying ``Authorization: Bearer METRICS_TOKEN``;
anyone else gets 403. A request that came through a proxy
(``X-Forwarded-For``) is only judged by its address when the deployment
trusts that header (``TRUST_X_FORWARDED_FOR``): otherwise the address seen
would be the proxy's own, loopback, for every visitor on the internet.

With ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client keeps each
process's counters in that directory and the page adds up every process of
the host (web workers, Celery workers, the mail listener); without it, the
page shows the answering process's own. The scrape-time gauges (outbox
backlog) are read from the database on each scrape.
"""

import hmac
import ipaddress
import os

import prometheus_client
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import multiprocess

from channels_app.portal.ratelimit import client_ip
from contacts.metrics import OutboxBacklog

_scrape_time = prometheus_client.CollectorRegistry(auto_describe=False)
_scrape_time.register(OutboxBacklog())


def allowed(request):
    """True for a valid bearer token, or an address of the allowed networks."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    if "HTTP_X_FORWARDED_FOR" in request.META and not settings.TRUST_X_FORWARDED_FOR:
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def _process_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@never_cache
@require_safe
def metrics(request):
    if not allowed(request):
        return HttpResponseForbidden(_("Access to the metrics is refused."), content_type="text/plain; charset=utf-8")
    body = prometheus_client.generate_latest(_process_registry()) + prometheus_client.generate_latest(_scrape_time)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
