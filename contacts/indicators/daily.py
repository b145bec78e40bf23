"""Reading the daily aggregates and the ticket facts for a Scope, when they
answer exactly what the live computation would: one organisation chosen
(its days are the aggregates' days), aggregates rebuilt at least once for
it, and every ticket the user may see being told apart by the aggregates'
service and topic (a manager sees a sensitive topic's tickets in their own
services; one assigned to them elsewhere makes the dashboard compute live)."""

from functools import cached_property

from django.db.models import Count, IntegerField, Q, Sum, Value

from contacts.indicators.models import HOURS, SUMMED, AggregateBuild, DailyAggregate, TicketFact, hour_field
from contacts.models import AgentProfile, Ticket


def _visibility(user, organisation):
    """The condition on aggregates (or facts) of what the user may see, or
    None when the aggregates cannot tell it apart."""
    if user.is_superuser:
        return Q()
    profile = AgentProfile.objects.filter(user=user, organisation=organisation).first()
    if profile is None:
        return None
    own_services = list(profile.services.values_list("pk", flat=True))
    hidden = Q(topic__sensitive=True) & ~Q(service__in=own_services)
    if Ticket.objects.filter(hidden, organisation=organisation, assignee=user).exists():
        return None
    return Q(topic__isnull=True) | Q(topic__sensitive=False) | Q(service__in=own_services)


class Daily:
    """The aggregates and facts of a scope (see ``for_scope``)."""

    def __init__(self, scope, visible):
        self.scope = scope
        self.filters = scope.filters
        self.visible = visible
        self._overdue = {}

    def _filter(self, queryset):
        f = self.filters
        queryset = queryset.filter(self.visible, organisation=f.organisation, day__gte=f.start, day__lte=f.end)
        if f.service is not None:
            queryset = queryset.filter(service=f.service)
        if f.channel:
            queryset = queryset.filter(channel=f.channel)
        if f.topic is not None:
            queryset = queryset.filter(Q(topic=f.topic) | Q(topic__parent=f.topic))
        return queryset.order_by()

    def rows(self):
        """The period's non-empty daily aggregates within the filters."""
        return self._filter(DailyAggregate.objects.filter(tickets__gt=0))

    @cached_property
    def _by_day_and_priority(self):
        """Every summed field of the period's rows by day and priority: one
        scan that totals, by_day and by_priority share."""
        return list(self.rows().values("day", "priority").annotate(**{name: Sum(name) for name in SUMMED}))

    @cached_property
    def totals(self):
        """Every summed field of the period's rows, summed."""
        rows = self._by_day_and_priority
        return {name: sum(row[name] or 0 for row in rows) for name in SUMMED}

    @cached_property
    def by_day(self):
        """{day: requests received}."""
        days = {}
        for row in self._by_day_and_priority:
            days[row["day"]] = days.get(row["day"], 0) + row["tickets"]
        return days

    @cached_property
    def by_hour(self):
        """{local hour: requests received} (hours with requests only)."""
        return {h: self.totals[hour_field(h)] for h in HOURS if self.totals[hour_field(h)]}

    @cached_property
    def by_priority(self):
        """{priority: {"tickets", "sla_on_time", "sla_late"}}."""
        priorities = {}
        for row in self._by_day_and_priority:
            sums = priorities.setdefault(row["priority"], {"tickets": 0, "sla_on_time": 0, "sla_late": 0})
            for name in sums:
                sums[name] += row[name]
        return priorities

    def facts(self):
        """The facts of the tickets received in the period, within the filters."""
        return self._filter(TicketFact.objects.all())

    def waiting(self):
        """The facts of those still unanswered and waiting for us: what the
        dashboard compares with "now" (a partial index holds them)."""
        return self._filter(TicketFact.objects.filter(waiting=True))

    def overdue(self, marianne_days):
        """The requests still waiting for an answer by priority, channel and
        service (one scan of the partial index): all of them (``waiting``),
        those whose due time is passed (``sla``), whose announced day is over
        (``announced``), whose ``marianne_days`` working days are over
        (``marianne``), whose N working days of the filter are over
        (``unanswered``)."""
        if marianne_days not in self._overdue:
            now = self.scope.now
            today = now.astimezone(self.filters.tz).date()

            def received_by(days):
                over = self.last_day_over(days)
                if over is None:
                    return Value(0, output_field=IntegerField())
                return Count("pk", filter=Q(day__lte=over))

            self._overdue[marianne_days] = list(
                self.waiting()
                .values("priority", "channel", "service__slug", "service__name")
                .annotate(
                    waiting=Count("pk"),
                    sla=Count("pk", filter=Q(due_at__lte=now)),
                    announced=Count("pk", filter=Q(due_day__lt=today)),
                    marianne=received_by(marianne_days),
                    unanswered=received_by(self.filters.unanswered_days),
                )
            )
        return self._overdue[marianne_days]

    def last_day_over(self, days):
        """The last day of the period whose requests have had their ``days``
        working days end by now, or None."""
        clock = self.scope.calendars[self.filters.organisation.pk]
        return clock.last_day_over(self.filters.start, self.filters.end, days, self.scope.now.timestamp())


def for_scope(scope):
    """A Daily for this scope, or None when the indicators must be computed live."""
    f = scope.filters
    if f.organisation is None or not AggregateBuild.objects.filter(organisation=f.organisation).exists():
        return None
    visible = _visibility(scope.user, f.organisation)
    return None if visible is None else Daily(scope, visible)
