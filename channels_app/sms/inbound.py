"""SMS received and delivery receipts, from each provider's webhook format
to the core: a reply goes through ``contacts.services.ingest``, STOP
withdraws consent, a receipt updates the outbox row.

Provider formats (what their webhooks post, as documented; fields we do not
use are ignored):

- Brevo: JSON events {id, to, messageId, msg_status | event, ts_event,
  reply, tag, ...}; a reply is the event "replied" whose ``reply`` is the
  citizen's text and ``to`` their number; receipts are the events
  "delivered", "hardBounce"/"hard_bounce", "softBounce"/"soft_bounce",
  "rejected", "blacklisted", "skip", ... on ``messageId``;
- OVHcloud: the callback URL of the SMS account, as query or form fields:
  inbound {id, sender, message[, date]}; delivery reports {id, dlr} with
  dlr 1 delivered, 2 or 16 failed, 4 and 8 intermediate;
- generic: JSON {id, from, text[, received_at]} and {id, status}, for a
  relay of our own.
"""

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from contacts.channels import Channel
from contacts.models import ConsentRecord, Contact, Outbox, TicketEvent, normalise_phone
from contacts.services.events import record_event

logger = logging.getLogger(__name__)

STOP_WORDS = {"stop", "arret", "desinscription"}
FINAL_STATUSES = {"delivered", "failed"}


class InboundError(ValueError):
    """The webhook's body is not what the provider sends; the text says why."""


@dataclass
class InboundSms:
    external_id: str
    phone: str
    text: str
    received_at: datetime | None = None


@dataclass
class Receipt:
    provider_id: str
    status: str  # delivered | failed | an intermediate provider status
    detail: str = ""


def _fold(text):
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(char for char in text if not unicodedata.combining(char)).casefold()


def is_stop(text):
    """Whether the message is a STOP word alone (case, accents, spaces and
    punctuation around it ignored): STOP, arrêt, désinscription..."""
    words = re.findall(r"[^\W\d_]+|\d+", _fold(text))
    return len(words) == 1 and words[0] in STOP_WORDS


def _fields(request):
    """The webhook's fields: JSON body, form body or query string."""
    if request.content_type == "application/json" and request.body:
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise InboundError(f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InboundError("the JSON body must be an object")
        return data
    data = request.POST.dict() if request.method == "POST" else {}
    return {**request.GET.dict(), **data}


def _required(data, *names):
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    raise InboundError(f"missing field: {' or '.join(names)}")


def _timestamp(value):
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        from datetime import UTC

        return datetime.fromtimestamp(int(value), tz=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def parse_inbound(provider, request):
    data = _fields(request)
    if provider == "brevo":
        event = str(data.get("msg_status") or data.get("event") or "").lower()
        if event not in ("replied", "reply", "inbound"):
            raise InboundError(f"not a reply event: {event or 'no msg_status'}")
        message_id = _required(data, "id", "messageId")
        return InboundSms(
            external_id=f"brevo:{message_id}:{data.get('ts_event', '')}",
            phone=str(_required(data, "from", "to")),
            text=str(_required(data, "reply", "text")),
            received_at=_timestamp(data.get("ts_event")),
        )
    if provider == "ovh":
        return InboundSms(
            external_id=f"ovh:{_required(data, 'id')}",
            phone=str(_required(data, "sender", "senderNumber")),
            text=str(_required(data, "message")),
            received_at=_timestamp(data.get("date")),
        )
    if provider == "generic":
        return InboundSms(
            external_id=f"generic:{_required(data, 'id')}",
            phone=str(_required(data, "from")),
            text=str(_required(data, "text")),
            received_at=_timestamp(data.get("received_at")),
        )
    raise InboundError(f"unknown provider {provider!r}")


BREVO_FAILED = {
    "hardbounce",
    "hard_bounce",
    "softbounce",
    "soft_bounce",
    "rejected",
    "blacklisted",
    "skip",
    "skipped",
    "error",
    "undelivered",
}
OVH_DLR = {"1": "delivered", "2": "failed", "16": "failed", "4": "buffered", "8": "sent"}


def parse_receipt(provider, request):
    data = _fields(request)
    if provider == "brevo":
        status = str(_required(data, "msg_status", "event")).lower()
        status = "delivered" if status == "delivered" else ("failed" if status in BREVO_FAILED else status)
        detail = str(data.get("description") or data.get("reason") or data.get("msg_status") or data.get("event"))
        return Receipt(str(_required(data, "messageId")), status, detail)
    if provider == "ovh":
        dlr = str(_required(data, "dlr"))
        status = OVH_DLR.get(dlr, f"dlr-{dlr}")
        return Receipt(str(_required(data, "id")), status, str(data.get("description") or f"dlr {dlr}"))
    if provider == "generic":
        status = str(_required(data, "status")).lower()
        return Receipt(str(_required(data, "id")), status, str(data.get("error") or status))
    raise InboundError(f"unknown provider {provider!r}")


def receive(organisation, sms, provider=""):
    """Hand one received SMS to the core. Returns (outcome, ticket or None):
    "stopped" for a STOP, else the outcome of ingest."""
    from contacts.inbound import InboundMessage
    from contacts.services import ingest
    from contacts.services.notifications import stop_sms

    try:
        phone = normalise_phone(sms.phone if sms.phone.startswith(("+", "0")) else f"+{sms.phone}")
    except ValueError as exc:
        raise InboundError(f"sender: {exc}") from exc
    if is_stop(sms.text):
        row = stop_sms(organisation, phone, sms.external_id, text=sms.text)
        return "stopped", row.ticket
    # Writing to us is consent to be answered by SMS, unless the citizen
    # already said otherwise (a STOP, a form without the box ticked).
    known = Contact.objects.filter(organisation=organisation, phone=phone).first()
    consent = None if known is not None and known.sms_consent_at is not None else True
    result = ingest(
        InboundMessage(
            channel=Channel.SMS,
            external_id=sms.external_id[:300],
            organisation=organisation,
            sender_phone=phone,
            text=sms.text,
            thread_on_open_ticket=True,
            sms_consent=consent,
            sms_consent_source=ConsentRecord.Source.SMS_MESSAGE,
            sms_consent_evidence=f"SMS {sms.external_id}"[:300],  # named, not copied: see ingest
            received_at=sms.received_at,
            raw_ref=f"sms:{provider}"[:300],
        )
    )
    return result.outcome, result.ticket


def apply_receipt(receipt):
    """Record a delivery receipt on the outbox rows with that provider id;
    a failure is recorded on the ticket, once. A final status (delivered,
    failed) is not overwritten by a late intermediate one. Returns how
    many rows matched."""
    with transaction.atomic():
        rows = list(
            Outbox.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(channel=Channel.SMS, provider_id=receipt.provider_id)
        )
        for row in rows:
            if row.delivery_status in FINAL_STATUSES or row.delivery_status == receipt.status:
                continue
            Outbox.objects.filter(pk=row.pk).update(delivery_status=receipt.status[:30])
            if receipt.status == "failed" and row.ticket is not None:
                record_event(
                    row.ticket,
                    TicketEvent.Kind.DELIVERY_FAILED,
                    outbox=row.pk,
                    channel=row.channel,
                    recipient=row.recipient,
                    error=f"delivery receipt: {receipt.detail}"[:500],
                )
    return len(rows)
