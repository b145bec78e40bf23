"""The indicators, each a plain function of a Scope (the tickets a user may
see, the filters, the moment "now"). Counting is done by the database;
times in opening hours, which the database cannot know, in Python over the
few columns needed. Definitions: docs/indicators.md."""

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Avg, Count, Exists, F, FloatField, IntegerField, OuterRef, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, ExtractHour, TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel
from contacts.indicators import daily
from contacts.indicators.clock import (
    Calendars,
    Epoch,
    active_hours,
    pauses,
    percentile,
    percentiles,
    working_days_deadline,
)
from contacts.indicators.models import SCORES, WRITTEN_CHANNELS, score_field
from contacts.indicators.results import Figure, Indicator, Table, rounded, share
from contacts.models import AgentProfile, Outbox, Ticket, TicketEvent
from kb.models import Service

OPEN_STATUSES = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]
WAITING_FOR_US = [Ticket.Status.NEW, Ticket.Status.OPEN]
DONE_STATUSES = [Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
MARIANNE_DAYS = 5
ACK_AT_ONCE = datetime.timedelta(hours=1)
FAILED_DELIVERY = ["failed", "bounced", "rejected", "complained"]
AGE_BUCKETS = [(0, 1), (1, 3), (3, 7), (7, 30), (30, None)]  # days


@dataclass
class Scope:
    user: object
    filters: object
    now: datetime.datetime = field(default_factory=timezone.now)
    calendars: Calendars = field(default_factory=Calendars)
    live: bool = False  # True: never read the daily aggregates
    # True: only the headline figures are read (the previous period's): the
    # tables that cost queries of their own are left empty.
    figures_only: bool = False

    @cached_property
    def daily(self):
        """The daily aggregates and facts, when they answer exactly (daily.py)."""
        return None if self.live else daily.for_scope(self)

    @cached_property
    def tickets(self):
        """Every ticket the user may see that matches the filters (any date)."""
        return Ticket.objects.visible_to(self.user).filter(self.filters.ticket_q())

    @cached_property
    def cohort(self):
        """Those created during the period."""
        return self.tickets.filter(self.filters.period_q())

    @cached_property
    def corrected_ids(self):
        """The ids of the cohort's tickets that may have a transfer or topic
        correction, as a subquery: from the facts of the corrected ones (an
        index-only scan) when the aggregates answer, else the whole cohort."""
        if self.daily is not None:
            return self.daily.facts().filter(corrected=True).values("ticket_id")
        return self.cohort.order_by().values("pk")

    def previous(self, figures_only=False):
        return Scope(self.user, self.filters.previous(), self.now, self.calendars, self.live, figures_only)

    @cached_property
    def previous_figures(self):
        """The previous period, for its headline figures (shared by the indicators)."""
        return self.previous(figures_only=True)


def _bounded(queryset, within):
    """``queryset`` of rows about tickets, limited to the ticket ids in
    ``within`` ((lowest, highest) or None). The EXISTS conditions below take
    it when computing facts in batches: PostgreSQL may run such a subquery
    once for the whole batch (a hashed subplan), which then reads only the
    batch's rows instead of the whole table."""
    return queryset if within is None else queryset.filter(ticket_id__gte=within[0], ticket_id__lte=within[1])


def has_event(kind, within=None, **data):
    return Exists(_bounded(TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=kind, **data), within))


# -- volumes --------------------------------------------------------------------


def volume_counts(scope):
    """Requests received: total, by channel, topic, service, day and hour."""
    f = scope.filters
    if scope.daily is not None:
        rows, n = scope.daily.rows(), Sum("tickets")
        hours, days = scope.daily.by_hour, scope.daily.by_day
    else:
        rows, n = scope.cohort.order_by(), Count("pk")
        days = dict(rows.annotate(day=TruncDate("created_at", tzinfo=f.tz)).values_list("day").annotate(n=n))
        hours = dict(rows.annotate(hour=ExtractHour("created_at", tzinfo=f.tz)).values_list("hour").annotate(n=n))
    if scope.figures_only:
        return sum(days.values()), [], [], [], days, hours
    if scope.daily is not None:
        # One query for the three tables (a few hundred rows), summed here.
        combos = list(
            rows.values("channel", "topic__slug", "topic__title", "service__slug", "service__name").annotate(n=n)
        )
        by_channel = _ranked(combos, ("channel",), "channel")
        by_topic = _ranked(combos, ("topic__slug", "topic__title"), "topic__title")
        by_service = _ranked(combos, ("service__slug", "service__name"), "service__name")
        return sum(days.values()), by_channel, by_topic, by_service, days, hours
    by_channel = list(rows.values("channel").annotate(n=n).order_by("-n", "channel"))
    by_topic = list(rows.values("topic__slug", "topic__title").annotate(n=n).order_by("-n", "topic__title"))
    by_service = list(rows.values("service__slug", "service__name").annotate(n=n).order_by("-n", "service__name"))
    return sum(days.values()), by_channel, by_topic, by_service, days, hours


