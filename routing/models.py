"""Routing rules, SLA policies, per-service assignment and the record of
agents' corrections."""

import re
import re._constants as sre_constants
import re._parser as sre_parse
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel
from kb.models import PRIORITY_CHOICES

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}


def _nested_repeat(items, inside_repeat=False):
    """Whether a parsed pattern repeats something that itself repeats without
    bound, like ``(a+)+``: such patterns backtrack exponentially on a text
    that almost matches, and one rule would stall every ingestion.
    (Possessive repeats and atomic groups never backtrack: not looked into.)"""
    for op, av in items:
        if op in _REPEATS:
            _low, high, sub = av
            if inside_repeat and high == sre_constants.MAXREPEAT:
                return True
            children, repeated = [sub], inside_repeat or high > 1
        elif op == sre_constants.SUBPATTERN:
            children, repeated = [av[-1]], inside_repeat
        elif op == sre_constants.BRANCH:
            children, repeated = av[1], inside_repeat
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            children, repeated = [av[1]], inside_repeat
        elif op == sre_constants.GROUPREF_EXISTS:
            children, repeated = [branch for branch in av[1:] if branch], inside_repeat
        else:
            continue
        if any(_nested_repeat(child, repeated) for child in children):
            return True
    return False


def regex_error(pattern):
    """Why a rule's regular expression is refused, or "" when it is fine."""
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return _("Invalid regular expression %(pattern)s: %(error)s") % {"pattern": f"“{pattern}”", "error": exc}
    if _nested_repeat(list(parsed)):
        return _(
            "The regular expression %(pattern)s repeats a group that itself repeats (like (a+)+): "
            "some messages would take hours to check. Write it without the nested repetition."
        ) % {"pattern": f"“{pattern}”"}
    return ""


def _is_list_of(value, check):
    return isinstance(value, list) and all(check(item) for item in value)


