"""Who in the service takes a new ticket: nobody (shared queue), the next in
turn (round robin) or the least loaded, among available agents."""

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from contacts.models import Absence, AgentProfile, Ticket, TicketEvent
from contacts.services.events import record_event
from routing.models import ServiceRouting

OPEN_STATUSES = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]


def away(now=None):
    """A condition on AgentProfile: in an absence at ``now``."""
    now = now or timezone.now()
    return Exists(Absence.objects.filter(agent=OuterRef("pk"), starts_at__lte=now, ends_at__gt=now))


def available_agents(service, now=None):
    """The service's agents who take tickets now, by user id."""
    return (
        AgentProfile.objects.filter(services=service, is_available=True)
        .exclude(away(now))
        .select_related("user")
        .filter(user__is_active=True)
        .order_by("user_id")
        .distinct()
    )


def open_loads(users):
    """{user id: number of open tickets assigned to them}."""
    return dict(
        Ticket.objects.filter(assignee__in=users, status__in=OPEN_STATUSES)
        .order_by()
        .values_list("assignee")
        .annotate(n=Count("pk"))
    )


def assign_agent(ticket):
    """Assign the ticket per its service's mode; returns the user or None.

    Concurrent assignments in one service take turns on a lock of the
    service's ServiceRouting row, which holds the round-robin cursor (the
    user id of the last agent given a ticket) and serialises the load counts.
    A shared queue (the mode is read from the per-revision cache) takes no
    lock and no query.
    """
    from routing import cache

    service = ticket.service
    if service is None:
        return None
    if cache.assignment_mode(service.pk) in (None, ServiceRouting.Mode.SHARED):
        return None  # the service's shared queue: nobody is chosen
    with transaction.atomic():
        return _assign_in_turn(ticket, service)


def _assign_in_turn(ticket, service):
    routing = ServiceRouting.objects.select_for_update().filter(service=service).first()
    if routing is None:
        return None
    if routing.mode == ServiceRouting.Mode.SHARED:
        return None
    agents = list(available_agents(service))
    if not agents:
        return None
    if routing.mode == ServiceRouting.Mode.ROUND_ROBIN:
        # The first agent after the last one served; stable when agents come and go.
        agent = next((a for a in agents if a.user_id > routing.cursor), agents[0])
        routing.cursor = agent.user_id
        routing.save(update_fields=["cursor"])
    else:
        loads = open_loads([a.user_id for a in agents])
        agent = min(agents, key=lambda a: (loads.get(a.user_id, 0), a.user_id))
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent.user)
    ticket.assignee = agent.user
    record_event(ticket, TicketEvent.Kind.ASSIGNED, assignee=agent.user_id, mode=routing.mode)
    return agent.user
