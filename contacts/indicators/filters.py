"""The filters of the indicators (period, organisation, service, channel,
topic), read from a query string and checked; the previous period."""

import datetime
import zoneinfo
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.channels import Channel
from contacts.models import AgentProfile
from kb.models import Organisation, Service, Topic

MAX_DAYS = 366
DEFAULT_DAYS = 7
DEFAULT_UNANSWERED_DAYS = 5


class FilterError(ValidationError):
    """A filter that cannot be used; the message says which one and why."""


@dataclass(frozen=True)
class Filters:
    start: datetime.date  # first day, included
    end: datetime.date  # last day, included
    tz: object
    organisation: Organisation | None = None
    service: Service | None = None
    channel: str = ""
    topic: Topic | None = None
    unanswered_days: int = DEFAULT_UNANSWERED_DAYS

    @property
    def since(self):
        """The first moment of the period (aware, local midnight)."""
        return datetime.datetime.combine(self.start, datetime.time(), tzinfo=self.tz)

    @property
    def until(self):
        """The first moment after the period."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time(), tzinfo=self.tz)

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def previous(self):
        """The period of the same length just before this one."""
        length = datetime.timedelta(days=self.days)
        return replace(self, start=self.start - length, end=self.end - length)

    def ticket_q(self, prefix=""):
        """The condition on tickets (``prefix`` e.g. "ticket__") of every
        filter but the period."""
        q = Q()
        if self.organisation is not None:
            q &= Q(**{f"{prefix}organisation": self.organisation})
        if self.service is not None:
            q &= Q(**{f"{prefix}service": self.service})
        if self.channel:
            q &= Q(**{f"{prefix}channel": self.channel})
        if self.topic is not None:
            q &= Q(**{f"{prefix}topic": self.topic}) | Q(**{f"{prefix}topic__parent": self.topic})
        return q

    def period_q(self, field="created_at"):
        return Q(**{f"{field}__gte": self.since, f"{field}__lt": self.until})

    def as_params(self):
        """The query-string parameters that give these filters back."""
        params = {"du": self.start.isoformat(), "au": self.end.isoformat()}
        if self.organisation is not None:
            params["organisation"] = self.organisation.slug
        if self.service is not None:
            params["service"] = self.service.slug
        if self.channel:
            params["canal"] = self.channel
        if self.topic is not None:
            params["sujet"] = self.topic.slug
        if self.unanswered_days != DEFAULT_UNANSWERED_DAYS:
            params["jours"] = str(self.unanswered_days)
        return params


def _date(value, label):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise FilterError(
            _("The %(field)s “%(value)s” is not a date: write it as YYYY-MM-DD."),
            params={"field": label, "value": value},
            code="date",
        ) from None


def parse_filters(params, user, today=None):
    """Filters from a query string (keys du, au, organisation, service,
    canal, sujet, jours); raises FilterError with a French message. An
    agent's manager can only choose their own organisation."""
    errors = []
    profile = AgentProfile.objects.select_related("organisation").filter(user=user).first()
    organisation = profile.organisation if profile is not None and not user.is_superuser else None
    slug = (params.get("organisation") or "").strip()
    if slug:
        if organisation is not None and slug != organisation.slug or organisation is None and not user.is_superuser:
            errors.append(_("Unknown organisation “%(value)s”.") % {"value": slug})
        elif organisation is None:
            organisation = Organisation.objects.filter(slug=slug).first()
            if organisation is None:
                errors.append(_("Unknown organisation “%(value)s”.") % {"value": slug})
    tz = organisation.tzinfo if organisation is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = today or timezone.now().astimezone(tz).date()

    start = end = None
    try:
        end = _date(params["au"].strip(), _("end date")) if params.get("au") else today
    except FilterError as exc:
        errors.extend(exc.messages)
    try:
        start = (
            _date(params["du"].strip(), _("start date"))
            if params.get("du")
            else (end or today) - datetime.timedelta(days=DEFAULT_DAYS - 1)
        )
    except FilterError as exc:
        errors.extend(exc.messages)
    if start and end:
        if start > end:
            errors.append(_("The start date must not be after the end date."))
        elif (end - start).days + 1 > MAX_DAYS:
            errors.append(_("The period is too long: %(max)d days at most.") % {"max": MAX_DAYS})

    scope = {"organisation": organisation} if organisation is not None else {}
    service = topic = None
    value = (params.get("service") or "").strip()
    if value:
        service = Service.objects.filter(slug=value, **scope).order_by("pk").first()
        if service is None:
            errors.append(_("Unknown service “%(value)s”.") % {"value": value})
    value = (params.get("sujet") or "").strip()
    if value:
        topic = Topic.objects.filter(slug=value, **scope).order_by("pk").first()
        if topic is None:
            errors.append(_("Unknown topic “%(value)s”.") % {"value": value})
    channel = (params.get("canal") or "").strip()
    if channel and channel not in Channel.values:
        errors.append(_("Unknown channel “%(value)s”.") % {"value": channel})
    days = DEFAULT_UNANSWERED_DAYS
    value = (params.get("jours") or "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= 60:
            errors.append(_("The number of working days must be a whole number from 1 to 60."))
        else:
            days = int(value)
    if errors:
        raise FilterError(errors)
    return Filters(start, end, tz, organisation, service, channel, topic, days)
