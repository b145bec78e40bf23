"""IMAP ingestion against a real Dovecot server."""

import contextlib
import signal
import subprocess
import sys
import threading

import pytest
from django.db import connection

from contacts.models import Message, Ticket
from mail import imap
from mail.models import Mailbox, RawMessage
from tests.support.emails import USER, citizen_email
from tests.support.processes import ROOT, child_env, wait_until


@pytest.mark.django_db
def test_sync_imports_new_messages_then_flags_them_seen(dovecot, mailbox):
    for n in range(3):
        dovecot.append(USER, citizen_email(n))

    assert imap.sync_once(mailbox) == {"created": 3}

    assert Ticket.objects.count() == 3
    assert RawMessage.objects.filter(status="created").count() == 3
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3
    assert mailbox.uidvalidity is not None
    assert dovecot.uids(USER, criteria=["UNSEEN"]) == []

    dovecot.append(USER, citizen_email(3))
    assert imap.sync_once(mailbox) == {"created": 1}
    assert Ticket.objects.count() == 4


@pytest.mark.django_db
def test_move_after_import(dovecot, mailbox):
    mailbox.after_import = Mailbox.AfterImport.MOVE
    mailbox.move_to = "Traite"
    mailbox.save()
    dovecot.append(USER, citizen_email(1))

    imap.sync_once(mailbox)

    assert dovecot.uids(USER) == []
    assert len(dovecot.uids(USER, folder="Traite")) == 1
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_uidvalidity_change_rescans_without_duplicates(dovecot, mailbox):
    for n in range(2):
        dovecot.append(USER, citizen_email(n))
    imap.sync_once(mailbox)
    mailbox.refresh_from_db()
    old_validity = mailbox.uidvalidity

    dovecot.reset_uidvalidity(USER)
    for n in range(3):  # the same two messages, and a new one
        dovecot.append(USER, citizen_email(n))
    counts = imap.sync_once(mailbox)

    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != old_validity
    assert counts == {"duplicate": 2, "created": 1}
    assert Ticket.objects.count() == 3
    assert Message.objects.count() == 3


@contextlib.contextmanager
def running_listener(mailbox):
    """imap.listen in a thread (its own database connection), stopped on exit."""
    stop = threading.Event()

    def run():
        try:
            imap.listen(mailbox, stop.is_set, idle_seconds=1)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_wrong_password_is_recorded_on_the_mailbox_and_retried(dovecot, mailbox, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_SECRET", "wrong")
    with running_listener(mailbox):
        wait_until(
            lambda: "LoginError" in Mailbox.objects.get(pk=mailbox.pk).last_error, message="the login error recorded"
        )
    assert Ticket.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_listener_with_idle_imports_while_running_and_survives_a_server_restart(dovecot, mailbox):
    with running_listener(mailbox):
        dovecot.append(USER, citizen_email(1))
        wait_until(lambda: Ticket.objects.count() == 1, message="the first message imported")
        dovecot.restart()
        dovecot.append(USER, citizen_email(2))
        wait_until(lambda: Ticket.objects.count() == 2, timeout=30, message="import after the server restarted")
    assert Message.objects.count() == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_listener_killed_mid_batch_resumes_without_loss_or_duplicates(dovecot, mailbox, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the listener process shares the PostgreSQL test database")
    total = 40
    for n in range(total):
        dovecot.append(USER, citizen_email(n))
    env = child_env(TEST_IMAP_SECRET="secret-imap")
    command = [sys.executable, "manage.py", "mail_listen", "--mailbox", USER]

    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: Ticket.objects.count() >= 5, message="some messages imported")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()

    with open(tmp_path / "second.log", "wb") as log:
        second = subprocess.run(
            [*command, "--once"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=120
        )
    assert second.returncode == 0, (tmp_path / "second.log").read_text()

    assert Ticket.objects.count() == total
    assert Message.objects.count() == total
    assert RawMessage.objects.count() == total
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == sorted(
        f"Demande numéro {n}" for n in range(total)
    )
    assert dovecot.uids(USER, criteria=["UNSEEN"]) == []
