from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = _("Citizen channels")

    def ready(self):
        from channels_app.sms.senders import deliver_sms
        from contacts.channels import Channel
        from contacts.senders import register_sender

        register_sender(Channel.SMS, deliver_sms)
