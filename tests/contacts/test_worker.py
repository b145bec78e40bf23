"""The outbox delivered by a real Celery worker over the Redis broker."""

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from contacts.models import Outbox
from contacts.services import ingest, outbox, reply
from contacts.tasks import sweep_outbox
from tests.support.processes import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis")
    mails = tmp_path / "mails"
    mails.mkdir()
    with celery_worker(
        tmp_path / "worker.log",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=mails,
    ):
        yield mails


def sent_mails(folder):
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(Path(folder).iterdir())
    ]


def all_sent():
    return not Outbox.objects.exclude(status=Outbox.Status.SENT).exists()


def test_worker_delivers_acknowledgement_and_reply_with_threading_headers(worker, make_inbound, admin_user):
    created = ingest(make_inbound(external_id="<citizen-1@citoyen.example>"))
    answer = reply(created.ticket, admin_user, "Bonjour, votre dossier est en cours.")

    wait_until(all_sent, message="both emails sent")
    mails = sent_mails(worker)
    assert len(mails) == 2
    by_id = {m["Message-ID"]: m for m in mails}
    sent_reply = by_id[answer.external_id]
    assert sent_reply["In-Reply-To"] == "<citizen-1@citoyen.example>"
    assert created.ticket.reference in sent_reply["Subject"]
    assert Outbox.objects.filter(status=Outbox.Status.SENT).count() == 2


def test_row_whose_dispatch_was_lost_is_delivered_once_by_the_sweeper(worker, make_inbound, monkeypatch):
    # The web process dies between commit and dispatch: simulate by dropping
    # the dispatch, then let the periodic sweeper find the row.
    monkeypatch.setattr(outbox, "dispatch", lambda *args, **kwargs: None)
    ticket = ingest(make_inbound()).ticket
    monkeypatch.undo()
    row = Outbox.objects.get(ticket=ticket)
    assert row.status == Outbox.Status.QUEUED
    Outbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    sweep_outbox.delay()
    sweep_outbox.delay()  # a second sweep finds nothing left to do

    wait_until(all_sent, message="the lost row sent")
    row.refresh_from_db()
    assert row.attempts == 1
    assert len(sent_mails(worker)) == 1


def test_a_burst_of_requests_is_handed_over_in_one_message_and_each_row_delivered_once(
    worker, make_inbound, monkeypatch
):
    from contacts.services import background

    dispatched = []
    real = background._handlers["outbox"]
    monkeypatch.setitem(
        background._handlers, "outbox", lambda items, loop: (dispatched.append(items), real(items, loop))
    )
    with background.held():  # the four are gathered, whatever the machine's speed
        tickets = [
            ingest(make_inbound(sender_email=f"citoyen{i}@citoyen.example", subject=f"Demande {i}")).ticket
            for i in range(4)
        ]
    assert background.flush(10)
    # The four acknowledgements left the web process together ...
    assert [len(items) for items in dispatched] == [4]
    # ... and the worker sent each one, once.
    wait_until(all_sent, message="the four acknowledgements sent")
    mails = sent_mails(worker)
    assert sorted(m["To"] for m in mails) == sorted(t.contact.email for t in tickets)
    assert Outbox.objects.filter(status=Outbox.Status.SENT).count() == 4