def _ranked(combos, fields, label):
    """The rows of ``combos`` summed by ``fields``, most requests first, then
    by ``label`` (empty last, as PostgreSQL orders NULL)."""
    sums = {}
    for combo in combos:
        key = tuple(combo[name] for name in fields)
        sums[key] = sums.get(key, 0) + combo["n"]
    rows = [{**dict(zip(fields, key, strict=True)), "n": n} for key, n in sums.items()]
    return sorted(rows, key=lambda r: (-r["n"], r[label] is None, r[label] or "", *(str(r[f]) for f in fields)))


def volumes(scope):
    f = scope.filters
    total, by_channel, by_topic, by_service, days, hours = volume_counts(scope)
    channels = dict(Channel.choices)
    all_days = [f.start + datetime.timedelta(days=i) for i in range(f.days)]
    day_rows = [[formats.date_format(day, "D j M"), days.get(day, 0)] for day in all_days]
    peak_day = max(all_days, key=lambda day: (days.get(day, 0), -day.toordinal())) if days else None
    peak_hour = max(range(24), key=lambda h: (hours.get(h, 0), -h)) if hours else None
    return Indicator(
        "volumes",
        _("Volumes"),
        figures=[
            Figure("total", _("Requests received"), total, drill="created", better=""),
            Figure(
                "peak_day",
                _("Busiest day"),
                formats.date_format(peak_day, "l j F") if peak_day else None,
                better="",
            ),
            Figure("peak_day_count", _("Requests on the busiest day"), days.get(peak_day, 0), better=""),
            Figure("peak_hour", _("Busiest hour"), f"{peak_hour} h" if peak_hour is not None else None, better=""),
        ],
        tables=[
            Table(
                "channel",
                _("By channel"),
                [_("Channel"), _("Requests")],
                [[channels.get(r["channel"], r["channel"]), r["n"]] for r in by_channel],
                chart=1,
                links=[{"canal": r["channel"]} for r in by_channel],
            ),
            Table(
                "topic",
                _("By topic"),
                [_("Topic"), _("Requests")],
                [[r["topic__title"] or _("No topic"), r["n"]] for r in by_topic],
                chart=1,
                links=[{"sujet": r["topic__slug"]} if r["topic__slug"] else None for r in by_topic],
            ),
            Table(
                "service",
                _("By service"),
                [_("Service"), _("Requests")],
                [[r["service__name"] or _("No service"), r["n"]] for r in by_service],
                chart=1,
                links=[{"service": r["service__slug"]} if r["service__slug"] else None for r in by_service],
            ),
            Table(
                "day",
                _("By day"),
                [_("Day"), _("Requests")],
                day_rows,
                chart=1,
                links=[{"du": day.isoformat(), "au": day.isoformat()} for day in all_days],
            ),
            Table(
                "hour",
                _("By hour of the day"),
                [_("Hour"), _("Requests")],
                [[f"{h} h", hours.get(h, 0)] for h in range(24)],
                chart=1,
                links=[{"heure": str(h)} for h in range(24)],
            ),
        ],
    )


# -- response and resolution times -----------------------------------------------


def timed_rows(queryset, within=None):
    """(pk, organisation, created, first response, resolved, channel) of the
    tickets, moments as timestamps, and the periods each waited for the citizen."""
    rows = list(
        queryset.order_by().values_list(
            "pk",
            "organisation_id",
            Epoch("created_at"),
            Epoch("first_response_at"),
            Epoch("resolved_at"),
            "channel",
        )
    )
    waits = pauses(queryset.order_by().values("pk"), within) if rows else {}
    return rows, waits


def response_hours(scope):
    return ticket_hours(scope.cohort, scope.calendars)


def ticket_hours(queryset, calendars, within=None):
    """{ticket pk: (first response hours or None, resolution hours or None,
    channel)} in opening hours, without the time spent waiting for the
    citizen."""
    rows, waits = timed_rows(queryset, within)
    result = {}
    for pk, organisation_id, created, first, resolved, channel in rows:
        calendar = calendars[organisation_id]
        paused = waits.get(pk, ())
        result[pk] = (
            active_hours(created, first, calendar, paused) if first is not None else None,
            active_hours(created, resolved, calendar, paused) if resolved is not None else None,
            channel,
        )
    return result


TIMES = ("first_response_hours", "resolution_hours")
MEDIAN_P90 = (0.5, 0.9)


def time_percentiles(scope):
    """(overall, {channel: ...}), each {"first_response_hours" or
    "resolution_hours": (count, [median, 90th percentile])}: from the facts
    (percentiles computed by the database), or live."""
    if scope.daily is not None:
        facts = scope.daily.facts()
        overall = percentiles(facts, TIMES, MEDIAN_P90)[None]
        if scope.figures_only:
            return overall, {}
        return overall, percentiles(facts, TIMES, MEDIAN_P90, group="channel")
    hours = response_hours(scope)

    def summary(values):
        lists = ([v[0] for v in values if v[0] is not None], [v[1] for v in values if v[1] is not None])
        return {name: (len(x), [percentile(x, f) for f in MEDIAN_P90]) for name, x in zip(TIMES, lists, strict=True)}

    by_channel = {}
    for value in hours.values():
        by_channel.setdefault(value[2], []).append(value)
    return summary(list(hours.values())), {channel: summary(values) for channel, values in by_channel.items()}


