from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = _("Citizen channels")

    def ready(self):
        from django.core.signals import setting_changed

        import channels_app.privacy  # noqa: F401  (erases its copies with the ticket's personal data)
        import channels_app.sms.tasks  # noqa: F401  (the reminder tasks, for the workers)
        from channels_app.sms import senders

        senders.register()

        from channels_app.chat.services import deliver as deliver_chat
        from contacts.senders import register_sender

        # Idempotent on the message: a resend after a crash adds nothing.
        register_sender("chat", deliver_chat, resend_is_safe=True)
        setting_changed.connect(senders._on_setting_changed, dispatch_uid="channels_app.sms.backend")
