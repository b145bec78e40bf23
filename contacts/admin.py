from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contacts.models import Absence, AgentProfile, Attachment, Contact, Message, Outbox, Ticket, TicketEvent
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


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "postcode", "sms_consent", "organisation", "created_at"]
    list_filter = ["organisation", "sms_consent"]
    search_fields = ["name", "email", "phone"]
    readonly_fields = ["sms_consent_at", "created_at"]


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


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["filename", "content_type", "size", "sha256"]


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