def response_times(scope):
    overall, by_channel = time_percentiles(scope)
    (n_first, (first_median, first_p90)), (n_resolution, (resolution_median, resolution_p90)) = (
        overall[name] for name in TIMES
    )
    channels = dict(Channel.choices)
    rows = [
        [
            channels.get(channel, channel),
            times["first_response_hours"][0],
            rounded(times["first_response_hours"][1][0]),
            rounded(times["first_response_hours"][1][1]),
            times["resolution_hours"][0],
            rounded(times["resolution_hours"][1][0]),
            rounded(times["resolution_hours"][1][1]),
        ]
        for channel, times in sorted(by_channel.items())
    ]
    return Indicator(
        "times",
        _("Response and resolution times"),
        figures=[
            Figure("answered", _("Requests answered"), n_first, drill="answered", better=""),
            Figure("first_median", _("First answer, median"), rounded(first_median), "h", better="down"),
            Figure("first_p90", _("First answer, 90th percentile"), rounded(first_p90), "h", better="down"),
            Figure("resolved", _("Requests resolved"), n_resolution, drill="resolved", better=""),
            Figure("resolution_median", _("Resolution, median"), rounded(resolution_median), "h", better="down"),
            Figure("resolution_p90", _("Resolution, 90th percentile"), rounded(resolution_p90), "h", better="down"),
        ],
        tables=[
            Table(
                "channel",
                _("Times by channel (opening hours)"),
                [
                    _("Channel"),
                    _("Answered"),
                    _("First answer, median (h)"),
                    _("First answer, 90th percentile (h)"),
                    _("Resolved"),
                    _("Resolution, median (h)"),
                    _("Resolution, 90th percentile (h)"),
                ],
                rows,
                chart=2,
                links=[{"canal": channel} for channel in sorted(by_channel)],
            )
        ],
    )


# -- commitments: SLA, Services Publics+, Marianne ----------------------------------


def sla_q(now):
    on_time = Q(due_at__isnull=False, first_response_at__isnull=False, first_response_at__lte=F("due_at"))
    late = Q(due_at__isnull=False) & (
        Q(first_response_at__gt=F("due_at"))
        | Q(first_response_at__isnull=True, status__in=WAITING_FOR_US, due_at__lte=now)
    )
    return on_time, late


def sla_met(first, due):
    """A ticket's first answer (timestamps) against its due time: True on
    time, False late, None when not answered or nothing was due."""
    return None if first is None or due is None else first <= due


def sla_counts(scope):
    """[{"priority", "on_time", "late"}] by priority."""
    if scope.daily is not None:
        counts = {
            priority: {"priority": priority, "on_time": r["sla_on_time"], "late": r["sla_late"]}
            for priority, r in scope.daily.by_priority.items()
        }
        for r in scope.daily.overdue(MARIANNE_DAYS):
            if r["sla"]:
                counts.setdefault(r["priority"], {"priority": r["priority"], "on_time": 0, "late": 0})["late"] += r[
                    "sla"
                ]
        return [counts[priority] for priority in sorted(counts)]
    on_time, late = sla_q(scope.now)
    return list(
        scope.cohort.order_by()
        .values("priority")
        .annotate(on_time=Count("pk", filter=on_time), late=Count("pk", filter=late))
        .order_by("priority")
    )


def sla(scope):
    priorities = dict(Ticket.Priority.choices)
    rows = [r for r in sla_counts(scope) if r["on_time"] or r["late"]]
    total_on_time = sum(r["on_time"] for r in rows)
    total_late = sum(r["late"] for r in rows)
    return Indicator(
        "sla",
        _("Answer time commitment (SLA)"),
        figures=[
            Figure("compliance", _("First answers on time"), share(total_on_time, total_on_time + total_late), "%"),
            Figure("on_time", _("On time"), total_on_time, drill="sla_on_time", better=""),
            Figure("late", _("Late or overdue"), total_late, drill="sla_late", better="down"),
        ],
        tables=[
            Table(
                "priority",
                _("By priority"),
                [_("Priority"), _("On time"), _("Late or overdue"), _("Share on time (%)")],
                [
                    [
                        priorities.get(r["priority"], r["priority"]),
                        r["on_time"],
                        r["late"],
                        share(r["on_time"], r["on_time"] + r["late"]),
                    ]
                    for r in rows
                ],
                chart=3,
                links=[{"liste": "sla_late", "priorite": r["priority"]} for r in rows],
            )
        ],
    )


