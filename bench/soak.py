"""Soak: every channel at once, at a steady rate, for a long while, on the
production set-up, loopback only.

Processes: gunicorn (2 workers x 4 threads) for HTTP, uvicorn for the chat's
websockets, two Celery workers (threads), Celery beat, one IMAP listener
(``manage.py mail_listen``) on a local Dovecot, a local SMS provider
answering like Brevo; PostgreSQL and Redis. The driver sends, each at
``--rate`` messages per second (open loop: a slow answer does not slow
the next one down):

- form: POST /api/v1/widgets/<key>/requests/ (a new ticket each);
  latency: the request's answer;
- sms: the provider's inbound webhook (a new ticket each); latency: the answer;
- email: an APPEND to the mailbox (a new ticket each); latency: APPEND to
  the ticket stored (its "created" event);
- chat: a message on one of ``--chat-conversations`` websockets whose
  conversation was handed over to a ticket (stored on it through ingest);
  latency: until the message comes back to the citizen's socket.

Every ``--sample-seconds`` (60) a line goes to stderr: messages sent,
stored and failed so far per channel, p95 latency per channel of the
messages sent in that window, RSS of every process. At the end, once what
was sent is stored and the outbox is drained (at most ``--drain-seconds``),
one JSON line: messages in vs stored per channel (must be equal; a warm-up
burst before the clock starts counts there, not in the latencies), errors,
latencies (whole run, and p95 per window), memory per process (first window
to last), and the outbox (rows, sent, deliveries the email backend and the
SMS provider counted: a duplicate shows as more deliveries than rows).

Its own database (``aiguillage_soak``) and Redis database (13), so that a
long run does not share them with another benchmark (BENCH_DATABASE and
REDIS_URL override them). Rate limits are off (the load comes from one
address); everything else is as configured by default.

Usage: .venv/bin/python bench/soak.py [--minutes 30] [--rate 1] [--sample-seconds 60]
Needs Debian's dovecot-imapd. Prints one JSON line.
"""

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE", "aiguillage_soak")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

from common import BENCH_DATABASE, PG, ROOT, emit, fresh_database, percentile  # noqa: E402

CHANNELS = ("form", "sms", "email", "chat")
USER = "contact@soak.example"
SITE = "https://soak.example"
TOKEN = "soak-webhook-token"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # between two messages in a file of Django's file backend


# -- set-up ---------------------------------------------------------------------------


def texts():
    path = ROOT.parent / "shared" / "datasets" / "cd99-messages.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prepare(dovecot_port, conversations):
    """Knowledge base, widget, SMS at any hour, the mailbox, and chat
    conversations handed over to tickets."""
    fresh_database()
    from channels_app.chat import services as chat
    from channels_app.models import SmsSettings, Widget
    from config.celery import app
    from kb.importer import import_files
    from kb.models import Organisation
    from mail.models import Mailbox

    app.control.purge()
    datasets = ROOT.parent / "shared" / "datasets"
    import_files([datasets / "cd99.yaml", datasets / "partners.yaml"])
    organisation = Organisation.objects.get(slug="cd99")
    widget = Widget.objects.create(organisation=organisation, name="Soak", key="soak", allowed_origins=[SITE])
    SmsSettings.objects.create(
        organisation=organisation,
        quiet_start=datetime.time(0),
        quiet_end=datetime.time(0),
        quiet_on_sundays=False,
    )
    Mailbox.objects.create(
        organisation=organisation,
        address=USER,
        imap_host="127.0.0.1",
        imap_port=dovecot_port,
        imap_security=Mailbox.Security.NONE,
        imap_secret="env:SOAK_IMAP_SECRET",
    )
    tokens = []
    for n in range(conversations):
        conversation = chat.start(organisation, widget)
        chat.hand_over(conversation, f"Citoyen chat {n}", f"chat{n}@soak.example")
        tokens.append(chat.token_for(conversation))
    return tokens


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port}")


