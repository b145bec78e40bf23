"""Time as the indicators count it: opening hours of the ticket's
organisation (routing.sla), minus the time spent waiting for the citizen;
working days; percentiles."""

import datetime
import math

from contacts.models import Ticket, TicketEvent
from kb.models import Organisation
from routing.sla import business_hours_between, calendar_for


class Calendars(dict):
    """Each organisation's opening calendar, read once."""

    def __missing__(self, organisation_id):
        calendar = calendar_for(Organisation.objects.get(pk=organisation_id))
        self[organisation_id] = calendar
        return calendar


def pauses(ticket_ids):
    """{ticket id: [(paused from, resumed at or None)]}: the periods each
    ticket waited for the citizen (status "pending"), from its events."""
    events = (
        TicketEvent.objects.filter(
            ticket_id__in=ticket_ids, kind__in=[TicketEvent.Kind.STATUS_CHANGED, TicketEvent.Kind.REOPENED]
        )
        .order_by("ticket_id", "created_at", "pk")
        .values_list("ticket_id", "kind", "data", "created_at")
    )
    result = {}
    for ticket_id, kind, data, at in events.iterator():
        spans = result.setdefault(ticket_id, [])
        is_open = bool(spans) and spans[-1][1] is None
        if kind == TicketEvent.Kind.STATUS_CHANGED and data.get("status") == Ticket.Status.PENDING:
            if not is_open:
                spans.append((at, None))
        elif is_open and data.get("previous") == Ticket.Status.PENDING:
            spans[-1] = (spans[-1][0], at)
    return result


def active_hours(start, end, calendar, paused=()):
    """Opening hours from start to end, without those spent waiting."""
    total = business_hours_between(start, end, None, calendar=calendar)
    for paused_from, resumed_at in paused:
        begin, finish = max(paused_from, start), min(resumed_at or end, end)
        if finish > begin:
            total -= business_hours_between(begin, finish, None, calendar=calendar)
    return max(total, 0.0)


def is_working_day(calendar, day):
    return bool(calendar.ranges(day))


def working_days_deadline(moment, days, calendar):
    """The end (local midnight) of the ``days``-th working day after the day
    of ``moment``: a request received on Friday has its 5 working days end
    on the next Friday night (public holidays and closed days skipped)."""
    day = moment.astimezone(calendar.tz).date()
    counted = 0
    for _ in range(3660):
        day += datetime.timedelta(days=1)
        if is_working_day(calendar, day):
            counted += 1
            if counted == days:
                break
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=calendar.tz)


def percentile(values, fraction):
    """The continuous percentile (linear interpolation between the closest
    ranks, like PostgreSQL's percentile_cont); None without values."""
    values = sorted(values)
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)