def services_publics_q(scope):
    tz = scope.filters.tz
    today = scope.now.astimezone(tz).date()
    answered_day = TruncDate("first_response_at", tzinfo=tz)
    due_day = TruncDate("due_at", tzinfo=tz)
    queryset = scope.cohort.order_by().filter(due_at__isnull=False).annotate(answered_day=answered_day, due_day=due_day)
    on_time = Q(first_response_at__isnull=False, answered_day__lte=F("due_day"))
    late = Q(answered_day__gt=F("due_day")) | Q(
        first_response_at__isnull=True, status__in=WAITING_FOR_US, due_day__lt=today
    )
    return queryset, on_time, late


def announced_met(first, due, tz):
    """A ticket's first answer (timestamps) against the local day announced
    (that of its due time): True by that day, False after, None when not
    answered or nothing was due."""
    if first is None or due is None:
        return None
    return datetime.datetime.fromtimestamp(first, tz).date() <= datetime.datetime.fromtimestamp(due, tz).date()


def services_publics(scope):
    if scope.daily is not None:
        totals = scope.daily.totals
        counts = {"on_time": totals["announced_on_time"], "late": totals["announced_late"]}
        counts["late"] += sum(r["announced"] for r in scope.daily.overdue(MARIANNE_DAYS))
    else:
        queryset, on_time, late = services_publics_q(scope)
        counts = queryset.aggregate(on_time=Count("pk", filter=on_time), late=Count("pk", filter=late))
    return Indicator(
        "services_publics",
        _("Services Publics+: answered by the date announced"),
        figures=[
            Figure(
                "compliance",
                _("Answered by the announced date"),
                share(counts["on_time"], counts["on_time"] + counts["late"]),
                "%",
            ),
            Figure("on_time", _("By the announced date"), counts["on_time"], better=""),
            Figure("late", _("After the announced date"), counts["late"], drill="announced_late", better="down"),
        ],
    )


def announced_late_ids(scope):
    queryset, _on_time, late = services_publics_q(scope)
    return queryset.filter(late).values("pk")


def acknowledged_q(within=None):
    """An acknowledgement queued within ACK_AT_ONCE of the request, not failed."""
    return Exists(
        _bounded(
            Outbox.objects.filter(
                ticket=OuterRef("pk"),
                idempotency_key__startswith="ack:",
                created_at__lte=OuterRef("created_at") + ACK_AT_ONCE,
            ).exclude(status=Outbox.Status.FAILED),
            within,
        )
    )


def within_working_days(created, first, clock):
    """A first answer (timestamps) before the end of the MARIANNE_DAYS-th
    working day after the day of reception; None when not answered."""
    return None if first is None else first < working_days_deadline(created, MARIANNE_DAYS, clock)


def marianne_rows(scope):
    """Written requests of the cohort: (pk, acknowledged at once, answered
    within MARIANNE_DAYS working days: True, False, or None when not due yet)."""
    rows = (
        scope.cohort.order_by()
        .filter(channel__in=WRITTEN_CHANNELS)
        .annotate(ack=acknowledged_q())
        .values_list("pk", "organisation_id", Epoch("created_at"), Epoch("first_response_at"), "status", "ack")
    )
    result = []
    now = scope.now.timestamp()
    for pk, organisation_id, created, first, status, acknowledged in rows:
        clock = scope.calendars[organisation_id]
        deadline = working_days_deadline(created, MARIANNE_DAYS, clock)
        if first is not None:
            within = within_working_days(created, first, clock)
        elif deadline <= now and status in WAITING_FOR_US:
            within = False
        else:
            within = None
        result.append((pk, acknowledged, within))
    return result


def marianne_counts(scope):
    """(written requests, acknowledged at once, answered within the working
    days, not answered within them)."""
    if scope.daily is not None:
        sums = scope.daily.totals
        written, acknowledged, within, late = (
            sums[k] for k in ("written", "acknowledged", "written_within", "written_late")
        )
        late += sum(r["marianne"] for r in scope.daily.overdue(MARIANNE_DAYS) if r["channel"] in WRITTEN_CHANNELS)
        return written, acknowledged, within, late
    rows = marianne_rows(scope)
    acknowledged = sum(1 for _pk, ack, _w in rows if ack)
    within = sum(1 for _pk, _a, w in rows if w is True)
    late = sum(1 for _pk, _a, w in rows if w is False)
    return len(rows), acknowledged, within, late


def marianne(scope):
    written, acknowledged, within, late = marianne_counts(scope)
    return Indicator(
        "marianne",
        _("Marianne: written requests"),
        figures=[
            Figure("written", _("Written requests"), written, drill="written", better=""),
            Figure("acknowledged", _("Acknowledged at once"), share(acknowledged, written), "%"),
            Figure(
                "not_acknowledged",
                _("Not acknowledged at once"),
                written - acknowledged,
                drill="not_acknowledged",
                better="down",
            ),
            Figure("within", _("Answered within 5 working days"), share(within, within + late), "%"),
            Figure("late", _("Not answered within 5 working days"), late, drill="marianne_late", better="down"),
        ],
    )


