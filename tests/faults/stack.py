"""The fault-injection suite's private stack and a scenario's share of it.

``private_stack()``: PostgreSQL, Redis and Dovecot of the suite's own, the
template database migrated once. ``Scenario``: a copy of that database, one
mailbox, a fake SMS provider, a folder the email backend writes to, and the
project's processes started on them (gunicorn, Celery workers,
``mail_listen``), all killed at the end."""

import contextlib
import shutil
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.dovecot import Dovecot
from tests.support.private_services import (
    ManagedProcess,
    PrivatePostgres,
    PrivateRedis,
    celery_command,
    django_env,
    free_port,
    http_ok,
    listener_command,
    listening,
    manage,
    web_command,
)
from tests.support.processes import ROOT, wait_until
from tests.support.sms_provider import FakeSmsProvider

TEMPLATE = "faults_template"
WIDGET_KEY = "faults"
IMAP_PASSWORD = "secret-faults"
MAILBOXES = {name: f"faults-{name}@cd99.example" for name in ("database", "redis", "workers", "imap", "provider")}
REPORT_PATH = ROOT / "test-artifacts" / "faults" / "report.json"

# The outbox's clock, scaled for the scenarios (see each one's docstring):
# production waits 60 s before re-dispatching a lost row and leases a row
# 300 s to a worker; 1 s and 5 s here (a delivery takes well under a second).
SCALED_OUTBOX = {
    "OUTBOX_DISPATCH_GRACE_SECONDS": "1",
    "OUTBOX_SENDING_LEASE_SECONDS": "5",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.3",
    "OUTBOX_BACKOFF_MAX_SECONDS": "36",
    "OUTBOX_MAX_ATTEMPTS": "8",
}

SEED = """
import datetime
from channels_app.models import SmsSettings, Widget
from kb.models import Organisation, Service
from mail.models import Mailbox

organisation = Organisation.objects.create(slug="cd99", name="Département de Seine-et-Ornain", kind="departement")
Service.objects.create(organisation=organisation, slug="accueil", name="Accueil", is_triage=True, sla_hours=48)
Widget.objects.create(organisation=organisation, name="Injection de pannes", key={widget!r})
SmsSettings.objects.create(
    organisation=organisation,
    quiet_start=datetime.time(0, 0),
    quiet_end=datetime.time(0, 0),
    quiet_on_sundays=False,
    max_per_contact_per_day=100,
)
for address in {addresses!r}:
    Mailbox.objects.create(
        organisation=organisation,
        address=address,
        imap_host="127.0.0.1",
        imap_port={port},
        imap_security="none",
        imap_login=address,
        imap_secret="env:FAULTS_IMAP_SECRET",
    )
"""


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: PrivateRedis
    dovecot: Dovecot


@contextlib.contextmanager
def private_stack():
    """PostgreSQL, Redis and Dovecot of the suite's own; the template
    database migrated and seeded (organisation, triage service, widget, SMS
    settings without quiet hours, one mailbox per scenario)."""
    for tool in ("redis-server", "dovecot"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing: .ci/debian-packages installs it")
    pg = PrivatePostgres()
    redis = PrivateRedis()
    # Dovecot's own processes run as the dovecot user: a folder they can read.
    dovecot_root = tempfile.mkdtemp(prefix="aiguillage-faults-dovecot-")
    dovecot = Dovecot(dovecot_root, dict.fromkeys(MAILBOXES.values(), IMAP_PASSWORD))
    try:
        pg.start()
        redis.start()
        dovecot.start()
        pg.create_database(TEMPLATE)
        env = django_env(pg.url(TEMPLATE), redis.url())
        manage(env, "migrate", "--verbosity", "0")
        seed = SEED.format(widget=WIDGET_KEY, addresses=list(MAILBOXES.values()), port=dovecot.port)
        manage(env, "shell", "-c", textwrap.dedent(seed))
        yield Stack(pg, redis, dovecot)
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot_root, ignore_errors=True)
        redis.close()
        pg.close()


