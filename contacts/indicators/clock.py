"""Time as the indicators count it: opening hours of the ticket's
organisation (routing.sla), minus the time spent waiting for the citizen;
working days; percentiles.

Moments are handled as POSIX timestamps (seconds): the database gives them
as numbers (``Epoch``), and a Clock answers "opening seconds before this
moment" with a binary search over each day's opening ranges, so counting
opening hours for a quarter of tickets costs a few microseconds per ticket."""

import bisect
import datetime
import math

from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import Aggregate, Count, FloatField, Func
from django.db.models.fields.json import KT

from contacts.models import Ticket, TicketEvent
from kb.models import Organisation
from routing.sla import calendar_for

DAY = datetime.timedelta(days=1)
MARGIN_DAYS = 40


class Epoch(Func):
    """A timestamp column as seconds since 1970 (NULL stays NULL)."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is a float of days: rounded to the millisecond it is exact again.
        template = "ROUND((julianday(%(expressions)s) - 2440587.5) * 86400.0, 3)"
        return self.as_sql(compiler, connection, template=template, **extra)


def timestamp(value):
    return value.timestamp() if isinstance(value, datetime.datetime) else value


class Clock:
    """An organisation's opening calendar (routing.sla.OpeningCalendar) as
    cumulative opening seconds, built for the days asked about and extended
    when needed. Counts like routing.sla.business_hours_between."""

    def __init__(self, calendar):
        self.calendar = calendar
        self.tz = calendar.tz
        self.first = self.last = None  # local dates covered
        self.starts = []  # epoch of each day's local midnight
        self.opens = []  # each day's ranges, as (open epoch, close epoch)
        self.before = []  # opening seconds from the first day to each day's start
        self._deadlines = {}

    def _cover(self, ts):
        if self.starts and self.starts[1] <= ts < self.starts[-1]:
            return
        day = datetime.datetime.fromtimestamp(ts, self.tz).date()
        first = min(day, self.first or day) - datetime.timedelta(days=MARGIN_DAYS)
        last = max(day, self.last or day) + datetime.timedelta(days=MARGIN_DAYS)
        starts, opens, before, total = [], [], [], 0.0
        current = first
        while current <= last:
            midnight = datetime.datetime.combine(current, datetime.time(), tzinfo=self.tz)
            ranges = [(a.timestamp(), b.timestamp()) for a, b in self.calendar.ranges(current)]
            starts.append(midnight.timestamp())
            opens.append(ranges)
            before.append(total)
            total += sum(b - a for a, b in ranges)
            current += DAY
        self.first, self.last, self.starts, self.opens, self.before = first, last, starts, opens, before

    def _index(self, ts):
        self._cover(ts)
        return bisect.bisect_right(self.starts, ts) - 1

    def opening_seconds_until(self, ts):
        """Opening seconds from the first covered day to the moment ``ts``."""
        index = self._index(ts)
        total = self.before[index]
        for opens, closes in self.opens[index]:
            if ts <= opens:
                break
            total += min(ts, closes) - opens
        return total

    def seconds_between(self, start, end):
        if end <= start:
            return 0.0
        self._cover(start)
        self._cover(end)
        return self.opening_seconds_until(end) - self.opening_seconds_until(start)

    def hours_between(self, start, end):
        """Opening hours between two moments (datetimes or timestamps)."""
        return self.seconds_between(timestamp(start), timestamp(end)) / 3600

    def last_day_over(self, first, last, days, now):
        """The last local day from ``first`` to ``last`` whose ``days``
        working days are over at ``now`` (a timestamp), or None: every
        request received on it or before has had its deadline pass (the
        deadline only grows with the day of reception)."""
        day = last
        while day >= first:
            midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=self.tz).timestamp()
            if self.working_days_deadline(midnight, days) <= now:
                return day
            day -= DAY
        return None

    def working_days_deadline(self, moment, days):
        """The end (local midnight, as a timestamp) of the ``days``-th working
        day after the day of ``moment``: a request received on Friday has its
        5 working days end on the next Friday night (public holidays and
        closed days skipped)."""
        index = self._index(timestamp(moment))
        key = (self.starts[index], days)
        deadline = self._deadlines.get(key)
        if deadline is None:
            day = datetime.datetime.fromtimestamp(self.starts[index], self.tz).date()
            counted = 0
            for _ in range(3660):
                day += DAY
                if self.calendar.ranges(day):
                    counted += 1
                    if counted == days:
                        break
            deadline = datetime.datetime.combine(day + DAY, datetime.time(), tzinfo=self.tz).timestamp()
            self._deadlines[key] = deadline
        return deadline


class Calendars(dict):
    """Each organisation's opening clock, read once."""

    def __missing__(self, organisation_id):
        clock = Clock(calendar_for(Organisation.objects.get(pk=organisation_id)))
        self[organisation_id] = clock
        return clock