# -- backlog and unanswered -----------------------------------------------------------


def backlog(scope):
    """The requests still open now (the period does not apply)."""
    queryset = scope.tickets.order_by().filter(status__in=OPEN_STATUSES)
    now = scope.now
    buckets = {}
    for low, high in AGE_BUCKETS:
        condition = Q(created_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - datetime.timedelta(days=high))
        buckets[(low, high)] = Count("pk", filter=condition)
    # One scan of the index that holds the open tickets (ticket_backlog).
    counts = queryset.aggregate(
        total=Count("pk"),
        **{f"b{i}": aggregate for i, aggregate in enumerate(buckets.values())},
        **{f"s_{status}": Count("pk", filter=Q(status=status)) for status in OPEN_STATUSES},
    )
    counts["waiting"] = counts[f"s_{Ticket.Status.PENDING}"]
    oldest = queryset.order_by("created_at").values_list("created_at", flat=True).first()
    statuses = dict(Ticket.Status.choices)
    by_status = [
        {"status": status, "n": counts[f"s_{status}"]} for status in sorted(OPEN_STATUSES) if counts[f"s_{status}"]
    ]

    def label(low, high):
        if high is None:
            return _("%(low)d days or more") % {"low": low}
        return _("%(low)d to %(high)d days") % {"low": low, "high": high}

    return Indicator(
        "backlog",
        _("Backlog (now)"),
        compare=False,
        figures=[
            Figure("open", _("Open requests"), counts["total"], drill="backlog", better="down"),
            Figure("waiting", _("Waiting for the citizen"), counts["waiting"], better=""),
            Figure(
                "oldest_days",
                _("Age of the oldest (days)"),
                (now - oldest).days if oldest else None,
                better="down",
            ),
        ],
        tables=[
            Table(
                "age",
                _("By age (calendar days since received)"),
                [_("Age"), _("Open requests")],
                [[label(low, high), counts[f"b{i}"]] for i, (low, high) in enumerate(AGE_BUCKETS)],
                chart=1,
                links=[{"liste": "backlog", "age": f"{low}-{high or ''}"} for low, high in AGE_BUCKETS],
            ),
            Table(
                "status",
                _("By status"),
                [_("Status"), _("Open requests")],
                [[statuses[r["status"]], r["n"]] for r in by_status],
                chart=1,
                links=[{"liste": "backlog", "statut": r["status"]} for r in by_status],
            ),
        ],
    )


def unanswered_ids(scope):
    """Requests of the cohort with no answer yet, waiting for us, whose N
    working days are over."""
    days = scope.filters.unanswered_days
    rows = (
        scope.cohort.order_by()
        .filter(first_response_at__isnull=True, status__in=WAITING_FOR_US)
        .filter(created_at__lte=scope.now - datetime.timedelta(days=days))  # N working days are at least N days
        .values_list("pk", "organisation_id", Epoch("created_at"))
    )
    now = scope.now.timestamp()
    return [
        pk
        for pk, organisation_id, created in rows
        if working_days_deadline(created, days, scope.calendars[organisation_id]) <= now
    ]


def unanswered(scope):
    days = scope.filters.unanswered_days
    if scope.daily is not None:
        total = scope.daily.totals["tickets"]
        combos = [{**r, "n": r["unanswered"]} for r in scope.daily.overdue(MARIANNE_DAYS) if r["unanswered"]]
        by_service = _ranked(combos, ("service__slug", "service__name"), "service__name")
    else:
        total = scope.cohort.count()
        by_service = list(
            Ticket.objects.filter(pk__in=unanswered_ids(scope))
            .values("service__slug", "service__name")
            .annotate(n=Count("pk"))
            .order_by("-n", "service__name")
        )
    count = sum(r["n"] for r in by_service)
    return Indicator(
        "unanswered",
        _("Unanswered after %(days)d working days") % {"days": days},
        figures=[
            Figure("unanswered", _("Unanswered requests"), count, drill="unanswered", better="down"),
            Figure("share", _("Share of the requests received"), share(count, total), "%", better="down"),
        ],
        tables=[
            Table(
                "service",
                _("By service"),
                [_("Service"), _("Unanswered requests")],
                [[r["service__name"] or _("No service"), r["n"]] for r in by_service],
                chart=1,
                links=[
                    {"liste": "unanswered", "service": r["service__slug"]} if r["service__slug"] else None
                    for r in by_service
                ],
            )
        ],
    )


# -- transfers, routing, reopening -------------------------------------------------------


def transfer_counts(ticket_ids, within=None):
    """{ticket id: number of transfers} of the tickets transferred among ``ticket_ids``."""
    return dict(
        _bounded(TicketEvent.objects.filter(kind=TicketEvent.Kind.TRANSFERRED, ticket__in=ticket_ids), within)
        .order_by()
        .values_list("ticket_id")
        .annotate(n=Count("pk"))
    )


