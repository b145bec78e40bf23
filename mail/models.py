"""Mailboxes we read, and every raw message received, kept for audit."""

import os
import zlib

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Mailbox(models.Model):
    class Security(models.TextChoices):
        SSL = "ssl", _("TLS (IMAPS)")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("None (local tests only)")

    class AfterImport(models.TextChoices):
        FLAG_SEEN = "flag_seen", _("Mark as read")
        MOVE = "move", _("Move to a folder")

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("organisation")
    )
    service = models.ForeignKey(
        "kb.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailboxes",
        verbose_name=_("service"),
        help_text=_("Optional: the service whose mailbox this is."),
    )
    address = models.EmailField(_("address"), unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    imap_host = models.CharField(_("IMAP host"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("security"), max_length=10, choices=Security.choices, default=Security.SSL)
    imap_login = models.CharField(_("login"), max_length=200, blank=True)
    imap_secret = models.CharField(
        _("password"),
        max_length=500,
        blank=True,
        help_text=_("Never shown back. “env:NAME” reads it from the environment variable NAME."),
    )
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    after_import = models.CharField(
        _("after import"), max_length=10, choices=AfterImport.choices, default=AfterImport.FLAG_SEEN
    )
    move_to = models.CharField(_("move to folder"), max_length=200, blank=True)
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True, editable=False)
    last_uid = models.PositiveBigIntegerField(_("last UID imported"), default=0, editable=False)
    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]

    def __str__(self):
        return self.address

    def save(self, *args, **kwargs):
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)

    def clean(self):
        if self.after_import == self.AfterImport.MOVE and not self.move_to:
            raise ValidationError({"move_to": _("Name the folder to move imported messages to.")})
        if self.service_id and self.service.organisation_id != self.organisation_id:
            raise ValidationError({"service": _("The service must belong to the mailbox's organisation.")})

    def password(self):
        """The IMAP password, read from the environment when given as env:NAME."""
        if self.imap_secret.startswith("env:"):
            name = self.imap_secret[4:]
            try:
                return os.environ[name]
            except KeyError:
                raise ValidationError(
                    _("The environment variable %(name)s is not set."), params={"name": name}
                ) from None
        return self.imap_secret


class RawMessage(models.Model):
    """A message exactly as received (compressed), stored before anything else."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CREATED = "created", _("New ticket")
        THREADED = "threaded", _("Added to a ticket")
        DUPLICATE = "duplicate", _("Duplicate")
        AUTO_REPLY = "auto_reply", _("Automatic reply")
        BOUNCE = "bounce", _("Bounce")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        IMAP = "imap", _("IMAP")
        WEBHOOK = "webhook", _("Provider webhook")
        FILE = "file", _("File import")

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="raw_messages", verbose_name=_("organisation")
    )
    mailbox = models.ForeignKey(
        Mailbox,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raw_messages",
        verbose_name=_("mailbox"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    message_id = models.CharField(_("Message-ID"), max_length=300, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    compressed = models.BinaryField(_("raw message (zlib)"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    ticket = models.ForeignKey(
        "contacts.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raw_messages",
        verbose_name=_("ticket"),
    )
    imap_uid = models.PositiveBigIntegerField(_("IMAP UID"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("raw message")
        verbose_name_plural = _("raw messages")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "sha256"], name="rawmessage_unique_bytes"),
        ]
        indexes = [models.Index(fields=["organisation", "message_id"])]

    def __str__(self):
        return f"{self.message_id or self.sha256[:12]} ({self.get_status_display()})"

    @property
    def data(self):
        return zlib.decompress(bytes(self.compressed))

    @staticmethod
    def compress(raw):
        return zlib.compress(raw, level=6)
