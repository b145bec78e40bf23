"""Citizens, their tickets, the messages and events of each ticket, and the outbox."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel


def normalise_email(value):
    return (value or "").strip().lower()


def normalise_phone(value, region="FR"):
    """The E.164 form of a phone number, or ValueError naming what is wrong."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone number {value!r}: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"invalid phone number {value!r}: not a possible number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Contact(models.Model):
    """A citizen, as known to one organisation."""

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.PROTECT, related_name="contacts", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164 format"))
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    email_bounced_at = models.DateTimeField(
        _("email address bounced at"), null=True, blank=True, help_text=_("Set when mail to it hard-bounces.")
    )
    sms_consent = models.BooleanField(_("consents to SMS"), default=False)
    sms_consent_at = models.DateTimeField(_("SMS consent given or withdrawn at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"], condition=~Q(email=""), name="contact_unique_email"
            ),
            models.UniqueConstraint(
                fields=["organisation", "phone"], condition=~Q(phone=""), name="contact_unique_phone"
            ),
        ]

    def __str__(self):
        return self.name or self.email or self.phone or f"#{self.pk}"

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        self.phone = normalise_phone(self.phone)
        super().save(*args, **kwargs)

    @property
    def first_name(self):
        return self.name.split(" ")[0] if self.name else ""

    def clean(self):
        self.email = normalise_email(self.email)
        try:
            self.phone = normalise_phone(self.phone)
        except ValueError as exc:
            raise ValidationError({"phone": str(exc)}) from exc


