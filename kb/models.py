"""Who does what: organisations, their services and the citizens' topics.

The knowledge-base issue completes these models (territories, contact points,
topic tree details, templates, YAML import/export).
"""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

slug_validator = RegexValidator(r"^[a-z0-9-]+$", _("Use only lower-case letters, digits and hyphens."))


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(value)s"), params={"value": value})


class Organisation(models.Model):
    class Kind(models.TextChoices):
        REGION = "region", _("Region")
        DEPARTEMENT = "departement", _("Département")
        COMMUNE = "commune", _("Commune")
        EPCI = "epci", _("Intercommunality")
        ETAT = "etat", _("State service")
        PARTENAIRE = "partenaire", _("Partner")

    slug = models.CharField(_("slug"), max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone])
    reference_prefix = models.CharField(
        _("reference prefix"),
        max_length=12,
        blank=True,
        help_text=_("Starts every ticket reference, e.g. CD99 in CD99-2026-000123. Defaults to the slug."),
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.reference_prefix:
            self.reference_prefix = self.slug.upper().replace("-", "")[:12]
        super().save(*args, **kwargs)

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)

    def triage_service(self):
        """The service that receives what nobody else is known to handle."""
        services = self.services.order_by("-is_triage", "position", "pk")
        return services.first()


class Service(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="services", verbose_name=_("organisation")
    )
    slug = models.CharField(_("slug"), max_length=64, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_triage = models.BooleanField(
        _("triage service"),
        default=False,
        help_text=_("Receives the requests that could not be routed to a competent service."),
    )
    sla_hours = models.PositiveIntegerField(_("time to first answer (hours)"), null=True, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["organisation", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="kb_service_unique_slug"),
        ]

    def __str__(self):
        return f"{self.organisation.slug}/{self.slug}"


class Topic(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="topics", verbose_name=_("organisation")
    )
    slug = models.CharField(_("slug"), max_length=100, validators=[slug_validator])
    title = models.CharField(_("title"), max_length=300)
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent topic"),
    )

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["organisation", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="kb_topic_unique_slug"),
        ]

    def __str__(self):
        return self.title