def service_names(labels):
    """{"organisation/slug" (as transfer events record a service): its name}."""
    wanted = [label.split("/", 1) for label in labels if label and "/" in label]
    if not wanted:
        return {}
    condition = Q()
    for organisation, slug in wanted:
        condition |= Q(organisation__slug=organisation, slug=slug)
    return {
        f"{organisation}/{slug}": name
        for organisation, slug, name in Service.objects.filter(condition).values_list(
            "organisation__slug", "slug", "name"
        )
    }


def _moves(scope, kind, source, target):
    """How many tickets of the period's corrected ones went from where to
    where, by events of ``kind`` (their ``source`` and ``target`` keys)."""
    return (
        TicketEvent.objects.filter(kind=kind, ticket__in=scope.corrected_ids)
        .order_by()
        .annotate(source=KT(f"data__{source}"), target=KT(f"data__{target}"))
        .values("source", "target")
        .annotate(n=Count("pk"))
        .order_by("-n", "source", "target")
    )


def transfers(scope):
    if scope.daily is not None:
        sums = scope.daily.totals
        total, once, twice = (sums[k] for k in ("tickets", "transferred_once", "transferred_twice"))
    else:
        counts = transfer_counts(scope.cohort.order_by().values("pk"))
        total = scope.cohort.count()
        once = len(counts)
        twice = sum(1 for n in counts.values() if n >= 2)
    pairs = []
    if not scope.figures_only:
        pairs = list(_moves(scope, TicketEvent.Kind.TRANSFERRED, "from_service", "to_service"))
    names = service_names({r["source"] for r in pairs} | {r["target"] for r in pairs})
    return Indicator(
        "transfers",
        _("Transfers between services"),
        figures=[
            Figure("once", _("Transferred at least once"), share(once, total), "%", drill="transferred", better="down"),
            Figure(
                "twice",
                _("Transferred twice or more"),
                share(twice, total),
                "%",
                drill="transferred_twice",
                better="down",
            ),
            Figure("transferred", _("Requests transferred"), once, drill="transferred", better="down"),
        ],
        tables=[
            Table(
                "pairs",
                _("Between which services"),
                [_("From"), _("To"), _("Transfers")],
                [
                    [
                        names.get(r["source"], r["source"]) or _("No service"),
                        names.get(r["target"], r["target"]) or "",
                        r["n"],
                    ]
                    for r in pairs
                ],
                chart=2,
            )
        ],
    )


def corrected_q(within=None):
    # One EXISTS (not two OR-ed), which PostgreSQL runs as a single semi-join.
    return Exists(
        _bounded(
            TicketEvent.objects.filter(
                ticket=OuterRef("pk"), kind__in=[TicketEvent.Kind.CORRECTED, TicketEvent.Kind.TRANSFERRED]
            ),
            within,
        )
    )


def routing(scope):
    if scope.daily is not None:
        counts = {"total": scope.daily.totals["tickets"], "corrected": scope.daily.totals["corrected"]}
    else:
        counts = scope.cohort.order_by().aggregate(total=Count("pk"), corrected=Count("pk", filter=corrected_q()))
    moves = []
    if not scope.figures_only:
        moves = _moves(scope, TicketEvent.Kind.CORRECTED, "from_topic", "to_topic")
    return Indicator(
        "routing",
        _("Routing accuracy"),
        figures=[
            Figure(
                "accuracy",
                _("Requests whose topic and service nobody corrected"),
                share(counts["total"] - counts["corrected"], counts["total"]),
                "%",
            ),
            Figure("corrected", _("Requests corrected"), counts["corrected"], drill="corrected", better="down"),
        ],
        tables=[
            Table(
                "topics",
                _("Topic corrections"),
                [_("Topic chosen by the router"), _("Topic chosen by the agent"), _("Corrections")],
                [[r["source"] or _("No topic"), r["target"] or _("No topic"), r["n"]] for r in moves],
                chart=2,
            )
        ],
    )


def resolved_once_q(within=None):
    return has_event(TicketEvent.Kind.STATUS_CHANGED, within, data__status__in=DONE_STATUSES)


def reopened_q(within=None):
    by_citizen = Q(kind=TicketEvent.Kind.REOPENED, data__previous=Ticket.Status.RESOLVED)
    by_agent = Q(
        kind=TicketEvent.Kind.STATUS_CHANGED, data__previous=Ticket.Status.RESOLVED, data__status=Ticket.Status.OPEN
    )
    return Exists(_bounded(TicketEvent.objects.filter(by_citizen | by_agent, ticket=OuterRef("pk")), within))


def reopening(scope):
    if scope.daily is not None:
        counts = {"resolved": scope.daily.totals["resolved_once"], "reopened": scope.daily.totals["reopened"]}
    else:
        counts = scope.cohort.order_by().aggregate(
            resolved=Count("pk", filter=resolved_once_q()), reopened=Count("pk", filter=reopened_q())
        )
    return Indicator(
        "reopening",
        _("Reopened requests"),
        figures=[
            Figure("rate", _("Reopen rate"), share(counts["reopened"], counts["resolved"]), "%", better="down"),
            Figure("reopened", _("Requests reopened"), counts["reopened"], drill="reopened", better="down"),
            Figure("resolved", _("Requests resolved at least once"), counts["resolved"], better=""),
        ],
    )


