"""Due times counted in an organisation's opening hours, without French
public holidays, in the organisation's time zone."""

from datetime import datetime, time, timedelta
from functools import lru_cache

import holidays

from routing.models import BusinessHours, SlaPolicy

DEFAULT_HOURS = 48
URGENT_HOURS = 4


@lru_cache(maxsize=64)
def _french_holidays(year):
    return holidays.France(years=year)


def schedule_for(organisation):
    row = BusinessHours.objects.filter(organisation=organisation).first()
    return row.schedule if row else BusinessHours.DEFAULT


def _open_ranges(day, schedule, tz):
    """The opening ranges of a local date, as aware datetimes."""
    if day in _french_holidays(day.year):
        return []
    ranges = []
    for start, end in schedule.get(str(day.weekday()), []):
        ranges.append(
            (
                datetime.combine(day, time.fromisoformat(start), tzinfo=tz),
                datetime.combine(day, time.fromisoformat(end), tzinfo=tz),
            )
        )
    return ranges


def business_deadline(start, hours, organisation, schedule=None):
    """The moment ``hours`` opening hours after ``start``."""
    tz = organisation.tzinfo
    schedule = schedule or schedule_for(organisation)
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(tz)
    day = cursor.date()
    for _ in range(3660):  # ten years of days at most: never loops forever
        for opens, closes in _open_ranges(day, schedule, tz):
            begin = max(opens, cursor)
            if begin >= closes:
                continue
            available = closes - begin
            if available >= remaining:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("the schedule has no opening hours")


def business_hours_between(start, end, organisation, schedule=None):
    """Opening hours elapsed between two moments."""
    if end <= start:
        return 0.0
    tz = organisation.tzinfo
    schedule = schedule or schedule_for(organisation)
    start, end = start.astimezone(tz), end.astimezone(tz)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        for opens, closes in _open_ranges(day, schedule, tz):
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def sla_hours_for(ticket):
    """Most specific policy: topic, then service, then priority, then the
    organisation's; else the service's own SLA; else a default."""
    policies = list(SlaPolicy.objects.filter(organisation_id=ticket.organisation_id))

    def find(**match):
        for policy in policies:
            if all(getattr(policy, key) == value for key, value in match.items()):
                return policy
        return None

    candidates = []
    if ticket.topic_id:
        candidates.append(find(topic_id=ticket.topic_id))
    if ticket.service_id:
        candidates.append(find(service_id=ticket.service_id, topic_id=None))
    candidates.append(find(priority=ticket.priority, service_id=None, topic_id=None))
    candidates.append(find(priority="", service_id=None, topic_id=None))
    for policy in candidates:
        if policy is not None:
            return policy.first_response_hours
    if ticket.priority == "urgent":
        return URGENT_HOURS
    if ticket.service_id and ticket.service.sla_hours:
        return ticket.service.sla_hours
    return DEFAULT_HOURS


def due_at_for(ticket, start=None):
    return business_deadline(start or ticket.created_at, sla_hours_for(ticket), ticket.organisation)


def resume_due_at(ticket, paused_from, resumed_at):
    """Push the due time by the opening hours spent waiting for the citizen."""
    if ticket.due_at is None:
        return None
    paused = business_hours_between(paused_from, resumed_at, ticket.organisation)
    return business_deadline(ticket.due_at, paused, ticket.organisation) if paused else ticket.due_at
