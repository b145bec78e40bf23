"""The inbox's forms: filters, reply, note and the ticket actions."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel
from contacts.models import Ticket
from kb.models import Service, Topic


def agents_of(organisation):
    return (
        get_user_model()
        .objects.filter(agent__organisation=organisation, is_active=True)
        .order_by("first_name", "last_name", "username")
    )


def agent_label(user):
    return user.get_full_name() or user.username


class PlainSelect(forms.Select):
    """A select whose options are written in Python: Django renders each
    option through a template, which costs more than the rest of an inbox
    page once an organisation has hundreds of agents and topics."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)  # noqa: S308 (a constant)
                for key, label in ((("" if v is None else str(v)), label) for v, label in self.choices)
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
        )


class AgentChoiceField(forms.ModelChoiceField):
    widget = PlainSelect

    def label_from_instance(self, obj):
        return agent_label(obj)


class ServiceChoiceField(forms.ModelChoiceField):
    widget = PlainSelect

    def label_from_instance(self, obj):
        return obj.name


class TopicChoiceField(forms.ModelChoiceField):
    widget = PlainSelect


class PlainChoiceField(forms.ChoiceField):
    widget = PlainSelect


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    channel = PlainChoiceField(label=_("Channel"), required=False)
    status = PlainChoiceField(label=_("Status"), required=False)
    priority = PlainChoiceField(label=_("Priority"), required=False)
    service = ServiceChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)
    topic = TopicChoiceField(label=_("Topic"), queryset=Topic.objects.none(), required=False)
    assignee = PlainChoiceField(label=_("Assigned to"), required=False)
    tag = forms.CharField(
        label=_("Tag"), required=False, max_length=100, widget=forms.TextInput({"list": "tag-suggestions"})
    )
    created_from = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput({"type": "date"}))
    created_to = forms.DateField(label=_("Received until"), required=False, widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        anything = [("", _("All"))]
        self.fields["channel"].choices = anything + list(Channel.choices)
        self.fields["status"].choices = anything + list(Ticket.Status.choices)
        self.fields["priority"].choices = anything + list(Ticket.Priority.choices)
        self.fields["service"].queryset = Service.objects.filter(organisation=organisation)
        self.fields["service"].empty_label = _("All")
        self.fields["topic"].queryset = Topic.objects.filter(organisation=organisation).order_by("title")
        self.fields["topic"].empty_label = _("All")
        self.fields["assignee"].choices = (
            anything
            + [("me", _("Me")), ("none", _("Nobody"))]
            + [(str(user.pk), agent_label(user)) for user in agents_of(organisation)]
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date comes before the start date."))
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    """Several files, each at most FORM_MAX_FILE_BYTES, at most FORM_MAX_FILES."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        limit = getattr(settings, "FORM_MAX_FILES", 5)
        if len(files) > limit:
            raise forms.ValidationError(_("At most %(limit)d documents.") % {"limit": limit})
        size = getattr(settings, "FORM_MAX_FILE_BYTES", 10 * 1024 * 1024)
        for item in files:
            super().clean(item, initial)
            if item.size > size:
                raise forms.ValidationError(
                    _("“%(name)s” is too large (at most %(size)d MB).")
                    % {"name": item.name, "size": size // (1024 * 1024)}
                )
        return files


class ReplyForm(forms.Form):
    channel = PlainChoiceField(label=_("Send by"))
    subject = forms.CharField(label=_("Subject"), required=False, max_length=300)
    text = forms.CharField(
        label=_("Answer"),
        widget=forms.Textarea({"rows": 10}),
        error_messages={"required": _("The answer is empty.")},
    )
    documents = DocumentsField(label=_("Documents (email only)"), required=False)

    def __init__(self, *args, channels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channels


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        help_text=_("Colleagues named with @username are told."),
        widget=forms.Textarea({"rows": 4}),
        error_messages={"required": _("The note is empty.")},
    )


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.TextInput(),
        error_messages={"required": _("A transfer needs a reason.")},
    )


class TransferForm(ReasonMixin):
    service = ServiceChoiceField(label=_("To the service"), queryset=Service.objects.none())
    field_order = ["service", "reason"]

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organisation=organisation)


class AssignForm(ReasonMixin):
    assignee = AgentChoiceField(label=_("To the agent"), queryset=get_user_model().objects.none())
    field_order = ["assignee", "reason"]

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_of(organisation)


class StatusForm(forms.Form):
    status = PlainChoiceField(label=_("Status"), choices=Ticket.Status.choices)


class PriorityForm(forms.Form):
    priority = PlainChoiceField(label=_("Priority"), choices=Ticket.Priority.choices)


class TopicForm(forms.Form):
    topic = TopicChoiceField(label=_("Topic"), queryset=Topic.objects.none(), required=False)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = Topic.objects.filter(organisation=organisation).order_by("title")
        self.fields["topic"].empty_label = _("No topic")


class DocumentsForm(forms.Form):
    """Documents the citizen must provide, by a date: they are told now and
    reminded before it (SMS, else email)."""

    text = forms.CharField(
        label=_("Documents to provide"),
        widget=forms.Textarea({"rows": 3}),
        error_messages={"required": _("Say which documents the citizen must provide.")},
    )
    due_date = forms.DateField(
        label=_("To provide by"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date, e.g. 2026-12-31.")},
    )


class MergeForm(forms.Form):
    """Merge this request into another of the same citizen (the choices are
    their other open requests the agent may see; the view checks whatever
    reference is posted)."""

    into = forms.CharField(
        label=_("Merge into"),
        max_length=40,
        widget=forms.Select(),
        error_messages={"required": _("Choose the request to merge this one into.")},
    )
    confirm = forms.BooleanField(
        label=_("I confirm: both are the same request; this one will be closed and its messages moved."),
        error_messages={"required": _("Tick the box to confirm the merge.")},
    )

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].widget.choices = [("", _("— choose a request —"))] + [
            (ticket.reference, f"{ticket.reference} {ticket.subject}"[:80]) for ticket in targets
        ]


class TagForm(forms.Form):
    tag = forms.CharField(
        label=_("New tag"),
        max_length=200,  # the service refuses what is longer than a tag, saying how long it may be
        widget=forms.TextInput({"list": "tag-suggestions", "autocomplete": "off"}),
        error_messages={"required": _("The tag is empty.")},
    )
