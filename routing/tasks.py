"""Periodic routing work: SLA warnings before a breach, escalation after."""

from celery import shared_task
from django.utils import timezone

from contacts.models import Ticket, TicketEvent
from contacts.services.events import record_event
from routing.sla import business_hours_between

WARN_AT = 0.8  # share of the allowed time elapsed


@shared_task(name="routing.tasks.check_sla")
def check_sla(now=None):
    """Record one warning and one breach per ticket still waiting for its
    first answer; supervisors see them in the ticket's events."""
    now = now or timezone.now()
    warned = breached = 0
    waiting = Ticket.objects.filter(
        status__in=[Ticket.Status.NEW, Ticket.Status.OPEN], first_response_at__isnull=True, due_at__isnull=False
    ).select_related("organisation")
    for ticket in waiting.iterator():
        kinds = set(ticket.events.filter(kind__in=["sla_warning", "sla_breached"]).values_list("kind", flat=True))
        if ticket.due_at <= now:
            if "sla_breached" not in kinds:
                record_event(ticket, TicketEvent.Kind.SLA_BREACHED, due_at=ticket.due_at.isoformat())
                breached += 1
            continue
        allowed = business_hours_between(ticket.created_at, ticket.due_at, ticket.organisation)
        elapsed = business_hours_between(ticket.created_at, now, ticket.organisation)
        if allowed and elapsed / allowed >= WARN_AT and "sla_warning" not in kinds:
            record_event(ticket, TicketEvent.Kind.SLA_WARNING, due_at=ticket.due_at.isoformat())
            warned += 1
    return {"warned": warned, "breached": breached}