def provider_process(conn):
    """The local SMS provider, in a process of its own (not competing with
    the driver for the GIL); answers its statistics when asked."""
    sys.path.insert(0, str(ROOT))
    from tests.support.sms_provider import FakeSmsProvider

    with FakeSmsProvider() as provider:
        conn.send(provider.env("brevo"))
        while conn.recv() == "stats":
            tags = [r.json.get("tag") for r in provider.accepted if isinstance(r.json, dict)]
            conn.send({"received": len(provider.received), "accepted": len(tags), "distinct": len(set(tags))})


class Processes:
    """The servers and workers, their logs, their memory."""

    def __init__(self, log_dir, env):
        self.log_dir = Path(log_dir)
        self.env = env
        self.started = {}

    def start(self, name, argv, **env):
        log = (self.log_dir / f"{name}.log").open("wb")
        self.started[name] = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        return self.started[name]

    def wait_log(self, name, text, timeout=90):
        path = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while text.encode() not in path.read_bytes():
            if self.started[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def rss_kb(self):
        """RSS of each process (gunicorn: of each of its workers too)."""
        figures = {}
        for name, process in self.started.items():
            figures[name] = rss_kb(process.pid)
            if name == "gunicorn":
                for n, child in enumerate(children(process.pid), 1):
                    figures[f"gunicorn-worker-{n}"] = rss_kb(child)
        return figures

    def stop(self):
        for process in self.started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the load ---------------------------------------------------------------------------


class Record:
    """What the driver sent, when, and how each went."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = dict.fromkeys(CHANNELS, 0)
        self.errors = dict.fromkeys(CHANNELS, 0)
        self.error_samples = []
        self.latencies = {channel: [] for channel in CHANNELS}  # (sent at, seconds)
        self.measuring = False  # the warm-up's messages count, their latencies do not

    def send(self, channel):
        with self.lock:
            self.sent[channel] += 1

    def ok(self, channel, sent_at, seconds):
        with self.lock:
            if self.measuring:
                self.latencies[channel].append((sent_at, seconds))

    def error(self, channel, what):
        with self.lock:
            self.errors[channel] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{channel}: {what}"[:300])


class Chat:
    """Citizens' websockets; a reader thread per socket times each message's
    return."""

    def __init__(self, url, tokens, record):
        from websockets.sync.client import connect

        self.record = record
        self.pending = {}
        self.lock = threading.Lock()
        self.sockets = []
        self.send_lock = threading.Lock()
        self.stack = contextlib.ExitStack()
        for token in tokens:
            ws = self.stack.enter_context(
                connect(f"{url}/ws/chat/w/soak/", origin=SITE, open_timeout=30, max_size=None)
            )
            ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 10_000}))
            json.loads(ws.recv(timeout=30))
            self.sockets.append(ws)
            threading.Thread(target=self.read, args=(ws,), daemon=True).start()

    def read(self, ws):
        try:
            for frame in ws:
                event = json.loads(frame)
                client_id = event.get("client_id")
                with self.lock:
                    started = self.pending.pop(client_id, None) if client_id else None
                if started is None:
                    continue
                if event.get("type") == "error":
                    self.record.error("chat", event.get("message"))
                else:
                    self.record.ok("chat", started, time.time() - started)
        except Exception as exc:  # the socket closed: counted by what stays pending
            if self.sockets:
                self.record.error("chat", f"socket: {exc!r}")

    def send(self, n, text):
        client_id = f"soak-{n}"
        with self.lock:
            self.pending[client_id] = time.time()
        self.record.send("chat")
        try:
            with self.send_lock:
                self.sockets[n % len(self.sockets)].send(
                    json.dumps({"type": "message", "client_id": client_id, "text": text})
                )
        except Exception as exc:
            with self.lock:
                self.pending.pop(client_id, None)
            self.record.error("chat", repr(exc))

    def lost(self, older_than):
        """Messages that never came back within ``older_than`` seconds."""
        now = time.time()
        with self.lock:
            return sum(1 for started in self.pending.values() if now - started > older_than)

    def close(self):
        self.sockets = []
        self.stack.close()


class Driver:
    def __init__(self, http_url, ws_url, dovecot, tokens, record):
        import requests

        self.http_url = http_url
        self.dovecot = dovecot
        self.record = record
        self.texts = texts()
        self.local = threading.local()
        self.requests = requests
        self.chat = Chat(ws_url, tokens, record)
        self.imap = dovecot.client(USER)
        self.appended = {}  # subject -> APPEND time
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="http")
        self.serial = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap")

    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = self.requests.Session()
        return self.local.session

    def text(self, n):
        return self.texts[n % len(self.texts)]

    def post(self, channel, path, body, headers=None):
        self.record.send(channel)
        started = time.time()
        try:
            response = self.session().post(f"{self.http_url}{path}", json=body, headers=headers or {}, timeout=60)
        except Exception as exc:
            self.record.error(channel, repr(exc))
            return
        if response.status_code >= 300:
            self.record.error(channel, f"{response.status_code} {response.text[:200]}")
        else:
            self.record.ok(channel, started, time.time() - started)

    def form(self, n):
        body = {
            "submission_id": str(uuid.uuid4()),
            "name": f"Citoyen formulaire {n}",
            "email": f"form{n}@soak.example",
            "message": self.text(n),
            "postcode": "99100",
        }
        self.post("form", "/api/v1/widgets/soak/requests/", body)

    def sms(self, n):
        body = {
            "msg_status": "replied",
            "messageId": 10_000_000 + n,
            "from": f"336{n:08d}",
            "reply": self.text(n)[:600],
            "ts_event": int(time.time()),
        }
        self.post("sms", "/sms/cd99/inbound/brevo/", body, {"X-Aiguillage-Token": TOKEN})

    def email(self, n):
        subject = f"Soak email {n}"
        raw = (
            f"From: Citoyen {n} <mail{n}@soak.example>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <soak-{n}@soak.example>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
            f"{self.text(n)}\r\n"
        ).encode()
        self.record.send("email")
        if self.record.measuring:
            self.appended[subject] = time.time()
        try:
            self.imap.append("INBOX", raw)
        except Exception as exc:
            self.record.error("email", repr(exc))
            self.imap = self.dovecot.client(USER)

    def dispatch(self, channel, n):
        if channel == "email":
            self.serial.submit(self.email, n)
        elif channel == "chat":
            self.pool.submit(self.chat.send, n, self.text(n))
        else:
            self.pool.submit(getattr(self, channel), n)

    def close(self):
        self.pool.shutdown(wait=True)
        self.serial.shutdown(wait=True)
        self.chat.close()
        self.imap.logout()


def email_latencies(driver, record, after_id):
    """APPEND to stored, for the email tickets created since ``after_id``."""
    from contacts.models import TicketEvent

    last = after_id
    rows = TicketEvent.objects.filter(kind="created", ticket__channel="email", pk__gt=after_id).values_list(
        "pk", "ticket__subject", "created_at"
    )
    for pk, subject, created_at in rows:
        last = max(last, pk)
        appended = driver.appended.get(subject)
        if appended is not None:
            record.ok("email", appended, created_at.timestamp() - appended)
    return last


def stored_counts(chat_baseline):
    from django.db.models import Count

    from contacts.models import Message

    counts = dict(
        Message.objects.filter(direction=Message.Direction.IN, channel__in=CHANNELS)
        .values_list("channel")
        .annotate(n=Count("pk"))
        .values_list("channel", "n")
    )
    stored = {channel: counts.get(channel, 0) for channel in CHANNELS}
    stored["chat"] -= chat_baseline  # the hand-overs' transcripts
    return stored


def p95_ms(pairs):
    values = [seconds * 1000 for _sent, seconds in pairs]
    return round(percentile(values, 95), 1) if values else None


# -- the run ------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second, per channel")
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--chat-conversations", type=int, default=20)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    args = parser.parse_args()
    if not 0 < args.minutes <= 24 * 60 or not 0 < args.rate <= 100:
        sys.exit("--minutes must be in (0, 1440] and --rate in (0, 100]")
    if not shutil.which("dovecot"):
        sys.exit("Dovecot is missing: apt-get install dovecot-imapd")

    sys.path.insert(0, str(ROOT))
    from tests.support.dovecot import Dovecot

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    dovecot = Dovecot(tempfile.mkdtemp(prefix="soak-dovecot-"), {USER: "soak-secret"}).start()
    parent, child = multiprocessing.Pipe()
    provider = multiprocessing.Process(target=provider_process, args=(child,), daemon=True)
    provider.start()
    provider_env = parent.recv()
    processes = None
    try:
        tokens = prepare(dovecot.port, args.chat_conversations)
        from django.db import connection

        from contacts.models import Outbox

        chat_baseline = len(tokens)
        mails = work / "mails"
        mails.mkdir()
        http_port, ws_port = free_port(), free_port()
        env = {
            **os.environ,
            **provider_env,
            "DATABASE_URL": f"{PG}/{BENCH_DATABASE}",
            "PYTHONUNBUFFERED": "1",
            "SMS_WEBHOOK_TOKEN": TOKEN,
            "RATE_SUBMIT_PER_HOUR": "0",
            "RATE_SUBMIT_PER_CONTACT_PER_HOUR": "0",
            "RATE_CHAT_PER_HOUR": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mails),
            "SOAK_IMAP_SECRET": "soak-secret",
            "LOG_LEVEL": "WARNING",
        }
        processes = Processes(work, env)
        bin_dir = Path(sys.executable).parent
        processes.start(
            "gunicorn",
            [str(bin_dir / "gunicorn"), "config.wsgi:application", "--workers", "2", "--worker-class", "gthread"]
            + ["--threads", "4", "--bind", f"127.0.0.1:{http_port}", "--log-level", "warning"],
            DB_CONN_MAX_AGE="60",
        )
        processes.start(
            "uvicorn",
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(ws_port)]
            + ["--no-access-log", "--log-level", "warning", "--ws", "websockets-sansio"],
            DB_POOL="1",
        )
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        for n in (1, 2):
            processes.start(
                f"worker-{n}",
                [*celery, "worker", "-P", "threads", "-c", "4", "-l", "info", "-n", f"soak{n}@%h"]
                + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
            )
        processes.start("beat", [*celery, "beat", "-l", "info", "-s", str(work / "beat-schedule")])
        processes.start("mail-listener", [sys.executable, "manage.py", "mail_listen", "--mailbox", USER])
        for name in ("worker-1", "worker-2"):
            processes.wait_log(name, "ready.")
        processes.wait_log("mail-listener", "Listening to")
        wait_port(http_port)
        wait_port(ws_port)

        record = Record()
        driver = Driver(f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{ws_port}", dovecot, tokens, record)
        # Warm-up, outside the timings: a burst on every channel (each
        # gunicorn worker and thread builds its indexes and connections),
        # stored before the clock starts.
        warm_up = max(8, len(tokens))
        for n in range(warm_up):
            for channel in CHANNELS:
                driver.dispatch(channel, n)
        deadline = time.time() + 180
        while stored_counts(chat_baseline) != record.sent and time.time() < deadline:
            time.sleep(0.5)
        last_event = email_latencies(driver, record, 0)
        record.measuring = True
        interval = 1 / args.rate
        duration = args.minutes * 60
        samples = []
        begin = time.time()
        next_sample = begin + args.sample_seconds
        n = warm_up
        # The four channels take turns at a quarter of the interval apart.
        while time.time() - begin < duration:
            for offset, channel in enumerate(CHANNELS):
                due = begin + (n - warm_up) * interval + offset * interval / len(CHANNELS)
                time.sleep(max(0.0, due - time.time()))
                driver.dispatch(channel, n)
            n += 1
            if time.time() >= next_sample:
                window_start = next_sample - args.sample_seconds
                last_event = email_latencies(driver, record, last_event)
                with record.lock:
                    window = {
                        channel: [p for p in record.latencies[channel] if window_start <= p[0] < next_sample]
                        for channel in CHANNELS
                    }
                    sent, errors = dict(record.sent), dict(record.errors)
                sample = {
                    "window": len(samples) + 1,
                    "elapsed_s": round(time.time() - begin, 1),
                    "sent": sent,
                    "stored": stored_counts(chat_baseline),
                    "errors": errors,
                    "p95_ms": {channel: p95_ms(window[channel]) for channel in CHANNELS},
                    "rss_kb": processes.rss_kb(),
                }
                samples.append(sample)
                print(json.dumps(sample), file=sys.stderr, flush=True)
                next_sample += args.sample_seconds
        sending_s = time.time() - begin
        driver.pool.shutdown(wait=True)
        driver.serial.shutdown(wait=True)

        # Drain: what was sent stored, the outbox delivered.
        deadline = time.time() + args.drain_seconds
        while time.time() < deadline:
            stored = stored_counts(chat_baseline)
            busy = Outbox.objects.filter(status__in=[Outbox.Status.QUEUED, Outbox.Status.SENDING]).exists()
            if stored == record.sent and not busy:
                break
            time.sleep(1)
        drain_s = round(time.time() - begin - sending_s, 1)
        email_latencies(driver, record, last_event)
        time.sleep(1)
        lost_chat = driver.chat.lost(older_than=0)
        driver.close()
        final_rss = processes.rss_kb()
        stored = stored_counts(chat_baseline)
        outbox = {
            status: Outbox.objects.filter(status=status).count()
            for status in ("queued", "sending", "sent", "failed", "unknown")
        }
        email_rows = Outbox.objects.filter(channel="email", status="sent").count()
        sms_rows = Outbox.objects.filter(channel="sms", status="sent").count()
        parent.send("stats")
        provider_stats = parent.recv()
        delivered = [raw for path in mails.iterdir() for raw in path.read_bytes().split(SEPARATOR) if raw.strip()]
        connection.close()
    finally:
        if processes is not None:
            processes.stop()
        with contextlib.suppress(OSError):
            parent.send("stop")
        provider.join(timeout=5)
        dovecot.stop()
        from config.celery import app

        app.control.purge()

    # Memory: from the first window (warm) to the last.
    first, last = samples[0]["rss_kb"] if samples else {}, final_rss
    memory = {
        name: {
            "first_kb": first.get(name),
            "last_kb": last.get(name),
            "max_kb": max([s["rss_kb"].get(name, 0) for s in samples] + [last.get(name, 0)]),
            "growth_kb": last.get(name, 0) - first.get(name, 0) if name in first else None,
        }
        for name in last
    }
    latency = {}
    for channel in CHANNELS:
        values = [seconds * 1000 for _sent, seconds in record.latencies[channel]]
        latency[channel] = {
            "count": len(values),
            "p50_ms": round(percentile(values, 50), 1) if values else None,
            "p95_ms": round(percentile(values, 95), 1) if values else None,
            "max_ms": round(max(values), 1) if values else None,
        }
    emit(
        {
            "bench": "soak",
            "minutes": args.minutes,
            "rate_per_channel": args.rate,
            "warm_up_per_channel": warm_up,
            "sending_s": round(sending_s, 1),
            "drain_s": drain_s,
            "set_up": "gunicorn 2x4, uvicorn (chat), 2 Celery workers (threads x4), beat, 1 IMAP listener, "
            "Dovecot, local SMS provider, PostgreSQL, Redis",
            "messages_in": {**record.sent, "total": sum(record.sent.values())},
            "stored": {**stored, "total": sum(stored.values())},
            "in_equals_stored": stored == record.sent,
            "errors": {**record.errors, "chat_not_echoed": lost_chat, "samples": record.error_samples},
            "latency": latency,
            "p95_ms_per_window": {channel: [s["p95_ms"][channel] for s in samples] for channel in CHANNELS},
            "rss": memory,
            "outbox": {
                **outbox,
                "email_rows_sent": email_rows,
                "emails_delivered": len(delivered),
                "sms_rows_sent": sms_rows,
                "sms_accepted": provider_stats["accepted"],
                "sms_distinct": provider_stats["distinct"],
                "duplicates": (len(delivered) - email_rows) + (provider_stats["accepted"] - sms_rows),
            },
        }
    )


if __name__ == "__main__":
    main()
