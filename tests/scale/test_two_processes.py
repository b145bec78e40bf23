"""Two of everything on loopback: two web processes (uvicorn), two Celery
workers and two IMAP listeners reading the same mailbox, fed by every
channel at once. What a citizen or a provider may send twice (a form
submitted again, an SMS webhook retried, a chat message resent after a
reconnection) reaches both web processes at the same moment.

Every inbound message is stored once, on one ticket; every outbox row is
delivered once: the workers' email backend writes files the test counts,
and the local SMS provider counts what it accepted."""

import datetime
import email
import json
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from email import policy
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from channels_app.models import ChatEntry, SmsSettings, Widget
from contacts.models import Message, Outbox, Ticket, TicketEvent
from mail.models import RawMessage
from tests.chat.sockets import citizen, receive, receive_until
from tests.inbox.asgi_server import asgi_server
from tests.support.emails import USER, citizen_email
from tests.support.processes import ROOT, celery_worker, child_env, wait_until
from tests.support.sms_provider import FakeSmsProvider

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAILS = 8
FORMS = 8
SMS = 6
CHATS = 2
TOKEN = "scale-webhook-token"
SITE = "https://www.commune.example"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # between two messages in a file of Django's file backend


@contextmanager
def mail_listener(log_path, **env):
    """``manage.py mail_listen`` for the test mailbox, in its own process."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "mail_listen", "--mailbox", USER],
            cwd=ROOT,
            env=child_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: b"Listening to" in Path(log_path).read_bytes() or process.poll() is not None,
                timeout=30,
                message="the mail listener",
            )
            assert process.poll() is None, Path(log_path).read_text(errors="replace")
            yield process
        finally:
            # Its IDLE thread waits for the server: no need to wait for it.
            process.send_signal(signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(mailbox, tmp_path):
    """Two web processes, two workers, two mail listeners, one SMS provider."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis")
    organisation = mailbox.organisation
    # SMS leave at any hour (the test must not depend on the time of day).
    SmsSettings.objects.create(
        organisation=organisation, quiet_start=datetime.time(0), quiet_end=datetime.time(0), quiet_on_sundays=False
    )
    widget = Widget.objects.create(organisation=organisation, name="Site", key="scale-test", allowed_origins=[SITE])
    cache.clear()  # rate-limit counters of earlier tests
    outboxes = [tmp_path / "mails-1", tmp_path / "mails-2"]
    for folder in outboxes:
        folder.mkdir()
    with ExitStack() as stack:
        provider = stack.enter_context(FakeSmsProvider())
        env = {
            **provider.env("brevo"),
            "SMS_WEBHOOK_TOKEN": TOKEN,
            # Limits stay on, above what this test sends from one address.
            "RATE_SUBMIT_PER_HOUR": 4 * FORMS,
            "RATE_CHAT_PER_HOUR": 4 * CHATS,
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "TEST_IMAP_SECRET": "secret-imap",
        }
        for n, folder in enumerate(outboxes, 1):
            stack.enter_context(
                celery_worker(tmp_path / f"worker-{n}.log", nodename=f"worker{n}@%h", EMAIL_FILE_PATH=folder, **env)
            )
        urls = [stack.enter_context(asgi_server(tmp_path / f"web-{n}.log", **env)) for n in (1, 2)]
        for n in (1, 2):
            stack.enter_context(mail_listener(tmp_path / f"listener-{n}.log", **env))
        yield {"urls": urls, "widget": widget, "provider": provider, "outboxes": outboxes, "logs": tmp_path}


