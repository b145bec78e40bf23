"""Who in the service takes a new ticket: nobody (shared queue), the next in
turn (round robin) or the least loaded, among available agents."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from contacts.models import AgentProfile, Ticket, TicketEvent
from contacts.services.events import record_event
from routing.models import ServiceRouting

OPEN_STATUSES = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]


def available_agents(service, now=None):
    now = now or timezone.now()
    return (
        AgentProfile.objects.filter(services=service, is_available=True)
        .exclude(absences__starts_at__lte=now, absences__ends_at__gt=now)
        .select_related("user")
        .order_by("user_id")
    )


@transaction.atomic
def assign_agent(ticket):
    """Assign the ticket per its service's mode; returns the user or None."""
    service = ticket.service
    if service is None:
        return None
    mode = ServiceRouting.objects.filter(service=service).values_list("mode", flat=True).first()
    if mode in (None, ServiceRouting.Mode.SHARED):
        return None  # the service's shared queue: nobody is chosen
    # The row lock makes concurrent assignments in one service take turns.
    routing = ServiceRouting.objects.select_for_update().get(service=service)
    if routing.mode == ServiceRouting.Mode.SHARED:
        return None
    agents = list(available_agents(service))
    if not agents:
        return None
    if routing.mode == ServiceRouting.Mode.ROUND_ROBIN:
        agent = agents[routing.cursor % len(agents)]
        routing.cursor = (routing.cursor + 1) % 1_000_000
        routing.save(update_fields=["cursor"])
    else:
        loads = dict(
            Ticket.objects.filter(assignee__in=[a.user for a in agents], status__in=OPEN_STATUSES)
            .values_list("assignee")
            .annotate(n=Count("pk", filter=Q(status__in=OPEN_STATUSES)))
        )
        agent = min(agents, key=lambda a: (loads.get(a.user_id, 0), a.user_id))
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent.user)
    ticket.assignee = agent.user
    record_event(ticket, TicketEvent.Kind.ASSIGNED, assignee=agent.user_id, mode=routing.mode)
    return agent.user
