"""The tickets behind a figure: each list is a queryset of the tickets the
user may see (Scope.tickets), so a drill-down never shows more than the
figure counted."""

import datetime

from django.db.models.functions import ExtractHour
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.indicators import compute
from contacts.indicators.filters import FilterError
from contacts.models import Ticket, TicketEvent


def _created(scope, params):
    return scope.cohort


def _answered(scope, params):
    return scope.cohort.filter(first_response_at__isnull=False)


def _resolved(scope, params):
    return scope.cohort.filter(resolved_at__isnull=False)


def _sla_on_time(scope, params):
    return scope.cohort.filter(compute.sla_q(scope.now)[0])


def _sla_late(scope, params):
    return scope.cohort.filter(compute.sla_q(scope.now)[1])


def _announced_late(scope, params):
    return scope.cohort.filter(pk__in=compute.announced_late_ids(scope))


def _written(scope, params):
    return scope.cohort.filter(channel__in=compute.WRITTEN_CHANNELS)


def _not_acknowledged(scope, params):
    return scope.cohort.filter(pk__in=[pk for pk, ack, _w in compute.marianne_rows(scope) if not ack])


def _marianne_late(scope, params):
    return scope.cohort.filter(pk__in=[pk for pk, _a, within in compute.marianne_rows(scope) if within is False])


def _backlog(scope, params):
    queryset = scope.tickets.filter(status__in=compute.OPEN_STATUSES)
    status = params.get("statut", "")
    if status:
        if status not in compute.OPEN_STATUSES:
            raise FilterError(_("Unknown status “%(value)s”.") % {"value": status})
        queryset = queryset.filter(status=status)
    age = params.get("age", "")
    if age:
        low, _sep, high = age.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise FilterError(_("The age must be written as two numbers of days, e.g. 3-7."))
        queryset = queryset.filter(created_at__lte=scope.now - datetime.timedelta(days=int(low)))
        if high:
            queryset = queryset.filter(created_at__gt=scope.now - datetime.timedelta(days=int(high)))
    return queryset


def _unanswered(scope, params):
    return scope.cohort.filter(pk__in=compute.unanswered_ids(scope))


def _transferred(scope, params):
    return scope.cohort.filter(pk__in=list(compute.transfer_counts(scope.cohort.order_by().values("pk"))))


def _transferred_twice(scope, params):
    return scope.cohort.filter(
        pk__in=[pk for pk, n in compute.transfer_counts(scope.cohort.order_by().values("pk")).items() if n >= 2]
    )


def _corrected(scope, params):
    return scope.cohort.filter(compute.corrected_q())


def _reopened(scope, params):
    return scope.cohort.filter(compute.reopened_q())


def _rated(scope, params):
    score = params.get("note", "")
    data = {}
    if score:
        if score not in {"1", "2", "3", "4", "5"}:
            raise FilterError(_("The rating must be a number from 1 to 5."))
        data["data__score"] = int(score)
    return scope.cohort.filter(compute.has_event(TicketEvent.Kind.RATED, **data))


def _urgent(scope, params):
    return scope.cohort.filter(priority=Ticket.Priority.URGENT)


def _urgent_waiting(scope, params):
    return _urgent(scope, params).filter(first_response_at__isnull=True, status__in=compute.WAITING_FOR_US)


LISTS = {
    "created": (_created, gettext_lazy("Requests received")),
    "answered": (_answered, gettext_lazy("Requests answered")),
    "resolved": (_resolved, gettext_lazy("Requests resolved")),
    "sla_on_time": (_sla_on_time, gettext_lazy("First answers on time")),
    "sla_late": (_sla_late, gettext_lazy("First answers late or overdue")),
    "announced_late": (_announced_late, gettext_lazy("Answered after the announced date")),
    "written": (_written, gettext_lazy("Written requests")),
    "not_acknowledged": (_not_acknowledged, gettext_lazy("Written requests not acknowledged at once")),
    "marianne_late": (_marianne_late, gettext_lazy("Written requests not answered within 5 working days")),
    "backlog": (_backlog, gettext_lazy("Open requests")),
    "unanswered": (_unanswered, gettext_lazy("Unanswered requests")),
    "transferred": (_transferred, gettext_lazy("Requests transferred")),
    "transferred_twice": (_transferred_twice, gettext_lazy("Requests transferred twice or more")),
    "corrected": (_corrected, gettext_lazy("Requests whose routing was corrected")),
    "reopened": (_reopened, gettext_lazy("Requests reopened")),
    "rated": (_rated, gettext_lazy("Rated requests")),
    "urgent": (_urgent, gettext_lazy("Urgent requests")),
    "urgent_waiting": (_urgent_waiting, gettext_lazy("Urgent requests still waiting for an answer")),
}


def tickets_behind(scope, name, params):
    """(title, queryset) of the list ``name``; FilterError when unknown."""
    if name not in LISTS:
        raise FilterError(_("Unknown list “%(value)s”.") % {"value": name})
    function, title = LISTS[name]
    queryset = function(scope, params)
    priority = params.get("priorite", "")
    if priority:
        if priority not in Ticket.Priority.values:
            raise FilterError(_("Unknown priority “%(value)s”.") % {"value": priority})
        queryset = queryset.filter(priority=priority)
    hour = params.get("heure", "")
    if hour:
        if not hour.isdigit() or not 0 <= int(hour) <= 23:
            raise FilterError(_("The hour must be a number from 0 to 23."))
        queryset = queryset.annotate(local_hour=ExtractHour("created_at", tzinfo=scope.filters.tz)).filter(
            local_hour=int(hour)
        )
    return title, queryset
