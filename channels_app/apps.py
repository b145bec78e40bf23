from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = _("Citizen channels")

    def ready(self):
        from django.core.signals import setting_changed

        import channels_app.sms.tasks  # noqa: F401  (the reminder tasks, for the workers)
        from channels_app.sms import senders

        senders.register()
        setting_changed.connect(senders._on_setting_changed, dispatch_uid="channels_app.sms.backend")