# -- satisfaction -----------------------------------------------------------------------


def ratings_of(ticket_ids, within=None):
    """The ratings (``rated`` events, with their ``score``) of these tickets."""
    return _bounded(TicketEvent.objects.filter(kind=TicketEvent.Kind.RATED, ticket__in=ticket_ids), within).annotate(
        score=Cast(KT("data__score"), IntegerField())
    )


def satisfaction(scope):
    if scope.daily is not None:
        sums = scope.daily.totals
        distribution = {s: sums[score_field(s)] for s in SCORES if sums[score_field(s)]}
        count = sum(distribution.values())
        average = sum(s * n for s, n in distribution.items()) / count if count else None
        summary, resolved = {"average": average, "rated": sums["rated"]}, sums["resolved_once"]
    else:
        ratings = ratings_of(scope.cohort.order_by().values("pk"))
        summary = ratings.aggregate(average=Avg("score"), rated=Count("ticket_id", distinct=True))
        distribution = dict(ratings.order_by().values_list("score").annotate(n=Count("pk")))
        resolved = scope.cohort.order_by().aggregate(n=Count("pk", filter=resolved_once_q()))["n"]
    return Indicator(
        "satisfaction",
        _("Satisfaction"),
        figures=[
            Figure("average", _("Average rating (out of 5)"), rounded(summary["average"], 2)),
            Figure("rated", _("Ratings received"), summary["rated"], drill="rated", better=""),
            Figure("response_rate", _("Response rate"), share(summary["rated"], resolved), "%"),
        ],
        tables=[
            Table(
                "distribution",
                _("Ratings"),
                [_("Rating"), _("Ratings received")],
                [[f"{score} / 5", distribution.get(score, 0)] for score in range(1, 6)],
                chart=1,
                links=[{"liste": "rated", "note": str(score)} for score in range(1, 6)],
            )
        ],
    )


# -- orientation without a ticket ------------------------------------------------------


def orientations_of(scope):
    from channels_app.models import Orientation

    f = scope.filters
    queryset = Orientation.objects.filter(f.period_q()).order_by()
    user = scope.user
    if not user.is_superuser:
        profile = AgentProfile.objects.filter(user=user).first()
        if profile is None:
            return queryset.none()
        queryset = queryset.filter(organisation_id=profile.organisation_id)
    if f.organisation is not None:
        queryset = queryset.filter(organisation=f.organisation)
    if f.service is not None:
        queryset = queryset.filter(service=f.service)
    if f.topic is not None:
        queryset = queryset.filter(Q(topic=f.topic) | Q(topic__parent=f.topic))
    if f.channel:
        queryset = queryset.filter(channel=f.channel)
    return queryset


def orientation(scope):
    from channels_app.models import Orientation

    queryset = orientations_of(scope)
    counts = queryset.aggregate(shown=Count("pk"), without=Count("pk", filter=Q(ticket__isnull=True)))
    channels = dict(Orientation.Channel.choices)
    by_channel = (
        queryset.values("channel")
        .annotate(shown=Count("pk"), without=Count("pk", filter=Q(ticket__isnull=True)))
        .order_by("channel")
    )
    by_topic = (
        queryset.filter(ticket__isnull=True)
        .values("topic__title")
        .annotate(n=Count("pk"))
        .order_by("-n", "topic__title")[:20]
    )
    return Indicator(
        "orientation",
        _("Citizens oriented without a ticket"),
        figures=[
            Figure("shown", _("Orientations shown"), counts["shown"], better=""),
            Figure("without", _("Oriented without writing"), counts["without"], better=""),
            Figure("share", _("Share oriented without a ticket"), share(counts["without"], counts["shown"]), "%"),
        ],
        tables=[
            Table(
                "channel",
                _("By channel"),
                [_("Channel"), _("Orientations shown"), _("Without a ticket")],
                [[channels.get(r["channel"], r["channel"]), r["shown"], r["without"]] for r in by_channel],
                chart=2,
            ),
            Table(
                "topic",
                _("Topics of the orientations without a ticket"),
                [_("Topic"), _("Without a ticket")],
                [[r["topic__title"], r["n"]] for r in by_topic],
                chart=1,
            ),
        ],
    )


# -- urgent requests ---------------------------------------------------------------------


