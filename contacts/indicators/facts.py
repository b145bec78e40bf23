"""A ticket's fact row, computed from the ticket and its events with the
indicators' own definitions (compute.py, clock.py): the one place that
turns tickets into TicketFact rows, for the rebuild and the incremental
refresh alike."""

import datetime

from django.db.models import Count, Max, Min

from contacts.indicators import compute
from contacts.indicators.clock import Epoch
from contacts.indicators.models import TicketFact, score_field


def compute_facts(tickets, calendars):
    """Unsaved TicketFact rows of the tickets of this queryset."""
    tickets = tickets.order_by()
    ids = tickets.values("pk")
    bounds = tickets.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    within = (bounds["low"], bounds["high"])
    rows = tickets.annotate(
        corrected=compute.corrected_q(within),
        resolved_once=compute.resolved_once_q(within),
        reopened=compute.reopened_q(within),
        acknowledged=compute.acknowledged_q(within),
    ).values_list(
        "pk",
        "organisation_id",
        Epoch("created_at"),
        "service_id",
        "topic_id",
        "channel",
        "corrected",
        "resolved_once",
        "reopened",
        "acknowledged",
        "priority",
        "status",
        Epoch("first_response_at"),
        "due_at",
        Epoch("due_at"),
    )
    rows = list(rows)
    if not rows:
        return []
    transfers = compute.transfer_counts(ids, within)
    hours = compute.ticket_hours(tickets, calendars, within)
    scores = {}
    for ticket_id, score, n in (
        compute.ratings_of(ids, within).order_by().values_list("ticket_id", "score").annotate(n=Count("pk"))
    ):
        scores.setdefault(ticket_id, {})[score] = n
    facts = []
    for row in rows:
        pk, organisation_id, created, service_id, topic_id, channel, corrected, resolved_once, reopened = row[:9]
        acknowledged, priority, status, first, due_at, due = row[9:]
        clock = calendars[organisation_id]
        local = datetime.datetime.fromtimestamp(created, clock.tz)
        first_hours, resolution_hours, _channel = hours[pk]
        fact = TicketFact(
            ticket_id=pk,
            organisation_id=organisation_id,
            day=local.date(),
            hour=local.hour,
            service_id=service_id,
            topic_id=topic_id,
            channel=channel,
            transfers=transfers.get(pk, 0),
            corrected=corrected,
            resolved_once=resolved_once,
            reopened=reopened,
            first_response_hours=first_hours,
            resolution_hours=resolution_hours,
            priority=priority,
            waiting=first is None and status in compute.WAITING_FOR_US,
            due_at=due_at,
            due_day=due_at.astimezone(clock.tz).date() if due_at is not None else None,
            sla_met=compute.sla_met(first, due),
            announced_met=compute.announced_met(first, due, clock.tz),
            acknowledged=acknowledged,
            within_working_days=compute.within_working_days(created, first, clock),
            first_response_minutes=compute.calendar_minutes(created, first) if first is not None else None,
        )
        for score, n in scores.get(pk, {}).items():
            if score in range(1, 6):
                setattr(fact, score_field(score), n)
        facts.append(fact)
    return facts


FACT_FIELDS = [field.attname for field in TicketFact._meta.concrete_fields if not field.primary_key]


def same_fact(a, b):
    return all(getattr(a, name) == getattr(b, name) for name in FACT_FIELDS)
