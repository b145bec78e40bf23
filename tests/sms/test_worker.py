"""SMS delivered by a real Celery worker on the Redis broker to a local
provider that fails the way providers fail."""

import json
import signal
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from channels_app.sms.backends import FileBackend
from contacts.models import Outbox
from contacts.services import outbox
from tests.sms.conftest import MOBILE
from tests.support.processes import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def needs_services():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis")


def worker_env(provider, **extra):
    return {
        **provider.env("brevo"),
        "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
        "SMS_HTTP_TIMEOUT_SECONDS": "0.5",
        "SMS_HTTP_CONNECT_TIMEOUT_SECONDS": "0.5",
        **extra,
    }


def final(row):
    row.refresh_from_db()
    return row.status in (Outbox.Status.SENT, Outbox.Status.FAILED, Outbox.Status.UNKNOWN)


def the_ack(ticket):
    return Outbox.objects.get(ticket=ticket, channel="sms")


def test_two_server_errors_then_success_deliver_one_sms(needs_services, brevo, no_quiet_hours, sms_ticket, tmp_path):
    brevo.script = [500, 500]
    with celery_worker(tmp_path / "worker.log", **worker_env(brevo)):
        ticket = sms_ticket()
        row = the_ack(ticket)
        wait_until(lambda: final(row), message="the SMS delivered")

    assert row.status == Outbox.Status.SENT
    assert row.attempts == 3
    assert [r.step for r in brevo.received] == [500, 500, 200]
    assert len(brevo.accepted) == 1
    assert row.provider_id == "1511882900000001"
    assert ticket.events.filter(kind="sms_sent").count() == 1
    sent = brevo.accepted[0].json
    assert sent["recipient"] == MOBILE.lstrip("+")
    assert ticket.reference in sent["content"]


def test_a_timeout_is_retried_and_one_sms_delivered(needs_services, brevo, no_quiet_hours, sms_ticket, tmp_path):
    brevo.script = ["timeout"]
    with celery_worker(tmp_path / "worker.log", **worker_env(brevo)):
        ticket = sms_ticket()
        row = the_ack(ticket)
        wait_until(lambda: final(row), message="the SMS delivered")

    assert row.status == Outbox.Status.SENT
    assert row.attempts == 2
    assert len(brevo.received) == 2
    assert len(brevo.accepted) == 1


def test_an_invalid_number_fails_at_once_visibly(needs_services, brevo, no_quiet_hours, sms_ticket, tmp_path):
    brevo.script = ["invalid"]
    with celery_worker(tmp_path / "worker.log", **worker_env(brevo)):
        ticket = sms_ticket()
        row = the_ack(ticket)
        wait_until(lambda: final(row), message="the SMS failed")
        # One more row through the same worker proves it moved on without
        # retrying the failed one.
        other = outbox.enqueue("sms", MOBILE, {"text": "x", "kind": "test"}, idempotency_key="after-invalid")
        wait_until(lambda: final(other), message="the next SMS")

    assert row.status == Outbox.Status.FAILED
    assert row.attempts == 1
    assert "400" in row.last_error and "Invalid phone number" in row.last_error
    assert [r.step for r in brevo.received] == ["invalid", 200]
    event = ticket.events.get(kind="delivery_failed")
    assert event.data["recipient"] == MOBILE
    assert "400" in event.data["error"]


def test_worker_killed_mid_send_loses_nothing_and_sends_no_duplicate(
    needs_services, brevo, no_quiet_hours, sms_ticket, tmp_path
):
    brevo.script = ["hang"]
    env = worker_env(brevo, SMS_HTTP_TIMEOUT_SECONDS="60", OUTBOX_SENDING_LEASE_SECONDS="2")
    with celery_worker(tmp_path / "worker.log", **env) as worker:
        ticket = sms_ticket()
        row = the_ack(ticket)
        brevo.wait_for(1)  # the provider has the request and holds it
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    brevo.release()  # the provider accepts it: nobody is left to hear so
    wait_until(lambda: brevo.accepted, message="the provider to accept the held SMS")

    row.refresh_from_db()
    assert row.status == Outbox.Status.SENDING  # not lost: still ours, leased
    wait_until(lambda: timezone.now() > row.locked_until + timedelta(milliseconds=100), message="the lease to expire")
    assert outbox.sweep() == 1

    row.refresh_from_db()
    # Brevo does not deduplicate on our reference: sending again could reach
    # the citizen twice, so the row is "unknown", recorded, for a person.
    assert row.status == Outbox.Status.UNKNOWN
    assert ticket.events.filter(kind="delivery_failed", data__error__icontains="unknown").exists()
    # The broker will hand the unacknowledged task to a worker again; it
    # finds the row no longer queued and sends nothing.
    assert outbox.deliver(row.pk) is None
    assert len(brevo.accepted) == 1


@pytest.mark.django_db
def test_a_resend_safe_backend_sends_a_stuck_row_again_without_duplicate(
    settings, tmp_path, no_quiet_hours, sms_ticket, eager_celery
):
    # FileBackend deduplicates on our reference: the sweeper may resend.
    settings.SMS_BACKEND = "channels_app.sms.backends.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    ticket = sms_ticket()
    row = the_ack(ticket)
    # The dead worker had reached the provider before it died.
    FileBackend().send(row.recipient, row.payload["text"], reference=row.idempotency_key)
    Outbox.objects.filter(pk=row.pk).update(
        status=Outbox.Status.SENDING, attempts=1, locked_until=timezone.now() - timedelta(minutes=1)
    )

    assert outbox.sweep() == 1

    row.refresh_from_db()
    assert row.status == Outbox.Status.SENT
    files = list((tmp_path / "sms").iterdir())
    assert len(files) == 1
    assert json.loads(files[0].read_text())["reference"] == row.idempotency_key


def test_a_worker_whose_database_connection_dropped_goes_on_delivering(needs_services, brevo, no_quiet_hours, tmp_path):
    """Workers keep their database connection between tasks; one that the
    server closed is replaced, and the SMS caught in between is not lost."""
    with celery_worker(tmp_path / "worker.log", **worker_env(brevo)):
        first = outbox.enqueue("sms", MOBILE, {"text": "un", "kind": "test"}, idempotency_key="conn-1")
        wait_until(lambda: final(first), message="the first SMS")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        second = outbox.enqueue("sms", MOBILE, {"text": "deux", "kind": "test"}, idempotency_key="conn-2")
        third = outbox.enqueue("sms", MOBILE, {"text": "trois", "kind": "test"}, idempotency_key="conn-3")
        wait_until(lambda: final(third), message="the SMS after the dropped connection")
        # The SMS whose task met the dead connection is still queued (or was
        # sent if the worker had already reconnected): the sweeper sends it.
        second.refresh_from_db()
        if second.status == Outbox.Status.QUEUED:
            Outbox.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
            assert outbox.sweep() == 1
        wait_until(lambda: final(second), message="the SMS caught in between")

    assert [first.status, second.status, third.status] == [Outbox.Status.SENT] * 3
    assert len(brevo.accepted) == 3
