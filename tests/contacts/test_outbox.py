import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Outbox
from contacts.services import ingest, outbox
from tests.support.email_backends import ScriptedBackend


@pytest.fixture
def scripted_email(settings):
    settings.EMAIL_BACKEND = "tests.support.email_backends.ScriptedBackend"
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 30
    ScriptedBackend.script = []
    ScriptedBackend.calls = 0
    return ScriptedBackend


def make_due(row):
    Outbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def ack(make_inbound):
    return Outbox.objects.get(ticket=ingest(make_inbound()).ticket)


@pytest.mark.django_db
def test_two_temporary_errors_then_success_delivers_once(scripted_email, ack):
    scripted_email.script = [503, 503]

    assert outbox.deliver(ack.pk) == Outbox.Status.QUEUED
    ack.refresh_from_db()
    assert ack.next_attempt_at > timezone.now()
    assert "503" in ack.last_error
    assert outbox.deliver(ack.pk) is None  # not due yet: nobody sends it early
    make_due(ack)
    assert outbox.deliver(ack.pk) == Outbox.Status.QUEUED
    make_due(ack)
    assert outbox.deliver(ack.pk) == Outbox.Status.SENT
    make_due(ack)
    assert outbox.deliver(ack.pk) is None  # already sent

    ack.refresh_from_db()
    assert ack.status == Outbox.Status.SENT
    assert ack.attempts == 3
    assert len(mail.outbox) == 1
    assert ack.ticket.events.filter(kind="sent").count() == 1


@pytest.mark.django_db
def test_permanent_error_fails_at_once_and_records_why(scripted_email, ack):
    scripted_email.script = [400]

    assert outbox.deliver(ack.pk) == Outbox.Status.FAILED
    make_due(ack)
    assert outbox.deliver(ack.pk) is None

    ack.refresh_from_db()
    assert ack.status == Outbox.Status.FAILED
    assert ack.attempts == 1
    assert scripted_email.calls == 1
    event = ack.ticket.events.get(kind="delivery_failed")
    assert "400" in event.data["error"]
    assert event.data["recipient"] == ack.recipient


@pytest.mark.django_db
def test_temporary_errors_give_up_after_the_maximum_attempts(scripted_email, settings, ack):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    scripted_email.script = [500, 500, 500]
    for _ in range(3):
        make_due(ack)
        outbox.deliver(ack.pk)
    ack.refresh_from_db()
    assert ack.status == Outbox.Status.FAILED
    assert ack.last_error.startswith("gave up after 3 attempts")
    assert len(mail.outbox) == 0


