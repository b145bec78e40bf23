"""The SMS sender the outbox calls, registered with the configured
backend's resend safety."""

from channels_app.sms.backends import backend_class, get_backend
from contacts.senders import PermanentDeliveryError


def deliver_sms(row):
    payload = row.payload
    if row.ticket_id is not None and payload.get("kind") != "stop":
        # Consent is checked again at the moment of sending: an SMS delayed
        # by quiet hours must not leave after the citizen wrote STOP.
        from contacts.models import Contact

        consent = Contact.objects.filter(pk=row.ticket.contact_id).values_list("sms_consent", flat=True).first()
        if not consent:
            raise PermanentDeliveryError("the citizen withdrew their consent to SMS before it was sent")
    return get_backend().send(
        row.recipient,
        payload["text"],
        reference=row.idempotency_key,
        sender=payload.get("sender") or "",
        unicode=payload.get("encoding") == "ucs2",
    )


def register():
    """Register the SMS sender; a resend after a crash is safe only when
    the configured backend deduplicates on our reference."""
    from contacts.channels import Channel
    from contacts.senders import register_sender

    register_sender(Channel.SMS, deliver_sms, resend_is_safe=backend_class().resend_is_safe)


def _on_setting_changed(setting, **kwargs):
    if setting == "SMS_BACKEND":
        register()