class Scenario:
    """One scenario's database (a copy of the template), its processes and
    its fake providers; everything it started is stopped at the end."""

    def __init__(self, stack, name, folder):
        self.stack = stack
        self.name = name
        self.folder = Path(folder)
        self.database = f"faults_{name}"
        self.mailbox = MAILBOXES[name]
        self.mails = self.folder / "mails"
        self.mails.mkdir()
        self.processes = []
        self.revived = {}
        self.provider = FakeSmsProvider().__enter__()
        self.web_port = free_port()
        self._celery = None
        stack.pg.create_database(self.database, template=TEMPLATE)
        stack.redis.flushall()
        self.env = django_env(
            stack.pg.url(self.database),
            stack.redis.url(),
            **self.provider.env("brevo"),
            **SCALED_OUTBOX,
            SMS_HTTP_TIMEOUT_SECONDS="2",
            SMS_HTTP_CONNECT_TIMEOUT_SECONDS="1",
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=self.mails,
            MEDIA_ROOT=self.folder / "media",
            FAULTS_IMAP_SECRET=IMAP_PASSWORD,
            # Every citizen here comes from 127.0.0.1: the per-address limits
            # stay on (they are counted in Redis), high enough for the load.
            RATE_SUBMIT_PER_HOUR="100000",
            RATE_SUBMIT_PER_CONTACT_PER_HOUR="1000",
        )

    # -- the project's processes --------------------------------------------------

    def _track(self, process):
        self.processes.append(process)
        return process

    def web(self):
        """gunicorn serving config.wsgi (one threaded worker), not started."""
        url = f"{self.base_url}/api/v1/widgets/{WIDGET_KEY}/topics/?q=rsa"
        return self._track(
            ManagedProcess(
                "gunicorn", web_command(self.web_port), self.env, self.folder / "web.log", ready=lambda: http_ok(url)
            )
        )

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.web_port}"

    def worker(self, pool="threads", concurrency=2, name="worker"):
        """A Celery worker, not started."""
        return self._track(
            ManagedProcess(
                f"celery {name}",
                celery_command(pool, concurrency),
                self.env,
                self.folder / f"{name}.log",
                ready_text="ready.",
            )
        )

    def listener(self):
        """``manage.py mail_listen`` on this scenario's mailbox, not started."""
        return self._track(
            ManagedProcess(
                "mail_listen",
                listener_command(self.mailbox),
                self.env,
                self.folder / "listener.log",
                ready_text="Listening to 1 mailbox(es).",
            )
        )

    @staticmethod
    def start(*processes):
        """Launch side by side, then wait until each is ready."""
        for process in processes:
            process.launch()
        for process in processes:
            process.wait_ready()
        return processes

    # -- what beat would do -----------------------------------------------------------

    def sweep(self):
        """Send the outbox sweeper's task, as beat does every minute."""
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("faults-client", broker=self.stack.redis.url())
        self._celery.send_task("contacts.tasks.sweep_outbox")

    def store(self):
        from tests.faults.checks import Store

        return Store(self.stack.pg, self.database)

    def settle_outbox(self, timeout=90):
        """Run the sweeper (every 2 s, as beat would every minute) until no
        outbox row is queued or sending; the outcomes per channel."""
        store = self.store()
        last_sweep = [0.0]

        def settled():
            self.supervise()
            if store.unsettled() == 0:
                return True
            if time.monotonic() - last_sweep[0] > 2:
                self.sweep()
                last_sweep[0] = time.monotonic()
            return False

        try:
            wait_until(settled, timeout=timeout, interval=0.2, message="every outbox row settled")
        except AssertionError as error:
            raise AssertionError(f"{error}; the outbox: {store.outbox()}") from None
        return store.outbox()

    def supervise(self):
        """Start again any Celery worker that exited by itself, as its
        supervisor (systemd, restart=always) would; counted in ``revived``.
        (Celery 5.7's worker can die of a broker connection lost at the
        wrong moment: "Unrecoverable error: AttributeError 'NoneType' object
        has no attribute 'hostname'".)"""
        for process in self.processes:
            if process.name.startswith("celery") and process.process is not None and process.process.poll() is not None:
                self.revived[process.name] = self.revived.get(process.name, 0) + 1
                process.kill()  # what is left of its pool
                process.launch()

    def close(self):
        # Disposable processes on a disposable database: no clean shutdown
        # to wait for (a listener in IDLE takes seconds to notice SIGTERM).
        for process in reversed(self.processes):
            process.kill()
        if self._celery is not None:
            self._celery.close()
        self.provider.__exit__(None, None, None)
        # A scenario that failed half-way leaves the shared stack running.
        if not listening(self.stack.redis.port):
            self.stack.redis.start()