def both(send_a, send_b):
    """Two requests at the same moment, one to each web process."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.submit(send_a), pool.submit(send_b)
        return first.result(timeout=60), second.result(timeout=60)


def submit_form(url, widget, body):
    return requests.post(f"{url}/api/v1/widgets/{widget.key}/requests/", json=body, timeout=30)


def sms_webhook(url, organisation, body):
    return requests.post(
        f"{url}/sms/{organisation.slug}/inbound/brevo/", json=body, headers={"X-Aiguillage-Token": TOKEN}, timeout=30
    )


def chat_twice(urls, widget, n):
    """A conversation handed over to an agent on the first process; its next
    message sent to both (a resend after reconnecting elsewhere)."""
    with citizen(urls[0], widget) as first:
        first.send(json.dumps({"type": "hello"}))
        token = receive(first)["token"]
        first.send(json.dumps({"type": "agent", "name": f"Chat {n}", "email": f"chat{n}@citoyen.example"}))
        receive_until(first, lambda e: e.get("author") == "system")
        with citizen(urls[1], widget) as second:
            second.send(json.dumps({"type": "hello", "token": token, "last_seq": 10_000}))
            assert receive(second)["type"] == "conversation"
            message = json.dumps({"type": "message", "client_id": "again", "text": f"Mon dossier {n}, encore"})
            first.send(message)
            second.send(message)
            receive_until(first, lambda e: e.get("client_id") == "again")
            receive_until(second, lambda e: e.get("client_id") == "again")


def sent_emails(folders):
    found = []
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            for raw in path.read_bytes().split(SEPARATOR):
                if raw.strip():
                    found.append(email.message_from_bytes(raw, policy=policy.default))
    return found


def test_two_of_everything_store_each_message_once_and_deliver_each_row_once(cluster, dovecot, mailbox):
    urls, widget, provider = cluster["urls"], cluster["widget"], cluster["provider"]
    organisation = mailbox.organisation

    for n in range(EMAILS):
        dovecot.append(USER, citizen_email(n))

    receipts = []
    for n in range(FORMS):
        body = {
            "submission_id": str(uuid.uuid4()),
            "name": f"Formulaire {n}",
            "email": f"form{n}@citoyen.example",
            "message": f"Bonjour, ma demande numéro {n} par le formulaire.",
        }
        receipts.append(
            both(lambda b=body: submit_form(urls[0], widget, b), lambda b=body: submit_form(urls[1], widget, b))
        )

    answers = []
    for n in range(SMS):
        body = {
            "msg_status": "replied",
            "messageId": 90_000 + n,
            "from": f"3361234{n:04d}",
            "reply": f"Bonjour, où en est mon dossier {n} ?",
            "ts_event": int(time.time()),
        }
        answers.append(
            both(
                lambda b=body: sms_webhook(urls[0], organisation, b),
                lambda b=body: sms_webhook(urls[1], organisation, b),
            )
        )

    for n in range(CHATS):
        chat_twice(urls, widget, n)

    # Both web processes answered each repeated request, with the same ticket.
    for first, second in receipts:
        assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
        assert first.json()["reference"] == second.json()["reference"]
    for first, second in answers:
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        assert sorted([first.json()["outcome"], second.json()["outcome"]]) == ["created", "duplicate"]
        assert first.json()["ticket"] == second.json()["ticket"]

    total = EMAILS + FORMS + SMS + CHATS
    wait_until(
        lambda: Ticket.objects.count() >= total and RawMessage.objects.filter(status="pending").count() == 0,
        timeout=30,
        message="every message stored",
    )

    def delivered():
        return Outbox.objects.count() >= total and not Outbox.objects.exclude(status=Outbox.Status.SENT).exists()

    wait_until(delivered, timeout=30, message="every acknowledgement delivered")
    time.sleep(0.5)  # a duplicate delivery would land now

    # Each inbound message stored once, on one ticket of its own.
    tickets = Ticket.objects.all()
    assert {c: tickets.filter(channel=c).count() for c in ("email", "form", "sms", "chat")} == {
        "email": EMAILS,
        "form": FORMS,
        "sms": SMS,
        "chat": CHATS,
    }
    inbound = Message.objects.filter(direction=Message.Direction.IN)
    # A chat ticket holds its transcript and the message sent twice.
    assert {c: inbound.filter(channel=c).count() for c in ("email", "form", "sms", "chat")} == {
        "email": EMAILS,
        "form": FORMS,
        "sms": SMS,
        "chat": 2 * CHATS,
    }
    assert sorted(tickets.filter(channel="email").values_list("subject", flat=True)) == sorted(
        f"Demande numéro {n}" for n in range(EMAILS)
    )
    assert ChatEntry.objects.filter(client_id="again").count() == CHATS
    references = list(tickets.values_list("reference", flat=True))
    assert len(set(references)) == len(references) == total
    assert TicketEvent.objects.filter(kind="created").count() == total
    raws = RawMessage.objects.all()
    assert raws.count() == EMAILS
    assert sorted(raws.values_list("status", flat=True)) == ["created"] * EMAILS

    # Each ticket acknowledged once, and each acknowledgement delivered once.
    rows = Outbox.objects.all()
    assert sorted(rows.values_list("idempotency_key", flat=True)) == sorted(
        f"ack:{pk}" for pk in tickets.values_list("pk", flat=True)
    )
    assert set(rows.values_list("attempts", flat=True)) == {1}
    emails = sent_emails(cluster["outboxes"])
    email_rows = rows.filter(channel="email")
    assert sorted(m["To"] for m in emails) == sorted(email_rows.values_list("recipient", flat=True))
    assert len({m["Message-ID"] for m in emails}) == len(emails) == EMAILS + FORMS + CHATS
    assert {m["Auto-Submitted"] for m in emails} == {"auto-replied"}
    sms_rows = rows.filter(channel="sms")
    assert sorted(r.json["tag"] for r in provider.accepted) == sorted(
        sms_rows.values_list("idempotency_key", flat=True)
    )
    assert len(provider.received) == SMS

    # Nothing went wrong out of sight in any process.
    for log in sorted(cluster["logs"].glob("*.log")):
        assert "Traceback" not in log.read_text(errors="replace"), f"{log.name}:\n{log.read_text(errors='replace')}"
