"""Delivering an outbox email through Django's email backend (any
django-anymail ESP, SMTP, or the console)."""

import smtplib

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from contacts.models import Attachment
from contacts.senders import PermanentDeliveryError, TemporaryDeliveryError


def build_email(row):
    payload = row.payload
    headers = {"Message-ID": payload["message_id"]} if payload.get("message_id") else {}
    if payload.get("in_reply_to"):
        headers["In-Reply-To"] = payload["in_reply_to"]
    if payload.get("references"):
        headers["References"] = " ".join(payload["references"])
    headers["Auto-Submitted"] = "auto-replied" if row.idempotency_key.startswith("ack:") else "no"
    message = EmailMultiAlternatives(
        subject=payload.get("subject", ""),
        body=payload.get("text", ""),
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient],
        reply_to=[payload["reply_to"]] if payload.get("reply_to") else None,
        headers=headers,
    )
    message.attach_alternative(payload.get("html") or render_html(payload.get("text", "")), "text/html")
    for attachment in Attachment.objects.filter(pk__in=payload.get("attachments") or []):
        # Nothing leaves before the antivirus has passed it (docs/antivirus.md).
        if attachment.scan_state == Attachment.Scan.PENDING:
            raise TemporaryDeliveryError(f"document {attachment.pk} is waiting for its antivirus scan")
        if not attachment.downloadable:
            raise PermanentDeliveryError(
                # The id, not the name: a file's name often holds the citizen's.
                f"document {attachment.pk} not sent: antivirus {attachment.scan_state} ({attachment.scan_detail})"
            )
        with attachment.file.open("rb") as handle:
            message.attach(attachment.filename, handle.read(), attachment.content_type)
    return message


def render_html(text):
    """The HTML alternative of a plain-text answer: the same words, escaped."""
    return render_to_string("mail/message.html", {"body": text})


def deliver_email(row):
    message = build_email(row)
    try:
        get_connection().send_messages([message])
    except AnymailRecipientsRefused as exc:
        raise PermanentDeliveryError(f"recipient refused: {exc}") from exc
    except AnymailRequestsAPIError as exc:
        status = getattr(exc, "status_code", None)
        if status is not None and 400 <= status < 500 and status != 429:
            raise PermanentDeliveryError(f"provider refused the message ({status}): {exc}") from exc
        raise TemporaryDeliveryError(f"provider error ({status}): {exc}") from exc
    except AnymailAPIError as exc:
        raise TemporaryDeliveryError(str(exc)) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"recipient refused: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise TemporaryDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    status = getattr(message, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status else None
    return str(provider_id or row.payload.get("message_id", ""))
