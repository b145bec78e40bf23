from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from channels_app.models import (
    PLACEHOLDERS,
    Branding,
    CallbackRequest,
    DocumentRequest,
    Orientation,
    Reminder,
    SmsSettings,
    Widget,
)

PLACEHOLDER_HELP = _("Leave empty for the default French text. Placeholders: %(placeholders)s.")


@admin.register(SmsSettings)
class SmsSettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "enabled", "sender_name", "quiet_start", "quiet_end", "max_per_contact_per_day"]
    list_filter = ["enabled"]
    autocomplete_fields = ["organisation"]
    fieldsets = [
        (None, {"fields": ["organisation", "enabled", "sender_name", "signature"]}),
        (
            _("When SMS may be sent"),
            {"fields": ["quiet_start", "quiet_end", "quiet_on_sundays", "max_per_contact_per_day"]},
        ),
        (_("Reminders"), {"fields": ["reminder_days_before", "reminder_time"]}),
        (_("Cost"), {"fields": ["cost_per_segment_eur"]}),
        (
            _("Texts"),
            {
                "fields": [
                    "acknowledgement_template",
                    "answer_template",
                    "documents_template",
                    "reminder_template",
                    "resolved_template",
                    "stop_template",
                ],
                "description": PLACEHOLDER_HELP % {"placeholders": ", ".join("{%s}" % p for p in PLACEHOLDERS)},  # noqa: UP031
            },
        ),
    ]


class ReminderInline(admin.TabularInline):
    model = Reminder
    extra = 0
    fields = ["remind_at", "due_at", "sent_at", "cancelled_at", "cancel_reason", "outbox"]
    readonly_fields = ["sent_at", "outbox"]


@admin.register(DocumentRequest)
class DocumentRequestAdmin(admin.ModelAdmin):
    list_display = ["ticket", "due_date", "requested_by", "created_at"]
    list_select_related = ["ticket", "requested_by"]
    raw_id_fields = ["ticket", "requested_by"]
    inlines = [ReminderInline]

    def get_queryset(self, request):
        from contacts.models import Ticket

        return super().get_queryset(request).filter(ticket__in=Ticket.objects.visible_to(request.user))


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["ticket", "remind_at", "due_at", "sent_at", "cancelled_at", "cancel_reason"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), ("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket", "document_request", "outbox"]
    date_hierarchy = "remind_at"

    def get_queryset(self, request):
        from contacts.models import Ticket

        return super().get_queryset(request).filter(ticket__in=Ticket.objects.visible_to(request.user))


@admin.register(Branding)
class BrandingAdmin(admin.ModelAdmin):
    list_display = ["organisation", "display_name", "colour"]
    autocomplete_fields = ["organisation"]


@admin.register(Widget)
class WidgetAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "is_active", "created_at"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name"]
    autocomplete_fields = ["organisation", "default_topic"]
    readonly_fields = ["key", "snippet"]

    @admin.display(description=_("code to paste in the site"))
    def snippet(self, widget):
        from django.conf import settings
        from django.utils.html import format_html

        if not widget.pk:
            return "-"
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        code = (
            f'<div data-aiguillage-widget="{widget.key}"></div>\n'
            f'<script src="{base}/static/portal/embed.js" async></script>'
        )
        return format_html("<pre>{}</pre>", code)


@admin.register(Orientation)
class OrientationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organisation", "topic", "service", "elsewhere", "channel", "ticket"]
    list_filter = ["channel", "elsewhere", "organisation"]
    date_hierarchy = "created_at"
    raw_id_fields = ["ticket", "topic", "service", "widget"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        """An agent sees the orientations of their own organisation only."""
        from contacts.models import AgentProfile

        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        profile = AgentProfile.objects.filter(user=request.user).first()
        return queryset.filter(organisation_id=profile.organisation_id) if profile else queryset.none()


@admin.register(CallbackRequest)
class CallbackRequestAdmin(admin.ModelAdmin):
    list_display = ["ticket", "phone", "created_at"]
    raw_id_fields = ["ticket"]

    def get_queryset(self, request):
        from contacts.models import Ticket

        return super().get_queryset(request).filter(ticket__in=Ticket.objects.visible_to(request.user))
