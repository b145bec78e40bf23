"""The rules every SMS to a citizen follows, in one place.

- only to a contact who consented, on a valid mobile number;
- never during the organisation's quiet hours (default 20:00-08:00 and
  Sundays, in its time zone): the SMS is delayed to the next allowed time,
  never dropped;
- at most ``max_per_contact_per_day`` per citizen and local day: beyond it
  the SMS waits for the next day's first allowed time, never dropped;
- the text encoded to stay in GSM-7 when it can, its segments and cost
  stored in the outbox payload.

The daily count is the number of SMS outbox rows to that number whose send
time (``next_attempt_at``) falls in that local day, failed rows excepted:
it is transactional (no counter to drift, nothing lost when Redis is
flushed) and the caller holds a lock on the contact row, so two
notifications to one citizen are decided one after the other.
"""

import datetime
from decimal import Decimal

import phonenumbers
from django.utils import timezone

from channels_app.sms import encoding

MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def now():
    """The current time (one indirection, so tests can move the clock)."""
    return timezone.now()


def is_mobile(phone):
    """Whether an E.164 number is a valid number that can receive SMS."""
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, "FR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in MOBILE_TYPES


def sms_settings_for(organisation):
    from channels_app.models import SmsSettings

    return SmsSettings.for_organisation(organisation)


def can_text(contact, sms_settings=None):
    """Whether proactive SMS may be sent to this contact."""
    sms_settings = sms_settings or sms_settings_for(contact.organisation)
    return bool(sms_settings.enabled and contact.sms_consent and is_mobile(contact.phone))


def _is_quiet_time(sms_settings, local):
    start, end, moment = sms_settings.quiet_start, sms_settings.quiet_end, local.time()
    if start == end:
        return False
    if start > end:  # across midnight, e.g. 20:00 -> 08:00
        return moment >= start or moment < end
    return start <= moment < end


def _is_quiet_day(sms_settings, local_date):
    return sms_settings.quiet_on_sundays and local_date.weekday() == 6


def _at(local_date, moment, tz):
    return datetime.datetime.combine(local_date, moment, tzinfo=tz)


def next_allowed(sms_settings, when):
    """The first moment at or after ``when`` outside quiet hours and days."""
    tz = sms_settings.organisation.tzinfo
    local = when.astimezone(tz)
    for _ in range(15):
        if _is_quiet_day(sms_settings, local.date()):
            local = _at(local.date() + datetime.timedelta(days=1), datetime.time(0, 0), tz)
            continue
        if not _is_quiet_time(sms_settings, local):
            return local.astimezone(datetime.UTC)
        end = sms_settings.quiet_end
        day = local.date() if local.time() < end else local.date() + datetime.timedelta(days=1)
        local = _at(day, end, tz)
    raise ValueError("no time outside quiet hours in the next two weeks; check the SMS settings")


def sent_on_local_day(sms_settings, recipient, local_date):
    from contacts.channels import Channel
    from contacts.models import Outbox

    tz = sms_settings.organisation.tzinfo
    start = _at(local_date, datetime.time(0, 0), tz)
    end = _at(local_date + datetime.timedelta(days=1), datetime.time(0, 0), tz)
    return (
        Outbox.objects.filter(
            channel=Channel.SMS, recipient=recipient, next_attempt_at__gte=start, next_attempt_at__lt=end
        )
        .exclude(status=Outbox.Status.FAILED)
        .count()
    )


def schedule(sms_settings, recipient, when=None):
    """When an SMS to ``recipient`` may leave: (moment, reasons delayed)."""
    when = when or now()
    tz = sms_settings.organisation.tzinfo
    moment = next_allowed(sms_settings, when)
    reasons = []
    if moment > when + datetime.timedelta(seconds=1):
        reasons.append("quiet_hours")
    limit = sms_settings.max_per_contact_per_day
    for _ in range(60):
        if not limit or sent_on_local_day(sms_settings, recipient, moment.astimezone(tz).date()) < limit:
            return moment, reasons
        if "rate_limit" not in reasons:
            reasons.append("rate_limit")
        next_day = moment.astimezone(tz).date() + datetime.timedelta(days=1)
        moment = next_allowed(sms_settings, _at(next_day, datetime.time(0, 0), tz))
    return moment, reasons


def payload(text, sms_settings, kind):
    """The outbox payload of an SMS: the text as it will be sent, with its
    encoding, segment count and cost estimate."""
    prepared = encoding.prepare(text.strip())
    cost = (Decimal(prepared.segments) * Decimal(str(sms_settings.cost_per_segment_eur))).quantize(Decimal("0.0001"))
    return {
        "text": prepared.text,
        "kind": kind,
        "sender": sms_settings.sender_name,
        "encoding": prepared.encoding,
        "segments": prepared.segments,
        "cost_eur": float(cost),
    }
