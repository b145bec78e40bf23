"""What the citizen channels store."""

from channels_app.models.chat import ChatEntry, Conversation
from channels_app.models.portal import Branding, CallbackRequest, FormSubmission, Orientation, Widget
from channels_app.models.sms import (
    PLACEHOLDER_RE,
    PLACEHOLDERS,
    DocumentRequest,
    Reminder,
    SmsSettings,
    default_cost_per_segment,
    default_max_per_day,
    validate_reminder_days,
    validate_sms_template,
)

__all__ = [
    "PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "default_cost_per_segment",
    "default_max_per_day",
    "Branding",
    "CallbackRequest",
    "ChatEntry",
    "Conversation",
    "DocumentRequest",
    "FormSubmission",
    "Orientation",
    "Reminder",
    "SmsSettings",
    "Widget",
    "validate_reminder_days",
    "validate_sms_template",
]