def urgent_counts(scope):
    """(urgent requests, [median, 90th percentile] of their first answer in
    calendar minutes, those still waiting for an answer)."""
    if scope.daily is not None:
        count = scope.daily.by_priority.get(Ticket.Priority.URGENT, {}).get("tickets", 0)
        facts = scope.daily.facts().filter(priority=Ticket.Priority.URGENT)
        _n, minutes = percentiles(facts, ["first_response_minutes"], MEDIAN_P90)[None]["first_response_minutes"]
        waiting = sum(
            r["waiting"] for r in scope.daily.overdue(MARIANNE_DAYS) if r["priority"] == Ticket.Priority.URGENT
        )
        return count, minutes, waiting
    rows = list(
        scope.cohort.order_by()
        .filter(priority=Ticket.Priority.URGENT)
        .values_list(Epoch("created_at"), Epoch("first_response_at"), "status")
    )
    minutes = [calendar_minutes(created, first) for created, first, _s in rows if first is not None]
    waiting = sum(1 for _c, first, status in rows if first is None and status in WAITING_FOR_US)
    return len(rows), [percentile(minutes, f) for f in MEDIAN_P90], waiting


def calendar_minutes(created, first):
    return (first - created) / 60


def urgent(scope):
    count, (median, p90), waiting = urgent_counts(scope)
    return Indicator(
        "urgent",
        _("Urgent requests"),
        figures=[
            Figure("urgent", _("Urgent requests"), count, drill="urgent", better=""),
            Figure(
                "median",
                _("First answer, median (minutes, calendar time)"),
                rounded(median),
                "min",
                better="down",
            ),
            Figure(
                "p90",
                _("First answer, 90th percentile (minutes, calendar time)"),
                rounded(p90),
                "min",
                better="down",
            ),
            Figure("waiting", _("Still waiting for an answer"), waiting, drill="urgent_waiting", better="down"),
        ],
    )


# -- SMS and emails ------------------------------------------------------------------------


def messages(scope):
    f = scope.filters
    rows = (
        Outbox.objects.filter(
            f.period_q(), channel__in=[Channel.SMS, Channel.EMAIL], ticket__in=scope.tickets.order_by().values("pk")
        )
        .order_by()
        .values("channel")
        .annotate(
            queued=Count("pk", filter=Q(status__in=[Outbox.Status.QUEUED, Outbox.Status.SENDING])),
            sent=Count("pk", filter=Q(status=Outbox.Status.SENT)),
            delivered=Count("pk", filter=Q(delivery_status="delivered")),
            failed=Count("pk", filter=Q(status=Outbox.Status.FAILED) | Q(delivery_status__in=FAILED_DELIVERY)),
            cost=Sum(Cast(KT("payload__cost_eur"), FloatField()), filter=Q(status=Outbox.Status.SENT)),
            segments=Sum(Cast(KT("payload__segments"), IntegerField()), filter=Q(status=Outbox.Status.SENT)),
        )
    )
    by_channel = {r["channel"]: r for r in rows}
    sms = by_channel.get(Channel.SMS, {})
    email = by_channel.get(Channel.EMAIL, {})
    labels = {Channel.SMS: _("SMS"), Channel.EMAIL: _("Emails")}
    return Indicator(
        "messages",
        _("SMS and emails"),
        figures=[
            Figure("sms_sent", _("SMS sent"), sms.get("sent", 0), better=""),
            Figure("sms_delivered", _("SMS delivered"), sms.get("delivered", 0), better=""),
            Figure("sms_failed", _("SMS failed"), sms.get("failed", 0), better="down"),
            Figure("sms_cost", _("SMS cost"), round(sms.get("cost") or 0, 2), "€", better=""),
            Figure("email_sent", _("Emails sent"), email.get("sent", 0), better=""),
            Figure("email_delivered", _("Emails delivered"), email.get("delivered", 0), better=""),
            Figure("email_failed", _("Emails failed"), email.get("failed", 0), better="down"),
        ],
        tables=[
            Table(
                "channel",
                _("By channel"),
                [_("Channel"), _("Queued"), _("Sent"), _("Delivered"), _("Failed"), _("SMS segments"), _("Cost (€)")],
                [
                    [
                        labels[channel],
                        r.get("queued", 0),
                        r.get("sent", 0),
                        r.get("delivered", 0),
                        r.get("failed", 0),
                        r.get("segments") or 0,
                        round(r.get("cost") or 0, 2),
                    ]
                    for channel, r in ((c, by_channel.get(c, {})) for c in (Channel.SMS, Channel.EMAIL))
                ],
                chart=2,
            )
        ],
    )


INDICATORS = {
    "volumes": volumes,
    "times": response_times,
    "sla": sla,
    "services_publics": services_publics,
    "marianne": marianne,
    "backlog": backlog,
    "unanswered": unanswered,
    "transfers": transfers,
    "routing": routing,
    "reopening": reopening,
    "satisfaction": satisfaction,
    "orientation": orientation,
    "urgent": urgent,
    "messages": messages,
}


def compute(scope, key, compare=True):
    """One indicator, with the previous period's figures beside its own."""
    indicator = INDICATORS[key](scope)
    if compare and indicator.compare:
        previous = {figure.key: figure.value for figure in INDICATORS[key](scope.previous_figures).figures}
        for figure in indicator.figures:
            figure.previous = previous.get(figure.key)
    return indicator


def compute_all(scope, keys=None, compare=True):
    return [compute(scope, key, compare) for key in (keys or INDICATORS)]
