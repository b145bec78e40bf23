"""The channels a message can come through or leave by."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    FORM = "form", _("Contact form")
    CHAT = "chat", _("Chat")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
