from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Email")

    def ready(self):
        import mail.privacy  # noqa: F401  (erases its copies with the ticket's personal data)
        from contacts.channels import Channel
        from contacts.senders import register_sender
        from mail.senders import deliver_email

        # A resend carries the same Message-ID, which mail clients collapse.
        register_sender(Channel.EMAIL, deliver_email, resend_is_safe=True)

        from anymail.signals import inbound, tracking

        from mail.webhooks import on_inbound, on_tracking

        inbound.connect(on_inbound, dispatch_uid="mail-inbound")
        tracking.connect(on_tracking, dispatch_uid="mail-tracking")
