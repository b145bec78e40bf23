"""The citizens' public pages: each organisation's branding, the sites that
embed the form, the orientations shown, and what the form received."""

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def _luminance(colour):
    def channel(hex2):
        value = int(hex2, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour):
    """The WCAG contrast ratio of white text on this colour."""
    return 1.05 / (_luminance(colour) + 0.05)


def validate_colour(value):
    if not COLOUR_RE.match(value or ""):
        raise ValidationError(_("Write the colour as #RRGGBB, e.g. #1f4e79."))
    ratio = contrast_with_white(value)
    if ratio < 4.5:
        raise ValidationError(
            _("White text on %(value)s has a contrast of %(ratio).1f:1; accessibility needs at least 4.5:1."),
            params={"value": value, "ratio": ratio},
        )


def validate_origins(value):
    if not isinstance(value, list):
        raise ValidationError(_("Give a list of origins."))
    for origin in value:
        if not isinstance(origin, str) or not ORIGIN_RE.match(origin):
            raise ValidationError(
                _("%(origin)s is not an origin: write a scheme and a host, e.g. https://www.example.fr"),
                params={"origin": origin},
            )


def new_widget_key():
    return secrets.token_urlsafe(18)


class Branding(models.Model):
    """How an organisation's public pages look: name, logo, colour."""

    organisation = models.OneToOneField(
        "kb.Organisation", on_delete=models.CASCADE, related_name="branding", verbose_name=_("organisation")
    )
    display_name = models.CharField(_("name shown"), max_length=200, blank=True)
    logo_url = models.URLField(_("logo address"), blank=True, help_text=_("An image on one of your own sites."))
    colour = models.CharField(
        _("main colour"),
        max_length=7,
        default="#1f4e79",
        validators=[validate_colour],
        help_text=_("Buttons and headings; white text must stay readable on it."),
    )
    intro = models.TextField(_("introduction"), blank=True)
    privacy_url = models.URLField(_("personal data notice"), blank=True)

    class Meta:
        verbose_name = _("public pages branding")
        verbose_name_plural = _("public pages branding")

    def __str__(self):
        return str(self.organisation)

    def clean(self):
        validate_colour(self.colour)


class Widget(models.Model):
    """A site that embeds the contact form (iframe) or calls its API."""

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="widgets", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200)
    key = models.CharField(_("key"), max_length=64, unique=True, default=new_widget_key)
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text=_('The sites that may embed it, e.g. ["https://www.example.fr"].'),
    )
    default_topic = models.ForeignKey(
        "kb.Topic",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default topic"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("widget")
        verbose_name_plural = _("widgets")
        ordering = ["organisation", "name"]

    def __str__(self):
        return self.name

    def allows(self, origin):
        return bool(origin) and origin.rstrip("/") in {o.rstrip("/") for o in self.allowed_origins}


class Orientation(models.Model):
    """One answer shown to a citizen: a topic and its competent interlocutor.

    Counted for the indicator "citizens oriented without a ticket": an
    orientation whose citizen then wrote anyway gets its ticket.
    """

    class Channel(models.TextChoices):
        FORM = "form", _("Contact form")
        API = "api", _("API")
        CHAT = "chat", _("Chat")

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="orientations", verbose_name=_("organisation")
    )
    topic = models.ForeignKey("kb.Topic", on_delete=models.CASCADE, related_name="+", verbose_name=_("topic"))
    service = models.ForeignKey(
        "kb.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    elsewhere = models.BooleanField(_("another administration is competent"), default=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.FORM)
    widget = models.ForeignKey(Widget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    ticket = models.ForeignKey(
        "contacts.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orientations",
        verbose_name=_("ticket written afterwards"),
    )
    created_at = models.DateTimeField(_("shown at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("orientation")
        verbose_name_plural = _("orientations")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.topic} ({self.created_at:%Y-%m-%d})"


class FormSubmission(models.Model):
    """What the contact form received, beside the ticket it made: the
    preferred channel of answer and where it came from."""

    class Answer(models.TextChoices):
        EMAIL = "email", _("By email")
        SMS = "sms", _("By SMS")
        PHONE = "phone", _("By phone")
        FOLLOWUP = "followup", _("On the follow-up page")

    ticket = models.OneToOneField(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="form_submission", verbose_name=_("ticket")
    )
    preferred_channel = models.CharField(_("answer preferred"), max_length=10, choices=Answer.choices)
    widget = models.ForeignKey(Widget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    origin = models.CharField(_("page of origin"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self):
        return str(self.ticket)


class CallbackRequest(models.Model):
    """A citizen asked to be called back ("être rappelé")."""

    class Slot(models.TextChoices):
        MORNING = "morning", _("In the morning (9:00–12:00)")
        LUNCH = "lunch", _("At lunchtime (12:00–14:00)")
        AFTERNOON = "afternoon", _("In the afternoon (14:00–17:00)")
        EVENING = "evening", _("Late afternoon (17:00–19:00)")

    ticket = models.OneToOneField(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="callback_request", verbose_name=_("ticket")
    )
    phone = models.CharField(_("phone"), max_length=20)
    slots = models.JSONField(_("time slots"), default=list)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")

    def __str__(self):
        return str(self.ticket)

    def slot_labels(self):
        labels = dict(self.Slot.choices)
        return [labels.get(slot, slot) for slot in self.slots]
