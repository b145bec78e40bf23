from channels_app.sms.backends import get_backend


def deliver_sms(row):
    return get_backend().send(row.recipient, row.payload["text"], reference=row.idempotency_key)
