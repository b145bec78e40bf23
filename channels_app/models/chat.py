"""Live chat: a conversation with the orientation assistant, then, when the
citizen asks for a person, with an agent; every entry stored before it is
pushed, numbered so that a reconnecting client gets what it missed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    class Status(models.TextChoices):
        ASSISTANT = "assistant", _("With the assistant")
        WAITING = "waiting", _("Waiting for an agent")
        ACTIVE = "active", _("With an agent")
        LEFT_MESSAGE = "left_message", _("Message left, no agent available")
        CLOSED = "closed", _("Closed")

    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="conversations", verbose_name=_("organisation")
    )
    widget = models.ForeignKey(
        "channels_app.Widget", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.ASSISTANT)
    topic = models.ForeignKey(
        "kb.Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("topic")
    )
    ticket = models.OneToOneField(
        "contacts.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversation",
        verbose_name=_("ticket"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    last_seq = models.PositiveIntegerField(default=0)
    oriented = models.BooleanField(_("an answer was shown"), default=False)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat conversation")
        verbose_name_plural = _("chat conversations")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.organisation.slug} #{self.pk}"

    @property
    def group(self):
        """The channel-layer group of everyone connected to it."""
        return f"chat-{self.pk}"


class ChatEntry(models.Model):
    """One line of the conversation, in order (``seq``)."""

    class Author(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        ASSISTANT = "assistant", _("Assistant")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="entries")
    seq = models.PositiveIntegerField()
    author = models.CharField(max_length=10, choices=Author.choices)
    client_id = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)  # buttons, links, the answer shown
    message = models.OneToOneField(
        "contacts.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="chat_entry"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("chat entry")
        verbose_name_plural = _("chat entries")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_entry_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"], condition=~Q(client_id=""), name="chat_entry_unique_client_id"
            ),
        ]

    def __str__(self):
        return f"{self.conversation_id}:{self.seq}"

    def as_event(self):
        return {
            "type": "entry",
            "seq": self.seq,
            "author": self.author,
            "text": self.text,
            "data": self.data,
            "client_id": self.client_id,
            "at": self.created_at.isoformat(),
        }
