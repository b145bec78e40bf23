"""The application's own Prometheus metrics: what went in, what went out.

Counters are incremented by the service functions once their transaction
has committed (``transaction.on_commit`` runs the increment at once outside
a transaction). Every series is created at import, so a channel that has
seen nothing yet reads 0 instead of being absent, and the hot path only
looks a child up in a plain dict: no label parsing, no database query.

The outbox backlog is not counted by hand: ``OutboxBacklog`` reads it from
the database when Prometheus scrapes (config/metrics.py), in two indexed
queries.
"""

import logging
from functools import partial

from django.db import DatabaseError, transaction
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from contacts.channels import Channel

logger = logging.getLogger(__name__)

INGEST_OUTCOMES = ("created", "threaded", "duplicate", "ignored")
DELIVERY_OUTCOMES = ("sent", "retried", "failed", "unknown")

messages_ingested = Counter(
    "aiguillage_messages_ingested_total",
    "Inbound messages handed to contacts.ingest, by channel and outcome (created, threaded, duplicate, ignored).",
    ["channel", "outcome"],
)
tickets_created = Counter(
    "aiguillage_tickets_created_total",
    "Tickets opened by an inbound message, by channel.",
    ["channel"],
)
outbox_deliveries = Counter(
    "aiguillage_outbox_deliveries_total",
    "Outbox delivery attempts by channel and outcome (sent, retried, failed, unknown after a worker crash).",
    ["channel", "outcome"],
)

_INGESTED = {
    (channel, outcome): messages_ingested.labels(channel, outcome)
    for channel in Channel.values
    for outcome in INGEST_OUTCOMES
}
_CREATED = {channel: tickets_created.labels(channel) for channel in Channel.values}
_DELIVERED = {
    (channel, outcome): outbox_deliveries.labels(channel, outcome)
    for channel in Channel.values
    for outcome in DELIVERY_OUTCOMES
}


def count_ingested(channel, outcome):
    """One message through ``ingest`` (after its commit)."""
    transaction.on_commit(partial(_ingested, channel, outcome))


def _ingested(channel, outcome):
    (_INGESTED.get((channel, outcome)) or messages_ingested.labels(channel, outcome)).inc()
    if outcome == "created":
        (_CREATED.get(channel) or tickets_created.labels(channel)).inc()


def count_delivery(channel, outcome):
    """One delivery attempt's outcome (after its commit)."""
    child = _DELIVERED.get((channel, outcome)) or outbox_deliveries.labels(channel, outcome)
    transaction.on_commit(child.inc)


class OutboxBacklog:
    """Scrape-time gauges of the outbox: rows waiting per channel, and how
    late the oldest row already due is (0 when none is due)."""

    def describe(self):
        return []

    def collect(self):
        from contacts.models import Outbox

        now = timezone.now()
        try:
            per_channel = dict(
                Outbox.objects.filter(status=Outbox.Status.QUEUED)
                .values_list("channel")
                .annotate(rows=Count("id"))
                .order_by()
            )
            oldest_due = Outbox.objects.filter(status=Outbox.Status.QUEUED, next_attempt_at__lte=now).aggregate(
                oldest=Min("next_attempt_at")
            )["oldest"]
        except DatabaseError:
            # The database is down (/healthz says so): the other metrics still answer.
            logger.warning("outbox backlog not measured", exc_info=True)
            return
        queued = GaugeMetricFamily(
            "aiguillage_outbox_queued", "Outbox rows waiting to be delivered, by channel.", labels=["channel"]
        )
        for channel in Channel.values:
            queued.add_metric([channel], per_channel.get(channel, 0))
        yield queued
        yield GaugeMetricFamily(
            "aiguillage_outbox_oldest_due_seconds",
            "How long the oldest queued outbox row has been due (0: none is late).",
            value=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        )
