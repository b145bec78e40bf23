"""Due times counted in an organisation's opening hours, without French
public holidays (and its other closed days), in the organisation's time zone;
the periodic check that warns before a breach and escalates after it."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.db import transaction
from django.db.models import Exists, OuterRef

from routing.models import BusinessHours

logger = logging.getLogger(__name__)

DEFAULT_HOURS = 48  # to the first answer, when nothing else says
URGENT_HOURS = 4  # an urgent ticket without a policy of its own
WARN_AT = 0.8  # share of the allowed time elapsed before the warning
MAX_DAYS = 3660  # ten years of days: a closed calendar never loops forever


@lru_cache(maxsize=128)
def _public_holidays(year, subdivision=""):
    return holidays.France(years=year, subdiv=subdivision or None)


@dataclass(frozen=True)
class OpeningCalendar:
    """When an organisation is open: weekly ranges, minus public holidays and
    its own closed days, in its time zone."""

    tz: object
    schedule: dict
    subdivision: str = ""
    closed: frozenset = field(default_factory=frozenset)

    def ranges(self, day):
        """The opening ranges of a local date, as aware datetimes."""
        if day in self.closed or day in _public_holidays(day.year, self.subdivision):
            return []
        return [
            (
                datetime.combine(day, time.fromisoformat(start), tzinfo=self.tz),
                datetime.combine(day, time.fromisoformat(end), tzinfo=self.tz),
            )
            for start, end in self.schedule.get(str(day.weekday()), [])
        ]


def calendar_for(organisation, schedule=None):
    from routing import cache

    row = cache.business_hours(organisation.pk)
    if row is None:
        return OpeningCalendar(organisation.tzinfo, schedule or BusinessHours.DEFAULT)
    return OpeningCalendar(
        organisation.tzinfo,
        schedule or row.schedule,
        row.holiday_subdivision,
        frozenset(date.fromisoformat(value) for value in row.closed_dates),
    )


def schedule_for(organisation):
    return calendar_for(organisation).schedule


def business_deadline(start, hours, organisation, schedule=None, calendar=None):
    """The moment ``hours`` opening hours after ``start`` (0 hours: the next
    moment the organisation is open)."""
    calendar = calendar or calendar_for(organisation, schedule)
    remaining = timedelta(hours=max(hours, 0))
    cursor = start.astimezone(calendar.tz)
    day = cursor.date()
    for _ in range(MAX_DAYS):
        for opens, closes in calendar.ranges(day):
            begin = max(opens, cursor)
            if begin >= closes:
                continue
            available = closes - begin
            if available >= remaining:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"the opening hours of {organisation} have no open time in ten years")


def business_hours_between(start, end, organisation, schedule=None, calendar=None):
    """Opening hours elapsed between two moments (0 when end <= start)."""
    if end <= start:
        return 0.0
    calendar = calendar or calendar_for(organisation, schedule)
    start, end = start.astimezone(calendar.tz), end.astimezone(calendar.tz)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        for opens, closes in calendar.ranges(day):
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def policy_for(ticket):
    """The most specific policy of the ticket's organisation that applies to it
    (topic outweighs service, which outweighs priority), or None."""
    from routing import cache

    policies = [p for p in cache.sla_policies(ticket.organisation_id) if p.applies_to(ticket)]
    return max(policies, key=lambda p: (p.specificity, -p.pk), default=None)


def sla_hours_for(ticket):
    """Business hours to the first answer: the most specific policy; else, for
    an urgent ticket, URGENT_HOURS; else the service's own SLA; else a default."""
    policy = policy_for(ticket)
    if policy is not None:
        return policy.first_response_hours
    if ticket.priority == "urgent":
        return URGENT_HOURS
    if ticket.service_id and ticket.service.sla_hours:
        return ticket.service.sla_hours
    return DEFAULT_HOURS


def resolution_hours_for(ticket):
    """Business hours to resolution, when a policy sets them, else None."""
    policy = policy_for(ticket)
    return policy.resolution_hours if policy is not None else None


def due_at_for(ticket, start=None):
    """When the first answer is due."""
    return business_deadline(start or ticket.created_at, sla_hours_for(ticket), ticket.organisation)


def resolution_due_at_for(ticket, start=None):
    hours = resolution_hours_for(ticket)
    if hours is None:
        return None
    return business_deadline(start or ticket.created_at, hours, ticket.organisation)


