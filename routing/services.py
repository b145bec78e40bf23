"""Where a ticket goes.

PLACEHOLDER until the knowledge-base and routing issue lands: every new
ticket is filed in its organisation's triage service, with the due time of
that service's SLA counted in calendar hours. The knowledge-base issue
replaces this with the matcher, the rules, territories, urgency and SLA in
business hours.
"""

from datetime import timedelta

from contacts.models import TicketEvent
from contacts.services.events import record_event


def route(ticket):
    service = ticket.organisation.triage_service()
    ticket.service = service
    if service is not None and service.sla_hours:
        ticket.due_at = ticket.created_at + timedelta(hours=service.sla_hours)
    ticket.save(update_fields=["service", "due_at", "updated_at"])
    record_event(
        ticket,
        TicketEvent.Kind.ROUTED,
        rule="triage-default",
        service=str(service) if service else None,
        confidence=None,
    )
    return ticket
