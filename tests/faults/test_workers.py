"""Celery workers killed with SIGKILL 100 times at random points while
citizens post the form and emails are ingested, the acknowledgements
(email and SMS) being delivered meanwhile.

Two workers run a prefork pool of two processes each, the processes that
run the deliveries: 96 of the kills hit one of them, 100 to 400 ms after
the previous kill (its pool replaces it); every 25th kill takes a whole
worker (main process and pool, holding reserved tasks), started again at
once while the other one carries on. The SMS provider answers after 200 ms, so kills land
before, during and after its answer. (Ingestion itself runs in the web
server and the IMAP listener, not in Celery; the listener killed
mid-batch is tests/mail/test_imap.py::test_listener_killed_mid_batch_resumes_without_loss_or_duplicates.)

Afterwards, a healthy worker and the sweeper running: every inbound message
is stored exactly once; every outbox row is sent, or failed or unknown
with a delivery_failed event on its ticket (``unknown``: an SMS whose
worker died after handing it to a provider that cannot deduplicate; it may
have been sent, a person checks); the provider accepted no SMS twice, and
each one marked sent exactly once. An email may be sent twice after a kill,
by design, with the same Message-ID (the recipient's client shows it once).
"""

import os
import random
import signal
import time
from collections import Counter

import pytest

from tests.faults.checks import (
    OUTBOX,
    assert_outbox_settled,
    assert_stored_once,
    emails_delivered,
    sms_accepted,
)
from tests.faults.load import FormLoad, MailFeeder
from tests.support.processes import wait_until

SCENARIO = "workers"
KILLS = 100
WHOLE_WORKER_EVERY = 25
POOL = 2

pytestmark = pytest.mark.slow


def test_celery_workers_killed_a_hundred_times_during_ingestion_and_delivery(scenario, faults_stack, report):
    rng = random.Random(int(os.environ.get("FAULTS_SEED", "20261201")))
    provider = scenario.provider
    provider.latency = 0.2
    store = scenario.store()
    web, listener, *workers = scenario.start(
        scenario.web(),
        scenario.listener(),
        *(scenario.worker(pool="prefork", concurrency=POOL, name=f"worker-{i}") for i in (1, 2)),
    )
    form = FormLoad(scenario.base_url, "kill", threads=1, pace=0.15).start()
    mail = MailFeeder(faults_stack.dovecot, scenario.mailbox, "kill", count=1000, pace=0.5)
    mail.start()

    kills = Counter()
    killed = set()
    waited = Counter()
    started = time.monotonic()

    def up(seconds):
        """The workers ready for ``seconds`` at least (past their start-up
        checks). One that exited by itself is started again, as its
        supervisor would (a worker whose pool loses a process while it
        starts exits: "Could not start worker processes")."""
        scenario.supervise()
        return [worker for worker in workers if worker.ready_for() > seconds]

    for n in range(1, KILLS + 1):
        time.sleep(rng.uniform(0.1, 0.4))  # the random point: work is flowing all along
        waiting = time.monotonic()
        if n % WHOLE_WORKER_EVERY == 0:
            # A whole worker, once it is up; started again at once, and
            # killed again only once it is ready: the other carries on.
            worker = wait_until(lambda: up(2), timeout=60, message="a worker up")[0]
            worker.kill()
            kills["whole worker"] += 1
            worker.launch()
        else:
            # A pool replaces a killed process within 0.5 to 5 s (its
            # maintenance timer): kill any of those alive, in a worker up
            # for two seconds at least (past its start-up checks).
            alive = wait_until(
                lambda: {pid for w in up(2) for pid in w.children()} - killed,
                timeout=60,
                message="a pool process",
            )
            victim = rng.choice(sorted(alive))
            os.kill(victim, signal.SIGKILL)
            killed.add(victim)
            kills["pool process"] += 1
        waited["waiting for a victim"] += time.monotonic() - waiting
    loop_seconds = round(time.monotonic() - started, 1)
    submissions = form.stop()
    appended = mail.stop()
    for worker in workers:
        worker.wait_ready()
    assert web.alive() and listener.alive()

    wait_until(
        lambda: set(store.stored_ids("email")) >= set(appended), timeout=90, message="every email appended imported"
    )
    outbox = scenario.settle_outbox(timeout=120)

    stored_forms = store.stored_submissions()
    stored_emails = store.stored_ids("email")
    delivered = emails_delivered(scenario.mails)
    interrupted = store.rows(f"SELECT count(*) FROM {OUTBOX} WHERE attempts > 1 OR status = 'unknown'")[0][0]  # noqa: S608
    report(
        SCENARIO,
        kills=dict(kills),
        workers_restarted_after_exiting=scenario.revived,
        kill_loop_seconds=loop_seconds,
        waited_seconds={what: round(seconds, 1) for what, seconds in waited.items()},
        settle_seconds=round(time.monotonic() - started - loop_seconds, 1),
        form_sent=len(submissions),
        form_stored=sum(stored_forms.values()),
        emails_in=len(appended),
        emails_stored=sum(stored_emails.values()),
        deliveries_interrupted=interrupted,
        outbox=outbox,
        sms_accepted=provider.accepted_count,
        emails_delivered=sum(delivered.values()),
        emails_delivered_twice_same_message_id=sum(1 for count in delivered.values() if count > 1),
    )
    assert sum(kills.values()) == KILLS
    assert all(s.accepted for s in submissions)
    assert_stored_once({s.submission_id for s in submissions}, stored_forms, "form submissions")
    assert_stored_once(appended, stored_emails, "emails")
    assert store.half_written() == dict.fromkeys(store.half_written(), 0)
    assert_outbox_settled(store, provider)
    assert max(sms_accepted(provider).values()) == 1
    # Every email row marked sent reached the file "provider", under its own Message-ID.
    assert store.sent_email_ids() <= set(delivered)
