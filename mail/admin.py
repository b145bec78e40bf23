from django import forms
from django.contrib import admin

from mail.models import Mailbox, RawMessage


class MailboxForm(forms.ModelForm):
    imap_secret = forms.CharField(
        label=Mailbox._meta.get_field("imap_secret").verbose_name,
        help_text=Mailbox._meta.get_field("imap_secret").help_text,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = Mailbox
        fields = [
            "organisation",
            "service",
            "address",
            "is_active",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_login",
            "imap_secret",
            "folder",
            "after_import",
            "move_to",
        ]

    def clean_imap_secret(self):
        # The secret is never shown back; an empty field keeps the stored one.
        value = self.cleaned_data["imap_secret"]
        return value or (self.instance.imap_secret if self.instance.pk else "")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["address", "organisation", "service", "imap_host", "is_active", "last_uid", "last_checked_at"]
    list_filter = ["organisation", "is_active"]
    search_fields = ["address", "imap_host"]
    readonly_fields = ["uidvalidity", "last_uid", "last_checked_at", "last_error"]


@admin.register(RawMessage)
class RawMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "message_id", "source", "status", "size", "mailbox", "ticket"]
    list_filter = ["status", "source", "organisation"]
    search_fields = ["message_id", "sha256", "ticket__reference"]
    readonly_fields = [f.name for f in RawMessage._meta.fields if f.name != "compressed"]
    exclude = ["compressed"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