@pytest.mark.django_db
def test_rows_are_dispatched_after_commit_and_not_before(
    django_capture_on_commit_callbacks, make_inbound, eager_celery
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket = ingest(make_inbound()).ticket
    row = Outbox.objects.get(ticket=ticket)
    assert row.status == Outbox.Status.QUEUED
    assert len(mail.outbox) == 0
    for callback in callbacks:
        callback()
    row.refresh_from_db()
    assert row.status == Outbox.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(make_inbound, eager_celery):
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(make_inbound())
        raise RuntimeError("crash after ingest, before commit")
    assert Outbox.objects.count() == 0
    assert len(mail.outbox) == 0


@pytest.mark.django_db
def test_same_idempotency_key_is_one_row(organisation):
    first = outbox.enqueue("email", "a@citoyen.example", {"text": "x"}, idempotency_key="k-1")
    second = outbox.enqueue("email", "a@citoyen.example", {"text": "x"}, idempotency_key="k-1")
    assert first.pk == second.pk
    assert Outbox.objects.count() == 1


@pytest.mark.django_db
def test_sweeper_delivers_a_row_whose_dispatch_was_lost(ack, settings, eager_celery):
    # The worker died between commit and dispatch: the row is queued, due, and
    # nobody will pick it up but the sweeper.
    settings.OUTBOX_DISPATCH_GRACE_SECONDS = 60
    assert outbox.sweep() == 0  # not yet past the grace period
    Outbox.objects.filter(pk=ack.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    assert outbox.sweep() == 1
    assert outbox.sweep() == 0

    ack.refresh_from_db()
    assert ack.status == Outbox.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_sweeper_resends_a_stuck_email_but_marks_a_stuck_sms_unknown(ack, make_inbound, eager_celery):
    sms_ticket = ingest(
        make_inbound(channel="sms", sender_email="", sender_phone="+33612345678", sms_consent=True)
    ).ticket
    sms = Outbox.objects.get(ticket=sms_ticket)
    past = timezone.now() - timedelta(minutes=1)
    Outbox.objects.filter(pk__in=[ack.pk, sms.pk]).update(status=Outbox.Status.SENDING, locked_until=past, attempts=1)

    assert outbox.sweep() == 2

    ack.refresh_from_db()
    sms.refresh_from_db()
    assert ack.status == Outbox.Status.SENT
    assert len(mail.outbox) == 1
    assert sms.status == Outbox.Status.UNKNOWN
    assert sms_ticket.events.filter(kind="delivery_failed").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_row_send_it_once(ack, scripted_email):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    barrier = threading.Barrier(4)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(outbox.deliver(ack.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(map(str, results)) == ["None", "None", "None", "sent"]
    assert scripted_email.calls == 1


@pytest.mark.django_db
def test_requeue_sends_a_failed_row_again(scripted_email, ack, eager_celery, django_capture_on_commit_callbacks):
    scripted_email.script = [400]
    outbox.deliver(ack.pk)
    ack.refresh_from_db()
    assert ack.status == Outbox.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.requeue(ack) is True

    ack.refresh_from_db()
    assert ack.status == Outbox.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_worker_slower_than_its_lease_still_records_the_sms_as_sent(make_inbound, settings):
    """The sweeper gives up on a worker that is only slow (row "unknown",
    recorded); when the provider's acceptance arrives, the row is sent."""
    from contacts.senders import get_sender, register_sender

    ticket = ingest(make_inbound(channel="sms", sender_email="", sender_phone="+33612345678", sms_consent=True)).ticket
    row = Outbox.objects.get(ticket=ticket)
    make_due(row)  # an acknowledgement queued in the evening waits for the morning (quiet hours)
    original = get_sender("sms")

    def slow_provider(sending_row):
        # While the provider takes its time, the lease runs out and the sweeper runs.
        assert outbox.sweep(now=timezone.now() + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS + 1)) == 1
        assert Outbox.objects.get(pk=sending_row.pk).status == Outbox.Status.UNKNOWN
        return "provider-42"

    register_sender("sms", slow_provider, resend_is_safe=False)
    try:
        assert outbox.deliver(row.pk) == Outbox.Status.SENT
    finally:
        register_sender("sms", original.deliver, resend_is_safe=original.resend_is_safe)

    row.refresh_from_db()
    assert row.status == Outbox.Status.SENT
    assert row.provider_id == "provider-42"
    assert row.locked_until is None
    assert ticket.events.filter(kind="delivery_failed").count() == 1
    assert ticket.events.filter(kind="sms_sent").count() == 1


@pytest.mark.django_db
def test_a_row_sent_elsewhere_is_not_sent_again_nor_recorded_twice(scripted_email, ack):
    assert outbox.deliver(ack.pk) == Outbox.Status.SENT
    Outbox.objects.filter(pk=ack.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))

    assert outbox.deliver(ack.pk) is None
    assert scripted_email.calls == 1
    assert ack.ticket.events.filter(kind="sent").count() == 1


def queued_acknowledgements(make_inbound, count):
    rows = []
    for i in range(count):
        ticket = ingest(make_inbound(sender_email=f"lot{i}@citoyen.example", subject=f"Demande {i}")).ticket
        rows.append(Outbox.objects.get(ticket=ticket).pk)
    return rows


@pytest.fixture
def handed_on(monkeypatch):
    """What dispatch_outbox hands to other tasks, instead of publishing it."""
    from contacts import tasks

    seen = {"batches": [], "single": []}
    monkeypatch.setattr(tasks.dispatch_outbox, "delay", lambda ids: seen["batches"].append(list(ids)))
    monkeypatch.setattr(tasks.deliver_outbox, "delay", lambda pk: seen["single"].append(pk))
    return seen


@pytest.mark.django_db
def test_a_gathered_batch_is_delivered_by_one_task_and_the_rest_handed_on_in_batches(make_inbound, settings, handed_on):
    from contacts.tasks import dispatch_outbox

    settings.OUTBOX_BATCH_SIZE = 3
    settings.OUTBOX_BATCH_SECONDS = 60  # a loaded machine never runs out of time here
    rows = queued_acknowledgements(make_inbound, 8)
    mail.outbox.clear()

    dispatch_outbox(rows)

    assert handed_on["batches"] == [rows[3:6], rows[6:8]]
    assert handed_on["single"] == []
    assert list(Outbox.objects.filter(pk__in=rows[:3]).values_list("status", flat=True)) == ["sent"] * 3
    assert Outbox.objects.filter(pk__in=rows[3:], status="queued").count() == 5
    assert sorted(m.to[0] for m in mail.outbox) == [f"lot{i}@citoyen.example" for i in range(3)]


@pytest.mark.django_db
def test_a_batch_that_runs_out_of_time_hands_the_rest_on_one_by_one(make_inbound, settings, handed_on):
    from contacts.tasks import dispatch_outbox

    settings.OUTBOX_BATCH_SECONDS = 0
    rows = queued_acknowledgements(make_inbound, 4)

    dispatch_outbox(rows)

    assert Outbox.objects.get(pk=rows[0]).status == "sent"  # the first is always started
    assert handed_on["single"] == rows[1:]
    assert Outbox.objects.filter(pk__in=rows[1:], status="queued").count() == 3


@pytest.mark.django_db
def test_a_row_whose_delivery_raises_does_not_stop_the_others(make_inbound, monkeypatch):
    rows = queued_acknowledgements(make_inbound, 3)
    real = outbox.deliver

    def deliver(pk):
        if pk == rows[1]:
            raise RuntimeError("database gone")
        return real(pk)

    monkeypatch.setattr(outbox, "deliver", deliver)

    assert outbox.deliver_within(rows, seconds=60) == []
    statuses = dict(Outbox.objects.filter(pk__in=rows).values_list("pk", "status"))
    assert statuses == {rows[0]: "sent", rows[1]: "queued", rows[2]: "sent"}


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_breaks_in_a_batch_is_replaced_for_the_next_rows(make_inbound, organisation, monkeypatch):
    """The database server ends the worker's connection while it delivers a
    batch: the row that met it is left to the sweeper, the next ones go out
    on a fresh connection (the tests run on PostgreSQL)."""
    from django.db import connections

    rows = queued_acknowledgements(make_inbound, 3)
    mail.outbox.clear()
    real = outbox.deliver

    def deliver(pk):
        if pk == rows[1]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                other.close()
        return real(pk)

    monkeypatch.setattr(outbox, "deliver", deliver)

    assert outbox.deliver_within(rows, seconds=60) == []
    statuses = dict(Outbox.objects.filter(pk__in=rows).values_list("pk", "status"))
    assert statuses == {rows[0]: "sent", rows[1]: "queued", rows[2]: "sent"}
    assert len(mail.outbox) == 2
