from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.models import (
    Absence,
    AccessLog,
    AgentProfile,
    Attachment,
    ConsentRecord,
    Contact,
    Message,
    Outbox,
    Ticket,
    TicketEvent,
)
from contacts.services.outbox import requeue


class VisibleTicketsMixin:
    """Admin lists reach tickets through Ticket.objects.visible_to only."""

    ticket_path = "ticket"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.ticket_path == "self":
            return queryset.filter(pk__in=Ticket.objects.visible_to(request.user).values("pk"))
        return queryset.filter(**{f"{self.ticket_path}__in": Ticket.objects.visible_to(request.user)})


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "channel", "is_internal", "author", "body_text"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "data"]
    show_change_link = False


class ConsentRecordInline(ReadOnlyInline):
    """The history of the citizen's consents: read-only proof, never edited."""

    model = ConsentRecord
    fields = ["at", "kind", "given", "source", "evidence", "actor"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("consent history")


class ContactAdminForm(forms.ModelForm):
    """A change of the SMS consent in the administration says how the citizen
    expressed it; it is recorded through ``change_consent``, as any other."""

    consent_source = forms.ChoiceField(
        label=_("How did the citizen give or withdraw their SMS consent?"),
        choices=[("", "---------")]
        + [
            (source.value, source.label)
            for source in (
                ConsentRecord.Source.PHONE,
                ConsentRecord.Source.WRITTEN,
                ConsentRecord.Source.ADMIN,
            )
        ],
        required=False,
        help_text=_("Required when the SMS consent changes."),
    )
    consent_evidence = forms.CharField(
        label=_("Evidence of the consent change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("What the citizen said or wrote, with its date and reference if any."),
    )

    class Meta:
        model = Contact
        fields = ["organisation", "name", "email", "phone", "postcode", "email_bounced_at", "sms_consent"]

    def clean(self):
        data = super().clean()
        if "sms_consent" in self.changed_data or (self.instance.pk is None and data.get("sms_consent")):
            if not data.get("consent_source"):
                self.add_error("consent_source", _("Say how the citizen gave or withdrew their consent."))
            if not (data.get("consent_evidence") or "").strip():
                self.add_error("consent_evidence", _("Write down what the citizen said or wrote."))
        return data


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    list_display = ["__str__", "email", "phone", "postcode", "sms_consent", "organisation", "created_at"]
    list_filter = ["organisation", "sms_consent"]
    search_fields = ["name", "email", "phone"]
    readonly_fields = ["sms_consent_at", "created_at"]
    inlines = [ConsentRecordInline]
    actions = ["export_personal_data", "erase_personal_data"]

    def save_model(self, request, obj, form, change):
        from contacts.services.consent import change_consent

        wanted = obj.sms_consent
        # The consent is changed by change_consent only, after the other fields.
        obj.sms_consent = form.initial.get("sms_consent", False) if change else False
        super().save_model(request, obj, form, change)
        if wanted != obj.sms_consent:
            change_consent(
                obj,
                given=wanted,
                source=form.cleaned_data["consent_source"],
                evidence=form.cleaned_data["consent_evidence"],
                actor=request.user,
            )

    def get_queryset(self, request):
        """An agent sees the citizens of their own organisation only."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        profile = AgentProfile.objects.filter(user=request.user).first()
        return queryset.filter(organisation_id=profile.organisation_id) if profile else queryset.none()

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not _is_data_controller(request.user):
            actions.pop("export_personal_data", None)
            actions.pop("erase_personal_data", None)
        return actions

    @admin.action(description=_("Export the personal data of the selected citizens (JSON)"))
    def export_personal_data(self, request, queryset):
        import json

        from django.http import HttpResponse

        from contacts.services.privacy import export_contact

        data = [export_contact(contact) for contact in queryset.select_related("organisation")]
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="donnees-personnelles.json"'
        return response

    @admin.action(description=_("Erase the personal data of the selected citizens (request to be forgotten)"))
    def erase_personal_data(self, request, queryset):
        from contacts.services.privacy import erase_contact

        count = 0
        for contact in queryset:
            erase_contact(contact, actor=request.user)
            count += 1
        self.message_user(request, _("Personal data erased for %(count)d citizen(s).") % {"count": count})


def _is_data_controller(user):
    """Who may export or erase a citizen's data: the organisation's
    administrators (and superusers)."""
    if user.is_superuser:
        return True
    profile = AgentProfile.objects.filter(user=user).first()
    return profile is not None and profile.role == AgentProfile.Role.ADMINISTRATOR


@admin.register(Ticket)
class TicketAdmin(VisibleTicketsMixin, admin.ModelAdmin):
    ticket_path = "self"

    list_display = ["reference", "subject", "channel", "status", "priority", "service", "assignee", "created_at"]
    list_filter = ["organisation", "channel", "status", "priority", "service", "not_understood"]
    search_fields = ["reference", "subject", "contact__email", "contact__phone", "contact__name"]
    readonly_fields = [
        "reference",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
    ]
    raw_id_fields = ["contact"]
    inlines = [MessageInline, EventInline]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from contacts.services.audit import record_access

        ticket = self.get_queryset(request).select_related("topic").filter(pk=object_id).first()
        if ticket is not None:
            record_access(request.user, ticket, what="admin")
        return super().change_view(request, object_id, form_url, extra_context)


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["filename", "content_type", "size", "sha256", "scan_state", "scan_detail", "scanned_at"]


@admin.register(Message)
class MessageAdmin(VisibleTicketsMixin, admin.ModelAdmin):
    list_display = ["ticket", "direction", "channel", "is_internal", "created_at"]
    list_filter = ["direction", "channel", "is_internal"]
    search_fields = ["ticket__reference", "external_id"]
    raw_id_fields = ["ticket"]
    inlines = [AttachmentInline]


@admin.register(TicketEvent)
class TicketEventAdmin(VisibleTicketsMixin, admin.ModelAdmin):
    list_display = ["ticket", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Outbox)
class OutboxAdmin(VisibleTicketsMixin, admin.ModelAdmin):
    list_display = ["recipient", "channel", "status", "attempts", "next_attempt_at", "sent_at", "ticket"]
    list_filter = ["status", "channel"]
    search_fields = ["recipient", "idempotency_key", "provider_id", "ticket__reference"]
    readonly_fields = [f.name for f in Outbox._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed or unknown items again"))
    def send_again(self, request, queryset):
        count = sum(requeue(row) for row in queryset)
        self.message_user(
            request,
            ngettext("%(count)d item queued again.", "%(count)d items queued again.", count) % {"count": count},
            messages.SUCCESS,
        )


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "is_available", "on_call"]
    list_filter = ["organisation", "role", "is_available", "on_call"]
    filter_horizontal = ["services"]
    inlines = [AbsenceInline]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read by the organisation's administrators: who opened which sensitive
    request or document."""

    list_display = ["at", "user", "ticket", "attachment", "what"]
    list_filter = ["ticket__organisation"]
    date_hierarchy = "at"
    search_fields = ["ticket__reference", "user__username"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user", "ticket", "attachment")
        if request.user.is_superuser:
            return queryset
        profile = AgentProfile.objects.filter(user=request.user).first()
        if profile is None or profile.role != AgentProfile.Role.ADMINISTRATOR:
            return queryset.none()
        return queryset.filter(ticket__organisation_id=profile.organisation_id)

    def has_view_permission(self, request, obj=None):
        return _is_data_controller(request.user)

    def has_module_permission(self, request):
        return _is_data_controller(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
