import datetime

import pytest
from django.core import mail

from channels_app.models import DocumentRequest, Reminder, SmsSettings
from contacts.models import Message, Outbox
from contacts.services import notifications, outbox
from contacts.services.consent import change_consent
from contacts.services.tickets import TicketActionError
from tests.sms.conftest import LANDLINE, MOBILE, OTHER_MOBILE

pytestmark = pytest.mark.django_db


def sms_rows(**filters):
    return list(Outbox.objects.filter(channel="sms", **filters).order_by("pk"))


def test_acknowledgement_by_sms_carries_reference_due_date_segments_and_cost(sms_ticket, no_quiet_hours):
    ticket = sms_ticket()
    (row,) = sms_rows(ticket=ticket)
    assert row.recipient == MOBILE
    assert row.idempotency_key == f"ack:{ticket.pk}"
    assert ticket.reference in row.payload["text"]
    assert row.payload["kind"] == "acknowledgement"
    assert row.payload["encoding"] == "gsm7"
    assert row.payload["segments"] == 1
    assert row.payload["cost_eur"] == 0.05
    if ticket.due_at:
        assert notifications.local_date(ticket.organisation, ticket.due_at) in row.payload["text"]


@pytest.mark.parametrize(
    ("phone", "consent"),
    [(MOBILE, False), (LANDLINE, True), ("", False)],
    ids=["no consent", "landline", "no phone"],
)
def test_without_consent_or_mobile_the_acknowledgement_goes_by_email(sms_ticket, phone, consent):
    ticket = sms_ticket(phone=phone, consent=consent, email="marie@citoyen.example", subject="RSA")
    (row,) = Outbox.objects.filter(ticket=ticket)
    assert row.channel == "email"
    assert row.recipient == "marie@citoyen.example"
    assert ticket.reference in row.payload["subject"]


def test_unreachable_citizen_is_recorded_not_silently_forgotten(sms_ticket):
    ticket = sms_ticket(phone=LANDLINE, consent=True)
    assert not Outbox.objects.filter(ticket=ticket).exists()
    assert ticket.events.filter(kind="ack_skipped", data__reason="unreachable").exists()


def test_quiet_hours_delay_to_eight_in_the_organisation_time_zone(sms_ticket, clock, organisation):
    clock.local(organisation, 2026, 3, 10, 22, 30)  # a Tuesday evening in Paris
    ticket = sms_ticket()
    (row,) = sms_rows(ticket=ticket)
    assert row.next_attempt_at == datetime.datetime(2026, 3, 11, 8, 0, tzinfo=organisation.tzinfo)
    assert row.payload["delayed"] == ["quiet_hours"]
    assert row.status == Outbox.Status.QUEUED


def test_saturday_night_waits_for_monday_morning_across_the_clock_change(sms_ticket, clock, organisation):
    clock.local(organisation, 2026, 3, 28, 21, 0)  # Saturday; Sunday 29 March is the switch to summer time
    (row,) = sms_rows(ticket=sms_ticket())
    assert row.next_attempt_at == datetime.datetime(2026, 3, 30, 6, 0, tzinfo=datetime.UTC)  # 08:00 CEST


def test_early_morning_waits_until_eight_the_same_day(sms_ticket, clock, organisation):
    clock.local(organisation, 2026, 3, 10, 6, 15)
    (row,) = sms_rows(ticket=sms_ticket())
    assert row.next_attempt_at == datetime.datetime(2026, 3, 10, 8, 0, tzinfo=organisation.tzinfo)


def test_quiet_hours_follow_the_organisation_own_time_zone(sms_ticket, clock, organisation):
    organisation.timezone = "America/Cayenne"  # UTC-3, no summer time
    organisation.save()
    clock.set(datetime.datetime(2026, 3, 10, 23, 30, tzinfo=datetime.UTC))  # 20:30 in Cayenne
    (row,) = sms_rows(ticket=sms_ticket())
    assert row.next_attempt_at == datetime.datetime(2026, 3, 11, 11, 0, tzinfo=datetime.UTC)