class Rule(models.Model):
    """Evaluated in order, before or after the matcher. Empty conditions match."""

    class Stage(models.TextChoices):
        BEFORE = "before", _("Before the matcher")
        AFTER = "after", _("After the matcher")

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="rules", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, default=Stage.BEFORE)
    is_active = models.BooleanField(_("active"), default=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    sender_pattern = models.CharField(
        _("sender"),
        max_length=254,
        blank=True,
        help_text=_("An address, @domain for a whole domain, or a phone number."),
    )
    subject_regex = models.CharField(_("subject matches (regular expression)"), max_length=500, blank=True)
    body_regex = models.CharField(_("text matches (regular expression)"), max_length=500, blank=True)
    postcode_prefixes = models.JSONField(_("postcode prefixes"), default=list, blank=True)
    weekdays = models.JSONField(_("weekdays (0 = Monday)"), default=list, blank=True)
    hour_from = models.PositiveSmallIntegerField(
        _("from hour"), null=True, blank=True, help_text=_("In the organisation's time zone; 18 to 8 spans the night.")
    )
    hour_to = models.PositiveSmallIntegerField(_("to hour (excluded)"), null=True, blank=True)
    set_topic = models.ForeignKey(
        "kb.Topic", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("set topic")
    )
    set_service = models.ForeignKey(
        "kb.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("set service")
    )
    set_priority = models.CharField(_("set priority"), max_length=10, choices=PRIORITY_CHOICES, blank=True)
    add_tags = models.JSONField(_("add tags"), default=list, blank=True)
    set_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to"),
    )
    stop = models.BooleanField(_("stop"), default=False, help_text=_("No further rule, and no matcher."))

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["organisation", "stage", "position", "pk"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.full_clean(exclude=["organisation", "set_topic", "set_service", "set_assignee"])
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        for field in ("subject_regex", "body_regex"):
            pattern = getattr(self, field)
            if pattern:
                error = regex_error(pattern)
                if error:
                    errors[field] = error
        for field in ("hour_from", "hour_to"):
            value = getattr(self, field)
            if value is not None and value > 24:
                errors[field] = _("An hour is between 0 and 24.")
        if self.hour_from is not None and self.hour_from == self.hour_to:
            errors["hour_to"] = _("The hour range is empty: leave both hours blank to match at any time.")
        if not _is_list_of(self.channels, lambda c: c in Channel.values):
            errors["channels"] = _("Channels are a list among: %(channels)s.") % {"channels": ", ".join(Channel.values)}
        if not _is_list_of(self.weekdays, lambda d: type(d) is int and 0 <= d <= 6):
            errors["weekdays"] = _("Weekdays are a list of numbers from 0 (Monday) to 6 (Sunday).")
        if not _is_list_of(self.postcode_prefixes, lambda p: isinstance(p, str) and re.fullmatch(r"\d{1,5}", p)):
            errors["postcode_prefixes"] = _('Postcode prefixes are a list of 1 to 5 digits, e.g. ["99", "99300"].')
        if not _is_list_of(self.add_tags, lambda t: isinstance(t, str) and 0 < len(t.strip()) <= 50):
            errors["add_tags"] = _("Tags are a list of short texts (50 characters at most).")
        if self.set_assignee_id and self.organisation_id:
            from contacts.models import AgentProfile

            agents = AgentProfile.objects.filter(user_id=self.set_assignee_id, organisation_id=self.organisation_id)
            if not agents.exists():
                errors["set_assignee"] = _("Only an agent of the rule's organisation can be assigned.")
        if errors:
            raise ValidationError(errors)

    def matches_hour(self, hour):
        """Whether a local hour is in the rule's range (18 to 8 spans the night)."""
        start, end = self.hour_from, self.hour_to
        if start is None and end is None:
            return True
        if start is None:
            return hour < end
        if end is None:
            return hour >= start
        if start < end:
            return start <= hour < end
        return hour >= start or hour < end


class SlaPolicy(models.Model):
    """Time to first answer and to resolution, in business hours; the most
    specific policy (topic, then service, then priority) wins."""

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="sla_policies", verbose_name=_("organisation")
    )
    service = models.ForeignKey(
        "kb.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    topic = models.ForeignKey(
        "kb.Topic", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("topic")
    )
    priority = models.CharField(_("priority"), max_length=10, choices=PRIORITY_CHOICES, blank=True)
    first_response_hours = models.PositiveIntegerField(_("first answer within (business hours)"))
    resolution_hours = models.PositiveIntegerField(_("resolution within (business hours)"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self):
        scope = " / ".join(str(part) for part in (self.topic, self.service, self.get_priority_display()) if part)
        return f"{scope or self.organisation}: {self.first_response_hours} h"

    def save(self, *args, **kwargs):
        self.full_clean(exclude=["organisation", "service", "topic"])
        super().save(*args, **kwargs)

    @property
    def specificity(self):
        """Topic outweighs service, which outweighs priority."""
        return 4 * bool(self.topic_id) + 2 * bool(self.service_id) + bool(self.priority)

    def applies_to(self, ticket):
        return (
            (not self.topic_id or self.topic_id == ticket.topic_id)
            and (not self.service_id or self.service_id == ticket.service_id)
            and (not self.priority or self.priority == ticket.priority)
        )

    def clean(self):
        errors = {}
        if self.first_response_hours is not None and self.first_response_hours < 1:
            errors["first_response_hours"] = _("Allow at least one business hour.")
        if (
            self.resolution_hours is not None
            and self.first_response_hours is not None
            and self.resolution_hours < self.first_response_hours
        ):
            errors["resolution_hours"] = _("Resolution cannot be due before the first answer.")
        if self.service_id and self.organisation_id and self.service.organisation_id != self.organisation_id:
            errors["service"] = _("The service must belong to the policy's organisation.")
        if self.organisation_id:
            same_scope = SlaPolicy.objects.filter(
                organisation_id=self.organisation_id,
                service_id=self.service_id,
                topic_id=self.topic_id,
                priority=self.priority,
            ).exclude(pk=self.pk)
            if same_scope.exists():
                errors["__all__"] = _("A policy with the same organisation, service, topic and priority exists.")
        if errors:
            raise ValidationError(errors)


HOLIDAY_SUBDIVISIONS = [
    ("6AE", _("Alsace")),
    ("57", _("Moselle")),
    ("971", _("Guadeloupe")),
    ("972", _("Martinique")),
    ("973", _("Guyane")),
    ("974", _("La Réunion")),
    ("976", _("Mayotte")),
]


class BusinessHours(models.Model):
    """An organisation's opening hours: {"0": [["09:00", "12:00"], ...], ...}
    keyed by weekday (0 = Monday). French public holidays are closed."""

    DEFAULT = {str(day): [["09:00", "12:00"], ["13:30", "17:00"]] for day in range(5)}

    organisation = models.OneToOneField(
        "kb.Organisation", on_delete=models.CASCADE, related_name="business_hours", verbose_name=_("organisation")
    )
    schedule = models.JSONField(
        _("weekly schedule"),
        default=dict,
        help_text=_('Weekday (0 = Monday) to opening ranges, e.g. {"0": [["09:00", "12:00"], ["13:30", "17:00"]]}.'),
    )
    holiday_subdivision = models.CharField(
        _("public holidays of"),
        max_length=10,
        blank=True,
        choices=HOLIDAY_SUBDIVISIONS,
        help_text=_("Leave blank for metropolitan France; Alsace and Moselle have two more days."),
    )
    closed_dates = models.JSONField(
        _("other closed days"), default=list, blank=True, help_text=_('Dates as ["2026-05-15", ...].')
    )

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self):
        return str(self.organisation)

    def save(self, *args, **kwargs):
        self.full_clean(exclude=["organisation"])
        super().save(*args, **kwargs)

    def clean(self):
        if not _is_list_of(self.closed_dates, _is_date):
            raise ValidationError({"closed_dates": _('Write closed days as ["2026-05-15", ...].')})
        if not isinstance(self.schedule, dict):
            raise ValidationError({"schedule": _("The schedule maps weekdays to lists of [start, end] times.")})
        for day, ranges in self.schedule.items():
            if day not in {str(d) for d in range(7)} or not isinstance(ranges, list):
                raise ValidationError({"schedule": _("Unknown weekday %(day)s.") % {"day": day}})
            for item in ranges:
                if not (isinstance(item, list) and len(item) == 2 and all(_is_time(t) for t in item)):
                    raise ValidationError({"schedule": _('Write each range as ["09:00", "12:00"].')})
                if item[0] >= item[1]:
                    raise ValidationError({"schedule": _("A range must end after it starts.")})
        if not any(self.schedule.values()):
            raise ValidationError({"schedule": _("Open at least one range in the week: due times are counted in it.")})


def _is_date(value):
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_time(value):
    return isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value) is not None


class ServiceRouting(models.Model):
    class Mode(models.TextChoices):
        SHARED = "shared", _("Shared queue")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")

    service = models.OneToOneField(
        "kb.Service", on_delete=models.CASCADE, related_name="routing", verbose_name=_("service")
    )
    mode = models.CharField(_("assignment"), max_length=15, choices=Mode.choices, default=Mode.SHARED)
    cursor = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("service assignment")
        verbose_name_plural = _("service assignments")

    def __str__(self):
        return f"{self.service}: {self.get_mode_display()}"


class RoutingCorrection(models.Model):
    ticket = models.ForeignKey(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="corrections", verbose_name=_("ticket")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("agent")
    )
    from_topic = models.ForeignKey(
        "kb.Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("from topic")
    )
    to_topic = models.ForeignKey(
        "kb.Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("to topic")
    )
    from_service = models.ForeignKey(
        "kb.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("from service")
    )
    to_service = models.ForeignKey(
        "kb.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("to service")
    )
    text = models.TextField(_("text of the request"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("routing correction")
        verbose_name_plural = _("routing corrections")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.ticket}: {self.from_topic} → {self.to_topic}"
