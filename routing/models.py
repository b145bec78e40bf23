"""Routing rules, SLA policies, per-service assignment and the record of
agents' corrections."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kb.models import PRIORITY_CHOICES


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
        _("sender"), max_length=254, blank=True, help_text=_("An address, or @domain for a whole domain.")
    )
    subject_regex = models.CharField(_("subject matches (regular expression)"), max_length=500, blank=True)
    body_regex = models.CharField(_("text matches (regular expression)"), max_length=500, blank=True)
    postcode_prefixes = models.JSONField(_("postcode prefixes"), default=list, blank=True)
    weekdays = models.JSONField(_("weekdays (0 = Monday)"), default=list, blank=True)
    hour_from = models.PositiveSmallIntegerField(_("from hour"), null=True, blank=True)
    hour_to = models.PositiveSmallIntegerField(_("to hour"), null=True, blank=True)
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
                try:
                    re.compile(pattern)
                except re.error as exc:
                    errors[field] = _("Invalid regular expression %(pattern)s: %(error)s") % {
                        "pattern": repr(pattern),
                        "error": exc,
                    }
        for field in ("hour_from", "hour_to"):
            value = getattr(self, field)
            if value is not None and value > 24:
                errors[field] = _("An hour is between 0 and 24.")
        if errors:
            raise ValidationError(errors)


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
        scope = self.topic or self.service or self.get_priority_display() or self.organisation
        return f"{scope}: {self.first_response_hours} h"


class BusinessHours(models.Model):
    """An organisation's opening hours: {"0": [["09:00", "12:00"], ...], ...}
    keyed by weekday (0 = Monday). French public holidays are closed."""

    DEFAULT = {str(day): [["09:00", "12:00"], ["13:30", "17:00"]] for day in range(5)}

    organisation = models.OneToOneField(
        "kb.Organisation", on_delete=models.CASCADE, related_name="business_hours", verbose_name=_("organisation")
    )
    schedule = models.JSONField(_("weekly schedule"), default=dict)

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self):
        return str(self.organisation)

    def save(self, *args, **kwargs):
        self.full_clean(exclude=["organisation"])
        super().save(*args, **kwargs)

    def clean(self):
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
