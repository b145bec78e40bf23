"""What the citizen channels store: each organisation's SMS settings, the
documents agents asked for and the reminders scheduled before their
deadline."""

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

PLACEHOLDERS = ("organisation", "reference", "due", "date", "link")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def default_max_per_day():
    return settings.SMS_MAX_PER_CONTACT_PER_DAY


def default_cost_per_segment():
    return Decimal(str(settings.SMS_COST_PER_SEGMENT_EUR))


def validate_sms_template(value):
    unknown = sorted({name for name in PLACEHOLDER_RE.findall(value or "") if name not in PLACEHOLDERS})
    if unknown:
        raise ValidationError(
            _("Unknown placeholder(s): %(unknown)s. Allowed: %(allowed)s."),
            params={
                "unknown": ", ".join("{%s}" % name for name in unknown),  # noqa: UP031
                "allowed": ", ".join("{%s}" % name for name in PLACEHOLDERS),  # noqa: UP031
            },
        )


def validate_reminder_days(value):
    for part in (value or "").split(","):
        if part.strip() and not part.strip().isdigit():
            raise ValidationError(_("Write whole numbers of days separated by commas, e.g. 3,1."))


class SmsSettings(models.Model):
    """How one organisation writes to citizens by SMS."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
        ANSWER = "answer", _("Answer notice")
        DOCUMENTS = "documents", _("Documents requested")
        REMINDER = "reminder", _("Reminder before a deadline")
        RESOLVED = "resolved", _("Satisfaction request")
        STOP = "stop", _("Unsubscription confirmation")

    organisation = models.OneToOneField(
        "kb.Organisation", on_delete=models.CASCADE, related_name="sms_settings", verbose_name=_("organisation")
    )
    enabled = models.BooleanField(_("send SMS"), default=True)
    sender_name = models.CharField(
        _("sender name"),
        max_length=11,
        blank=True,
        help_text=_("Shown as the sender: at most 11 letters or digits. Empty: the provider's default."),
    )
    signature = models.CharField(
        _("name in the text"),
        max_length=40,
        blank=True,
        help_text=_("How messages name the organisation, short. Empty: the organisation's name."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=datetime.time(20, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=datetime.time(8, 0))
    quiet_on_sundays = models.BooleanField(_("no SMS on Sundays"), default=True)
    max_per_contact_per_day = models.PositiveIntegerField(
        _("SMS per citizen per day, at most"),
        default=default_max_per_day,
        help_text=_("Beyond it, messages wait for the next day; none is dropped."),
    )
    cost_per_segment_eur = models.DecimalField(
        _("cost per SMS segment (EUR)"), max_digits=6, decimal_places=4, default=default_cost_per_segment
    )
    reminder_days_before = models.CharField(
        _("reminders, days before a deadline"),
        max_length=40,
        default="3,1",
        validators=[validate_reminder_days],
        help_text=_("Comma-separated, e.g. 3,1. Empty: no reminder."),
    )
    reminder_time = models.TimeField(_("reminders sent at"), default=datetime.time(10, 0))
    acknowledgement_template = models.TextField(
        _("acknowledgement text"), blank=True, validators=[validate_sms_template]
    )
    answer_template = models.TextField(_("answer notice text"), blank=True, validators=[validate_sms_template])
    documents_template = models.TextField(_("documents requested text"), blank=True, validators=[validate_sms_template])
    reminder_template = models.TextField(_("reminder text"), blank=True, validators=[validate_sms_template])
    resolved_template = models.TextField(_("satisfaction request text"), blank=True, validators=[validate_sms_template])
    stop_template = models.TextField(
        _("unsubscription confirmation text"), blank=True, validators=[validate_sms_template]
    )

    class Meta:
        verbose_name = _("SMS settings")
        verbose_name_plural = _("SMS settings")

    def __str__(self):
        return str(self.organisation)

    @classmethod
    def for_organisation(cls, organisation):
        """The organisation's settings, or the defaults (unsaved) when it has none."""
        found = cls.objects.filter(organisation=organisation).first()
        return found or cls(organisation=organisation)

    def template_for(self, kind):
        return getattr(self, f"{kind}_template", "") or ""

    @property
    def display_name(self):
        return self.signature or self.organisation.name

    def reminder_offsets(self):
        return sorted(
            {int(part) for part in self.reminder_days_before.split(",") if part.strip().isdigit()}, reverse=True
        )


class DocumentRequest(models.Model):
    """Documents an agent asked the citizen for, by a date."""

    ticket = models.ForeignKey(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="document_requests", verbose_name=_("ticket")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    text = models.TextField(_("documents to provide"))
    due_date = models.DateField(_("to provide before"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.ticket.reference} → {self.due_date:%Y-%m-%d}"


class Reminder(models.Model):
    """One reminder to send before a deadline, unless it no longer applies."""

    ticket = models.ForeignKey(
        "contacts.Ticket", on_delete=models.CASCADE, related_name="reminders", verbose_name=_("ticket")
    )
    document_request = models.ForeignKey(
        DocumentRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("document request"),
    )
    due_at = models.DateTimeField(_("deadline"))
    remind_at = models.DateTimeField(_("remind at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=200, blank=True)
    outbox = models.ForeignKey(
        "contacts.Outbox",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outbox item"),
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["remind_at"]
        indexes = [
            models.Index(
                fields=["remind_at"],
                name="reminder_pending_idx",
                condition=models.Q(sent_at__isnull=True, cancelled_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.ticket.reference} @ {self.remind_at:%Y-%m-%d %H:%M}"

    @property
    def sent(self):
        return self.sent_at is not None
