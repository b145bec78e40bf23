"""Who does what: organisations, their services and how to reach them, the
citizens' topics with their answers and orientation questions, and the reply
templates. ``docs``: ../shared/kb-format.md is the exchange format."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

slug_validator = RegexValidator(r"^[a-z0-9-]+$", _("Use only lower-case letters, digits and hyphens."))


PRIORITY_CHOICES = [("low", _("Low")), ("normal", _("Normal")), ("high", _("High")), ("urgent", _("Urgent"))]


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
    retention_months = models.PositiveSmallIntegerField(
        _("keep personal data (months after closure)"),
        default=24,
        help_text=_(
            "Then the citizen's messages, documents and contact details are erased; the statistics are kept. 0: never."
        ),
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
    group = models.CharField(
        _("group"), max_length=64, blank=True, help_text=_("Services sharing a group split a territory.")
    )
    postcodes = models.JSONField(_("postcodes"), default=list, blank=True)
    insee = models.JSONField(_("INSEE commune codes"), default=list, blank=True)
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

    @property
    def has_territory(self):
        return bool(self.postcodes or self.insee)

    def covers(self, postcode="", insee=""):
        """Whether this service's territory includes the place (no territory: all of it)."""
        if not self.has_territory:
            return True
        return bool((postcode and postcode in self.postcodes) or (insee and insee in self.insee))


class ContactPoint(models.Model):
    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        ADDRESS = "address", _("Address")
        ONLINE = "online", _("Online procedure")
        CALLBACK = "callback", _("Callback request")
        CHAT = "chat", _("Chat")

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="contact_points", verbose_name=_("service")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=500)
    hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    label = models.CharField(_("label"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["service", "position", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


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
    services = models.ManyToManyField(
        Service,
        through="TopicService",
        related_name="topics",
        blank=True,
        verbose_name=_("candidate services"),
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    examples = models.JSONField(_("examples"), default=list, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    sensitive = models.BooleanField(
        _("sensitive"), default=False, help_text=_("Only the competent service's agents may read these tickets.")
    )
    priority = models.CharField(_("priority"), max_length=10, choices=PRIORITY_CHOICES, default="normal")
    article = models.TextField(_("article (Markdown)"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["organisation", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="kb_topic_unique_slug"),
        ]

    def __str__(self):
        return self.title

    def candidate_services(self):
        """The topic's services in the order the knowledge base gives them."""
        return [link.service for link in self.service_links.select_related("service__organisation")]


class TopicService(models.Model):
    """A candidate service of a topic, possibly of another organisation."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="service_links")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="topic_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["topic", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "service"], name="kb_topicservice_unique"),
        ]

    def __str__(self):
        return f"{self.topic.slug} → {self.service}"


class Question(models.Model):
    """An orientation question that narrows a topic down."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="questions", verbose_name=_("topic"))
    text = models.CharField(_("question"), max_length=500)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("orientation question")
        verbose_name_plural = _("orientation questions")
        ordering = ["topic", "position", "pk"]

    def __str__(self):
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices", verbose_name=_("question"))
    label = models.CharField(_("label"), max_length=300)
    target = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", verbose_name=_("leads to topic"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["question", "position", "pk"]

    def __str__(self):
        return self.label


class ReplyTemplate(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="templates", verbose_name=_("organisation")
    )
    slug = models.CharField(_("slug"), max_length=100, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    topics = models.ManyToManyField(Topic, related_name="templates", blank=True, verbose_name=_("suggested for"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["organisation", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="kb_template_unique_slug"),
        ]

    def __str__(self):
        return self.name


class Revision(models.Model):
    """One row whose number changes whenever the knowledge base does, so that
    every process can tell when its matcher index is stale."""

    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("knowledge base revision")

    def __str__(self):
        return str(self.value)