def test_daytime_sms_leaves_at_once(sms_ticket, clock, organisation):
    now = clock.local(organisation, 2026, 3, 10, 14, 0)
    (row,) = sms_rows(ticket=sms_ticket())
    assert "delayed" not in row.payload
    assert row.next_attempt_at <= datetime.datetime.now(datetime.UTC)
    assert now  # the real clock decides when immediate rows are due


def test_emergency_acknowledgement_is_never_delayed(sms_ticket, clock, organisation, monkeypatch):
    clock.local(organisation, 2026, 3, 10, 23, 0)
    monkeypatch.setattr(notifications, "emergency_numbers", lambda ticket: [("112", "Urgences")])
    (row,) = sms_rows(ticket=sms_ticket())
    assert "delayed" not in row.payload
    assert "112" in row.payload["text"]


def test_daily_limit_delays_to_the_next_day_never_drops(sms_ticket, no_quiet_hours, organisation):
    no_quiet_hours.max_per_contact_per_day = 2
    no_quiet_hours.save()
    ticket = sms_ticket()
    agent_messages = [
        Message.objects.create(ticket=ticket, direction="out", channel="email", body_text=f"Réponse {n}")
        for n in range(3)
    ]
    for message in agent_messages:
        notifications.notify_answer(ticket, message)

    rows = sms_rows(ticket=ticket)
    assert len(rows) == 4  # the acknowledgement and three notices: none lost
    tz = organisation.tzinfo
    days = [row.next_attempt_at.astimezone(tz).date() for row in rows]
    today = days[0]
    assert days == [today, today, today + datetime.timedelta(days=1), today + datetime.timedelta(days=1)]
    assert rows[2].payload["delayed"] == ["rate_limit"]
    assert rows[2].next_attempt_at.astimezone(tz).time() == datetime.time(0, 0)


def test_the_limit_is_per_citizen(sms_ticket, no_quiet_hours):
    no_quiet_hours.max_per_contact_per_day = 1
    no_quiet_hours.save()
    first, second = sms_ticket(), sms_ticket(phone=OTHER_MOBILE)
    assert "delayed" not in sms_rows(ticket=first)[0].payload
    assert "delayed" not in sms_rows(ticket=second)[0].payload


def test_answer_notice_only_when_the_answer_did_not_go_by_sms(sms_ticket, no_quiet_hours):
    ticket = sms_ticket()
    by_sms = Message.objects.create(ticket=ticket, direction="out", channel="sms", body_text="Réponse")
    by_email = Message.objects.create(ticket=ticket, direction="out", channel="email", body_text="Réponse")
    internal = Message.objects.create(ticket=ticket, direction="out", channel="email", body_text="x", is_internal=True)
    assert notifications.notify_answer(ticket, by_sms) is None
    assert notifications.notify_answer(ticket, internal) is None
    row = notifications.notify_answer(ticket, by_email)
    assert row.idempotency_key == f"answer:{by_email.pk}"
    assert "/suivi/" in row.payload["text"]
    assert notifications.notify_answer(ticket, by_email).pk == row.pk  # once


def test_organisation_wording_and_sender_name(sms_ticket, no_quiet_hours):
    no_quiet_hours.sender_name = "CD99"
    no_quiet_hours.signature = "Dépt 99"
    no_quiet_hours.acknowledgement_template = "{organisation} : demande {reference} bien reçue ! Réponse sous 3 jours."
    no_quiet_hours.save()
    ticket = sms_ticket()
    (row,) = sms_rows(ticket=ticket)
    assert (
        row.payload["text"] == f"Dépt 99 : demande {ticket.reference} bien recue ! Réponse sous 3 jours."
    )  # ç → c (GSM-7)
    assert row.payload["sender"] == "CD99"


def test_unknown_placeholder_is_refused(organisation):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="reference_number"):
        SmsSettings(organisation=organisation, answer_template="{reference_number}").full_clean()


