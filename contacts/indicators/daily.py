"""Reading the daily aggregates and the ticket facts for a Scope, when they
answer exactly what the live computation would: one organisation chosen
(its days are the aggregates' days), aggregates rebuilt at least once for
it, and every ticket the user may see being told apart by the aggregates'
service and topic (a manager sees a sensitive topic's tickets in their own
services; one assigned to them elsewhere makes the dashboard compute live)."""

from django.db.models import Q

from contacts.indicators.models import AggregateBuild, DailyAggregate, TicketFact
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

    def __init__(self, filters, visible):
        self.filters = filters
        self.visible = visible

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

    def facts(self):
        """The facts of the tickets received in the period, within the filters."""
        return self._filter(TicketFact.objects.all())


def for_scope(scope):
    """A Daily for this scope, or None when the indicators must be computed live."""
    f = scope.filters
    if f.organisation is None or not AggregateBuild.objects.filter(organisation=f.organisation).exists():
        return None
    visible = _visibility(scope.user, f.organisation)
    return None if visible is None else Daily(f, visible)