def pauses(ticket_ids, within=None):
    """{ticket id: [(paused from, resumed at or None)]} (timestamps): the
    periods each ticket waited for the citizen (status "pending"), from its
    events (``within``: bounds of the ticket ids, see compute._bounded)."""
    events = TicketEvent.objects.filter(
        ticket_id__in=ticket_ids, kind__in=[TicketEvent.Kind.STATUS_CHANGED, TicketEvent.Kind.REOPENED]
    )
    if within is not None:
        events = events.filter(ticket_id__gte=within[0], ticket_id__lte=within[1])
    events = events.order_by("ticket_id", "created_at", "pk").values_list(
        "ticket_id", "kind", KT("data__status"), KT("data__previous"), Epoch("created_at")
    )
    result = {}
    for ticket_id, kind, status, previous, at in events.iterator():
        spans = result.setdefault(ticket_id, [])
        is_open = bool(spans) and spans[-1][1] is None
        if kind == TicketEvent.Kind.STATUS_CHANGED and status == Ticket.Status.PENDING:
            if not is_open:
                spans.append((at, None))
        elif is_open and previous == Ticket.Status.PENDING:
            spans[-1] = (spans[-1][0], at)
    return result


def active_hours(start, end, clock, paused=()):
    """Opening hours from start to end (timestamps), without those spent waiting."""
    total = clock.seconds_between(start, end)
    for paused_from, resumed_at in paused:
        begin, finish = max(paused_from, start), min(end if resumed_at is None else resumed_at, end)
        if finish > begin:
            total -= clock.seconds_between(begin, finish)
    return max(total, 0.0) / 3600


def working_days_deadline(moment, days, clock):
    """See Clock.working_days_deadline (a timestamp)."""
    return clock.working_days_deadline(moment, days)


PERCENTILE_WORK_MEM = "32MB"


class PercentilesCont(Aggregate):
    """PostgreSQL's percentile_cont of several fractions at once (one sort),
    as a list."""

    function = "percentile_cont"
    template = "%(function)s(%(fractions)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fractions, **extra):
        fractions = "ARRAY[" + ",".join(repr(float(f)) for f in fractions) + "]::float8[]"
        super().__init__(expression, fractions=fractions, output_field=ArrayField(FloatField()), **extra)


def percentiles(queryset, fields, fractions, group=None):
    """{group value (None without ``group``): {field: (count, [percentile of
    each fraction])}} of the non-null values of ``fields`` over the rows of
    ``queryset``: computed by the database on PostgreSQL, in Python
    elsewhere (the SQLite demo)."""
    queryset = queryset.order_by()
    names = {field: (f"n_{i}", f"p_{i}") for i, field in enumerate(fields)}
    if connection.vendor == "postgresql":
        sums = {}
        for field, (n, p) in names.items():
            sums[n], sums[p] = Count(field), PercentilesCont(field, fractions)
        with transaction.atomic():
            # Each percentile sorts the period's values: in memory, not on disk.
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{PERCENTILE_WORK_MEM}'")
            rows = list(queryset.values(group).annotate(**sums)) if group else [queryset.aggregate(**sums)]
        result = {}
        for row in rows:
            result[row[group] if group else None] = {
                field: (row[n], row[p] or [None] * len(fractions)) for field, (n, p) in names.items()
            }
        return result
    values = {}
    for row in queryset.values_list(*([group] if group else []), *fields):
        key, row = (row[0], row[1:]) if group else (None, row)
        lists = values.setdefault(key, [[] for _ in fields])
        for bucket, value in zip(lists, row, strict=True):
            if value is not None:
                bucket.append(value)
    if not group:
        values.setdefault(None, [[] for _ in fields])
    return {
        key: {field: (len(v), [percentile(v, f) for f in fractions]) for field, v in zip(fields, lists, strict=True)}
        for key, lists in values.items()
    }


def percentile(values, fraction):
    """The continuous percentile (linear interpolation between the closest
    ranks, like PostgreSQL's percentile_cont); None without values."""
    values = sorted(values)
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)
