"""The agents' API shapes: what it answers, and what each action accepts.
Rules about what an action may do stay in the services it calls."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from contacts.inbox.actions import ANSWER_CHANNELS
from contacts.inbox.forms import agent_label, agents_of
from contacts.inbox.timeline import safe_html
from contacts.models import Attachment, Ticket
from kb.models import Service

# ---------------------------------------------------------------- answers


class NamedSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class TopicRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()


class AgentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return agent_label(user)


class ContactRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class TicketSerializer(serializers.Serializer):
    """A ticket in a list, and the answer of the actions that change one."""

    reference = serializers.CharField()
    subject = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    priority = serializers.CharField()
    contact = ContactRefSerializer()
    service = NamedSerializer(allow_null=True)
    topic = TopicRefSerializer(allow_null=True)
    assignee = AgentRefSerializer(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)


class TicketPageSerializer(serializers.Serializer):
    results = TicketSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text=_("Pass it as ?cursor= for the next page."))
    next = serializers.CharField(allow_null=True, help_text=_("The next page's URL."))


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    scan = serializers.ChoiceField(
        source="scan_state",
        choices=Attachment.Scan.choices,
        help_text=_("Antivirus: only clean and off (not scanned) documents can be downloaded."),
    )
    url = serializers.SerializerMethodField()

    def get_url(self, attachment) -> str:
        return reverse("inbox:attachment", args=[attachment.pk])


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    direction = serializers.CharField()
    channel = serializers.CharField()
    internal = serializers.BooleanField(source="is_internal")
    author = AgentRefSerializer(allow_null=True)
    subject = serializers.CharField()
    text = serializers.CharField(source="body_text")
    html = serializers.SerializerMethodField(help_text=_("Sanitised HTML, when the message came with some."))
    created_at = serializers.DateTimeField()
    attachments = AttachmentSerializer(many=True, source="attachments.all")

    def get_html(self, message) -> str:
        return safe_html(message.body_html)


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField(source="event.kind")
    label = serializers.CharField(source="event.get_kind_display")
    actor = AgentRefSerializer(source="event.actor", allow_null=True)
    created_at = serializers.DateTimeField(source="at")
    details = serializers.ListField(child=serializers.CharField())


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    postcode = serializers.CharField()
    sms_consent = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class TicketDetailSerializer(TicketSerializer):
    contact = ContactSerializer()
    resolution_due_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    not_understood = serializers.BooleanField()
    reply_channels = serializers.ListField(
        child=serializers.CharField(),
        source="reply_channel_values",
        help_text=_("The channels an answer can take, the default first."),
    )
    messages = MessageSerializer(many=True, source="timeline_messages")
    events = EventSerializer(many=True, source="timeline_events")


class ContactTicketSerializer(serializers.Serializer):
    reference = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class ContactDetailSerializer(ContactSerializer):
    tickets = ContactTicketSerializer(many=True, help_text=_("Their tickets you may see, newest first."))


class ContactPageSerializer(serializers.Serializer):
    results = ContactSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.CharField(allow_null=True)


class KBContactPointSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    hours = serializers.CharField()
    label = serializers.CharField()


class KBServiceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_triage = serializers.BooleanField()
    sla_hours = serializers.IntegerField(allow_null=True)
    contact_points = KBContactPointSerializer(many=True, source="contact_points.all")


class KBTopicSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    parent = serializers.CharField(source="parent.slug", allow_null=True, default=None)
    sensitive = serializers.BooleanField()
    urgent = serializers.BooleanField()
    priority = serializers.CharField()


class CandidateServiceSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    slug = serializers.CharField()
    name = serializers.CharField()


class KBTopicDetailSerializer(KBTopicSerializer):
    keywords = serializers.ListField(child=serializers.CharField())
    article = serializers.CharField(help_text=_("Markdown"))
    article_html = serializers.CharField()
    services = CandidateServiceSerializer(
        many=True, source="services_in_order", help_text=_("Candidate services, in order.")
    )
    children = serializers.ListField(child=serializers.CharField(), source="child_slugs")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# ---------------------------------------------------------------- input


def _reason():
    message = _("A transfer needs a reason.")
    return serializers.CharField(max_length=500, error_messages={"required": message, "blank": message})


class ReplyInput(serializers.Serializer):
    text = serializers.CharField(
        error_messages={"required": _("The answer is empty."), "blank": _("The answer is empty.")}
    )
    channel = serializers.ChoiceField(
        choices=[channel.value for channel, _label in ANSWER_CHANNELS],
        required=False,
        help_text=_("By default the one the citizen used (see reply_channels)."),
    )
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True)


class NoteInput(serializers.Serializer):
    text = serializers.CharField(
        help_text=_("Colleagues named with @username are told."),
        error_messages={"required": _("The note is empty."), "blank": _("The note is empty.")},
    )


class ScopedInput(serializers.Serializer):
    """Input whose choices are the agent's organisation's (``organisation``
    in the context)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organisation = self.context.get("organisation")
        self.scope(organisation)

    def scope(self, organisation):  # pragma: no cover - overridden
        raise NotImplementedError


class AssignInput(ScopedInput):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.none(), help_text=_("The agent's user id.")
    )
    reason = _reason()

    def scope(self, organisation):
        self.fields["assignee"].queryset = agents_of(organisation) if organisation else get_user_model().objects.none()


class TransferInput(ScopedInput):
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.none(), help_text=_("The service's slug.")
    )
    reason = _reason()

    def scope(self, organisation):
        queryset = Service.objects.filter(organisation=organisation) if organisation else Service.objects.none()
        self.fields["service"].queryset = queryset


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