def resume_due_at(ticket, paused_from, resumed_at, due=None):
    """A due time (the first answer's unless ``due`` is given) pushed by the
    opening hours spent waiting for the citizen."""
    due = ticket.due_at if due is None else due
    if due is None:
        return None
    calendar = calendar_for(ticket.organisation)
    paused = business_hours_between(paused_from, resumed_at, ticket.organisation, calendar=calendar)
    if not paused:
        return due
    return business_deadline(due, paused, ticket.organisation, calendar=calendar)


@dataclass(frozen=True)
class Target:
    """One deadline the periodic check watches: the first answer, or the
    resolution. ``field`` holds the due time on the ticket; ``open`` the
    filter of tickets still running against it (a ticket waiting for the
    citizen is paused, neither warned nor escalated)."""

    name: str
    field: str
    open: object
    warning: str
    breached: str
    escalated: str


def _targets():
    from django.db.models import Q

    from contacts.models import Ticket, TicketEvent

    running = Q(status__in=[Ticket.Status.NEW, Ticket.Status.OPEN])
    return (
        Target(
            "answer",
            "due_at",
            running & Q(first_response_at__isnull=True),
            TicketEvent.Kind.SLA_WARNING,
            TicketEvent.Kind.SLA_BREACHED,
            TicketEvent.Kind.ESCALATED,
        ),
        Target(
            "resolution",
            "resolution_due_at",
            running,
            TicketEvent.Kind.RESOLUTION_WARNING,
            TicketEvent.Kind.RESOLUTION_BREACHED,
            TicketEvent.Kind.RESOLUTION_ESCALATED,
        ),
    )


def check_deadlines(now):
    """For the first answer and for the resolution: warn once when WARN_AT
    of the allowed time has elapsed (an event, and an email to the assigned
    agent, else the service's agents), and once overdue record the breach
    and escalate (an event, and an email to the service's supervisors).
    Tickets waiting for the citizen are paused and not looked at. Each ticket
    is handled in its own transaction, under a row lock, so that two
    overlapping runs never warn or escalate twice."""
    from contacts.models import Ticket, TicketEvent

    def has(kind):
        return Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=kind))

    counts = {"warned": 0, "breached": 0}
    calendars = {}
    for target in _targets():
        running = Ticket.objects.filter(target.open, **{f"{target.field}__isnull": False})
        overdue = running.filter(**{f"{target.field}__lte": now}).exclude(has(target.escalated))
        upcoming = running.filter(**{f"{target.field}__gt": now}).exclude(has(target.warning))
        for pk in overdue.values_list("pk", flat=True).iterator():
            counts["breached"] += _escalate(pk, now, target)
        for ticket in upcoming.select_related("organisation").iterator():
            organisation = ticket.organisation
            calendar = calendars.get(organisation.pk) or calendars.setdefault(
                organisation.pk, calendar_for(organisation)
            )
            due = getattr(ticket, target.field)
            allowed = business_hours_between(ticket.created_at, due, organisation, calendar=calendar)
            elapsed = business_hours_between(ticket.created_at, now, organisation, calendar=calendar)
            if allowed and elapsed / allowed >= WARN_AT:
                counts["warned"] += _warn(ticket.pk, now, target)
    return counts


def _locked_running_ticket(pk, target, kind):
    """The ticket, locked, if it still runs against the target and has no
    event of this kind yet; else None."""
    from contacts.models import Ticket

    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("organisation", "service", "assignee")
        .filter(target.open, pk=pk)
        .first()
    )
    if ticket is None or ticket.events.filter(kind=kind).exists():
        return None
    return ticket


def _warn(pk, now, target):
    from contacts.services.events import record_event
    from routing.notify import notify_warning

    with transaction.atomic():
        ticket = _locked_running_ticket(pk, target, target.warning)
        due = getattr(ticket, target.field, None)
        if ticket is None or due is None or due <= now:
            return 0
        agents = notify_warning(ticket, target.name, due)
        record_event(ticket, target.warning, due_at=due.isoformat(), agents=agents)
    return 1


def _escalate(pk, now, target):
    from contacts.services.events import record_event
    from routing.notify import notify_supervisors

    with transaction.atomic():
        ticket = _locked_running_ticket(pk, target, target.escalated)
        due = getattr(ticket, target.field, None)
        if ticket is None or due is None or due > now:
            return 0
        if not ticket.events.filter(kind=target.breached).exists():
            record_event(ticket, target.breached, due_at=due.isoformat())
        supervisors = notify_supervisors(ticket, target.name)
        record_event(ticket, target.escalated, due_at=due.isoformat(), supervisors=supervisors)
    return 1