def test_request_documents_notifies_and_schedules_reminders(sms_ticket, clock, organisation, admin_user):
    SmsSettings.objects.create(organisation=organisation, reminder_days_before="3,1")
    clock.local(organisation, 2026, 3, 10, 14, 0)
    ticket = sms_ticket()
    request = notifications.request_documents(ticket, admin_user, "Avis d'imposition 2025", datetime.date(2026, 3, 20))

    assert request.due_date == datetime.date(2026, 3, 20)
    notice = Outbox.objects.get(idempotency_key=f"documents:{request.pk}")
    assert "vendredi 20 mars" in notice.payload["text"]
    assert "/suivi/" in notice.payload["text"]
    remind = list(Reminder.objects.filter(document_request=request).values_list("remind_at", flat=True))
    tz = organisation.tzinfo
    assert remind == [
        datetime.datetime(2026, 3, 17, 10, 0, tzinfo=tz),
        datetime.datetime(2026, 3, 19, 10, 0, tzinfo=tz),
    ]

    # Not yet time: nothing. At the first reminder's time: one SMS, once.
    assert notifications.send_due_reminders(now=datetime.datetime(2026, 3, 16, 12, 0, tzinfo=tz)) == 0
    clock.local(organisation, 2026, 3, 17, 10, 0)
    assert notifications.send_due_reminders(now=datetime.datetime(2026, 3, 17, 10, 0, tzinfo=tz)) == 1
    assert notifications.send_due_reminders(now=datetime.datetime(2026, 3, 17, 10, 5, tzinfo=tz)) == 0
    reminder = Reminder.objects.get(remind_at=remind[0])
    assert reminder.sent and reminder.outbox.payload["kind"] == "reminder"
    assert "rappel" in reminder.outbox.payload["text"].lower() or "reminder" in reminder.outbox.payload["text"].lower()


def test_reminders_are_cancelled_when_the_ticket_is_resolved(sms_ticket, clock, organisation, admin_user):
    clock.local(organisation, 2026, 3, 10, 14, 0)
    ticket = sms_ticket()
    notifications.request_documents(ticket, admin_user, "RIB", datetime.date(2026, 3, 20))
    ticket.status = "resolved"
    ticket.resolved_at = datetime.datetime(2026, 3, 12, 9, 0, tzinfo=datetime.UTC)
    ticket.save()
    row = notifications.notify_resolved(ticket)

    assert row.payload["kind"] == "resolved"
    assert "/suivi/" in row.payload["text"]
    assert not Reminder.objects.filter(cancelled_at__isnull=True).exists()
    assert notifications.send_due_reminders(now=datetime.datetime(2026, 3, 19, 12, 0, tzinfo=datetime.UTC)) == 0


def test_documents_by_email_when_no_sms(sms_ticket, organisation, admin_user, clock):
    clock.local(organisation, 2026, 3, 10, 14, 0)
    ticket = sms_ticket(phone="", consent=False, email="marie@citoyen.example", subject="RSA")
    request = notifications.request_documents(ticket, admin_user, "Avis d'imposition", datetime.date(2026, 3, 20))
    row = Outbox.objects.get(idempotency_key=f"documents:{request.pk}")
    assert row.channel == "email"
    assert "Avis d'imposition" in row.payload["text"]  # not HTML-escaped
    assert "/suivi/" in row.payload["text"]


def test_request_documents_refuses_a_past_date_or_no_text(sms_ticket, clock, organisation, admin_user):
    clock.local(organisation, 2026, 3, 10, 14, 0)
    ticket = sms_ticket()
    with pytest.raises(TicketActionError):
        notifications.request_documents(ticket, admin_user, "RIB", datetime.date(2026, 3, 9))
    with pytest.raises(TicketActionError):
        notifications.request_documents(ticket, admin_user, "  ", datetime.date(2026, 3, 20))
    assert not DocumentRequest.objects.exists()


def test_an_sms_queued_before_stop_is_not_sent_after_it(sms_ticket, locmem, organisation, eager_celery):
    ticket = sms_ticket()
    (ack,) = sms_rows(ticket=ticket)
    contact = ticket.contact
    change_consent(contact, given=False, source="sms_stop", evidence="STOP")
    Outbox.objects.filter(pk=ack.pk).update(next_attempt_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))

    assert outbox.deliver(ack.pk) == Outbox.Status.FAILED
    assert locmem == []
    assert ticket.events.filter(kind="delivery_failed", data__error__icontains="consent").exists()
    assert len(mail.outbox) == 0
