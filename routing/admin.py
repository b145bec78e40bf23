from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.channels import Channel
from routing.models import BusinessHours, RoutingCorrection, Rule, ServiceRouting, SlaPolicy

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class CommaSeparatedField(forms.CharField):
    """A list of short texts typed as "a, b, c"."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [item.strip() for item in (value or "").split(",") if item.strip()]


class RuleForm(forms.ModelForm):
    channels = forms.TypedMultipleChoiceField(
        label=_("channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any channel."),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any day."),
    )
    postcode_prefixes = CommaSeparatedField(
        label=_("postcode prefixes"), required=False, help_text=_("Separated by commas, e.g. 99, 99300.")
    )
    add_tags = CommaSeparatedField(label=_("add tags"), required=False, help_text=_("Separated by commas."))

    class Meta:
        model = Rule
        fields = [
            "organisation",
            "name",
            "stage",
            "position",
            "is_active",
            "channels",
            "sender_pattern",
            "subject_regex",
            "body_regex",
            "postcode_prefixes",
            "weekdays",
            "hour_from",
            "hour_to",
            "set_topic",
            "set_service",
            "set_priority",
            "add_tags",
            "set_assignee",
            "stop",
        ]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "organisation", "stage", "position", "is_active", "stop"]
    list_editable = ["position", "is_active"]
    list_filter = ["organisation", "stage", "is_active"]
    search_fields = ["name", "subject_regex", "body_regex", "sender_pattern"]
    ordering = ["organisation", "stage", "position"]
    autocomplete_fields = ["set_topic", "set_service"]
    raw_id_fields = ["set_assignee"]
    fieldsets = [
        (None, {"fields": ["organisation", "name", "stage", "position", "is_active"]}),
        (
            _("Conditions (all of them; an empty one matches everything)"),
            {
                "fields": [
                    "channels",
                    "sender_pattern",
                    "subject_regex",
                    "body_regex",
                    "postcode_prefixes",
                    "weekdays",
                    ("hour_from", "hour_to"),
                ]
            },
        ),
        (_("Actions"), {"fields": ["set_topic", "set_service", "set_priority", "add_tags", "set_assignee", "stop"]}),
    ]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "organisation",
        "service",
        "topic",
        "priority",
        "first_response_hours",
        "resolution_hours",
    ]
    list_filter = ["organisation", "priority"]
    autocomplete_fields = ["service", "topic"]


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["organisation", "holiday_subdivision"]
    fields = ["organisation", "schedule", "holiday_subdivision", "closed_dates"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("schedule", BusinessHours.DEFAULT)
        return initial


@admin.register(ServiceRouting)
class ServiceRoutingAdmin(admin.ModelAdmin):
    list_display = ["service", "mode"]
    list_editable = ["mode"]
    list_filter = ["mode", "service__organisation"]
    autocomplete_fields = ["service"]


@admin.register(RoutingCorrection)
class RoutingCorrectionAdmin(admin.ModelAdmin):
    list_display = ["ticket", "from_topic", "to_topic", "from_service", "to_service", "agent", "created_at"]
    list_filter = ["to_topic"]
    readonly_fields = [f.name for f in RoutingCorrection._meta.fields]

    def has_add_permission(self, request):
        return False