class ConsentRecord(models.Model):
    """Append-only proof of each change of a citizen's consent: when, which
    way, how it was expressed and in which words. ``Contact.sms_consent`` is
    the current state; ``contacts.services.consent.change_consent`` is the one
    function that changes it and writes these rows. Erasure blanks the
    evidence (it may quote the citizen) and keeps the rest."""

    class Kind(models.TextChoices):
        SMS = "sms", _("SMS about their requests")

    class Source(models.TextChoices):
        FORM = "form", _("Contact form checkbox")
        SMS_MESSAGE = "sms_message", _("The citizen wrote by SMS")
        SMS_STOP = "sms_stop", _("STOP sent by SMS")
        PHONE = "phone", _("Told an agent on the phone")
        WRITTEN = "written", _("Written request (letter, email)")
        ADMIN = "admin", _("Changed in the administration")
        ERASURE = "erasure", _("Personal data erased")

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="consent_records", verbose_name=_("contact")
    )
    kind = models.CharField(_("consent to"), max_length=20, choices=Kind.choices)
    given = models.BooleanField(_("given"), help_text=_("Ticked: consent given; not ticked: withdrawn."))
    source = models.CharField(_("how"), max_length=20, choices=Source.choices)
    evidence = models.TextField(
        _("evidence"), blank=True, help_text=_("The wording the citizen agreed to, or the text they sent.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["contact", "kind", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.given} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(_("Consent records are append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Consent records are append-only."))


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The tickets this user may reach: the one scoping every view and API
        goes through. An agent sees their organisation's tickets; a ticket on
        a sensitive topic only when it is in one of their services or assigned
        to them. Someone without an agent profile sees nothing (superusers,
        who administer the installation, see everything)."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        profile = AgentProfile.objects.filter(user=user).only("organisation_id").first()
        if profile is None:
            return self.none()
        own_services = profile.services.values("pk")
        return self.filter(organisation_id=profile.organisation_id).filter(
            Q(topic__isnull=True) | Q(topic__sensitive=False) | Q(service__in=own_services) | Q(assignee=user)
        )


class InvalidTransition(ValidationError):
    """A status change that the ticket state machine does not allow."""


# Free tags agents put on tickets (routing rules allow 50 characters too).
TAG_MAX_LENGTH = 50
TAGS_MAX = 20


def normalise_tag(value):
    """A tag as stored: trimmed, inner spaces collapsed, lower-case; a
    ValidationError says what is wrong with it."""
    tag = " ".join(str(value or "").split()).lower()
    if not tag:
        raise ValidationError(_("The tag is empty."), code="tag_empty")
    if len(tag) > TAG_MAX_LENGTH:
        raise ValidationError(
            _("A tag has at most %(limit)d characters (this one has %(length)d)."),
            code="tag_too_long",
            params={"limit": TAG_MAX_LENGTH, "length": len(tag)},
        )
    return tag


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Waiting for the citizen")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    # The one place where allowed status changes are written down.
    TRANSITIONS = {
        Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED},
        Status.OPEN: {Status.PENDING, Status.RESOLVED, Status.CLOSED},
        Status.PENDING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
        Status.RESOLVED: {Status.OPEN, Status.CLOSED},
        Status.CLOSED: set(),
    }

    reference = models.CharField(_("reference"), max_length=40, unique=True, editable=False)
    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("organisation")
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("contact"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    channel = models.CharField(_("channel of origin"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    topic = models.ForeignKey(
        "kb.Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets", verbose_name=_("topic")
    )
    service = models.ForeignKey(
        "kb.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("service"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    reply_address = models.EmailField(
        _("our address the citizen wrote to"), blank=True, help_text=_("Answers by email carry it as Reply-To.")
    )
    oriented_to = models.ForeignKey(
        "kb.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="oriented_tickets",
        verbose_name=_("oriented to"),
        help_text=_("The competent service of another administration the citizen was directed to."),
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
        help_text=_("The request this duplicate was merged into: its messages are there now."),
    )
    not_understood = models.BooleanField(
        _("not understood"), default=False, help_text=_("The router could not tell which topic this is.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    purged_at = models.DateTimeField(
        _("personal data erased at"),
        null=True,
        blank=True,
        help_text=_("Messages, documents and contact details erased (retention period over, or on request)."),
    )
    resolution_due_at = models.DateTimeField(_("resolution due at"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "-created_at"]),
            # The inbox counts its views over the tickets still being handled
            # from this index alone (PostgreSQL: an index-only scan).
            models.Index(
                fields=["organisation", "status"],
                include=["id", "assignee", "service", "priority", "topic", "due_at", "first_response_at"],
                condition=models.Q(status__in=["new", "open", "pending"]),
                name="ticket_active_counts",
            ),
            # The "answer due soon" view, in the order it lists.
            models.Index(
                fields=["organisation", "due_at", "id"],
                condition=models.Q(status__in=["new", "open"], first_response_at__isnull=True),
                name="ticket_answer_due",
            ),
            # The indicators' backlog (open now, by age and status, the oldest)
            # from this index alone (PostgreSQL: an index-only scan).
            models.Index(
                fields=["organisation", "created_at"],
                include=["id", "status", "channel", "service", "topic", "assignee"],
                condition=models.Q(status__in=["new", "open", "pending"]),
                name="ticket_backlog",
            ),
        ]
        constraints = [
            # A merged duplicate is closed, and never its own target.
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(status="closed"), name="ticket_merged_is_closed"
            ),
            models.CheckConstraint(condition=~Q(merged_into=F("pk")), name="ticket_not_merged_into_itself"),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            self.check_transition(self.status)
        super().save(*args, **kwargs)
        self._stored_status = self.status

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")
        return instance

    def can_transition(self, new_status):
        return new_status in self.TRANSITIONS[self.Status(self.status)]

    def check_transition(self, new_status):
        current = self.Status(self._stored_status_or_current())
        new_status = self.Status(new_status)
        if new_status != current and new_status not in self.TRANSITIONS[current]:
            raise InvalidTransition(
                _("A ticket cannot go from “%(current)s” to “%(new)s”."),
                code="invalid_transition",
                params={"current": current.label, "new": new_status.label},
            )

    def _stored_status_or_current(self):
        return getattr(self, "_stored_status", None) or self.status


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", _("Received")
        OUT = "out", _("Sent")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authored_messages",
        verbose_name=_("author (agent)"),
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"), blank=True, help_text=_("The new content of the message."))
    body_full = models.TextField(
        _("full text"), blank=True, help_text=_("The whole text as received, with quoted history and signature.")
    )
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    external_id = models.CharField(
        _("external id"), max_length=300, blank=True, help_text=_("Message-ID or the channel's own id.")
    )
    is_internal = models.BooleanField(_("internal note"), default=False)
    raw_ref = models.CharField(_("raw message reference"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~Q(external_id=""), name="message_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self):
        return f"{self.get_direction_display()} {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance, filename):
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    class Scan(models.TextChoices):
        """The antivirus verdict (contacts/services/scanning.py). Only
        ``clean`` and ``off`` documents can be downloaded."""

        PENDING = "pending", _("Antivirus scan pending")
        CLEAN = "clean", _("No virus found")
        INFECTED = "infected", _("Quarantined: virus found")
        FAILED = "failed", _("The antivirus could not scan it")
        OFF = "off", _("Not scanned (antivirus off)")

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=150)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    scan_state = models.CharField(_("antivirus"), max_length=10, choices=Scan.choices, default=Scan.OFF)
    scan_detail = models.CharField(
        _("antivirus detail"), max_length=200, blank=True, help_text=_("The virus found, or why there is no verdict.")
    )
    scan_attempts = models.PositiveIntegerField(_("antivirus attempts"), default=0)
    scan_due_at = models.DateTimeField(_("next antivirus attempt"), null=True, blank=True)
    scanned_at = models.DateTimeField(_("scanned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            models.Index(fields=["scan_due_at"], condition=Q(scan_state="pending"), name="attachment_scan_due"),
        ]

    def __str__(self):
        return self.filename

    @property
    def downloadable(self):
        return self.scan_state in (self.Scan.CLEAN, self.Scan.OFF)

    @property
    def scan_notice(self):
        """What agents read instead of a link, or "" when it can be opened."""
        if self.scan_state == self.Scan.PENDING:
            return _("Antivirus scan pending: the document can be opened once it is scanned.")
        if self.scan_state == self.Scan.INFECTED:
            return _("Attachment quarantined: virus found (%(virus)s)") % {"virus": self.scan_detail}
        if self.scan_state == self.Scan.FAILED:
            return _("Antivirus scan impossible: this document cannot be opened.")
        return ""

    @property
    def citizen_scan_notice(self):
        """What the citizen reads instead of a link, or "" when it can be opened."""
        if self.scan_state == self.Scan.PENDING:
            return _("Being checked by our antivirus")
        if self.scan_state == self.Scan.INFECTED:
            return _("Blocked by our antivirus: a virus was found in this document.")
        if self.scan_state == self.Scan.FAILED:
            return _("Our antivirus could not check this document; it cannot be opened.")
        return ""


class TicketEvent(models.Model):
    """Append-only record of everything that happened to a ticket."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        MESSAGE_RECEIVED = "message_received", _("Message received")
        ROUTED = "routed", _("Routed")
        ASSIGNED = "assigned", _("Assigned")
        TRANSFERRED = "transferred", _("Transferred")
        REPLIED = "replied", _("Replied")
        NOTE_ADDED = "note_added", _("Internal note added")
        STATUS_CHANGED = "status_changed", _("Status changed")
        PRIORITY_CHANGED = "priority_changed", _("Priority changed")
        REOPENED = "reopened", _("Reopened by the citizen")
        SENT = "sent", _("Sent to the citizen")
        DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
        SMS_SENT = "sms_sent", _("SMS sent")
        RATED = "rated", _("Rated")
        ORIENTED = "oriented", _("Oriented to another administration")
        URGENT_NOTIFIED = "urgent_notified", _("On-call agents notified")
        SLA_WARNING = "sla_warning", _("Answer due soon")
        SLA_BREACHED = "sla_breached", _("Answer overdue")
        ESCALATED = "escalated", _("Escalated")
        RESOLUTION_WARNING = "resolution_warning", _("Resolution due soon")
        RESOLUTION_BREACHED = "resolution_breached", _("Resolution overdue")
        RESOLUTION_ESCALATED = "resolution_escalated", _("Escalated (resolution overdue)")
        CORRECTED = "corrected", _("Routing corrected")
        ACK_SKIPPED = "ack_skipped", _("Acknowledgement not sent")
        PURGED = "purged", _("Personal data erased")
        MERGED_INTO = "merged_into", _("Merged into another request")
        MERGED_FROM = "merged_from", _("Duplicate merged in")
        TAGS_CHANGED = "tags_changed", _("Tags changed")
        QUARANTINED = "quarantined", _("Document quarantined")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "kind"]),
            # The indicators' tables of transfers and topic corrections: the
            # few events of those kinds, without reading the others (their
            # data stays out of it: a transfer's reason is free text, and an
            # index entry has a size limit).
            models.Index(
                fields=["ticket"],
                condition=Q(kind__in=["transferred", "corrected"]),
                name="ticketevent_moves",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("Ticket events are append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Ticket events are append-only."))


class TicketCounter(models.Model):
    """The last reference number given, per organisation and year."""

    organisation = models.ForeignKey("kb.Organisation", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="ticketcounter_unique_year"),
        ]

    def __str__(self):
        return f"{self.organisation_id}/{self.year}: {self.value}"


class Outbox(models.Model):
    """One thing to deliver (an email, an SMS, a chat push), written in the
    transaction of the change that caused it and delivered after commit."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (check with the provider)")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=320)
    payload = models.JSONField(_("payload"), default=dict)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    delivery_status = models.CharField(_("delivery status reported by the provider"), max_length=30, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox", verbose_name=_("ticket")
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries", verbose_name=_("message")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The acknowledgement rate limit counts one address's last hour.
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(idempotency_key__startswith="ack:"),
                name="outbox_ack_recipient",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.recipient} ({self.get_status_display()})"


class AgentProfile(models.Model):
    """An agent's organisation, services, role and availability."""

    class Role(models.TextChoices):
        AGENT = "agent", _("Agent")
        SUPERVISOR = "supervisor", _("Supervisor")
        MANAGER = "manager", _("Manager")
        ADMINISTRATOR = "administrator", _("Administrator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent", verbose_name=_("user")
    )
    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="agents", verbose_name=_("organisation")
    )
    services = models.ManyToManyField("kb.Service", related_name="agents", blank=True, verbose_name=_("services"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    is_available = models.BooleanField(_("available"), default=True)
    on_call = models.BooleanField(_("on call for urgent requests"), default=False)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class Absence(models.Model):
    """A period when an agent is away and must not be given tickets."""

    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="absences", verbose_name=_("agent"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="absence_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.agent}: {self.starts_at:%Y-%m-%d} → {self.ends_at:%Y-%m-%d}"


class AccessLog(models.Model):
    """Who opened which sensitive ticket or document, when (audit)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="access_log", verbose_name=_("ticket"))
    attachment = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("document"),
    )
    what = models.CharField(_("opened"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("access to a sensitive request")
        verbose_name_plural = _("accesses to sensitive requests")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.user} → {self.ticket} ({self.at:%Y-%m-%d %H:%M})"


# The indicators' derived tables (facts and daily aggregates) belong to this app.
from contacts.indicators.models import AggregateBuild, DailyAggregate, RefreshState, TicketFact  # noqa: E402, F401
