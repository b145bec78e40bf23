"""Redis stopped, then started again empty (it keeps nothing on disk: the
broker's queued tasks, the rate-limit counters and the channel layer's
messages are lost), while citizens post the contact form (gunicorn) and
emails arrive (the IMAP listener).

While Redis is down every submission is answered and stored and every
email imported: the rate limits, counted in Redis, cannot refuse every
citizen because they cannot count, and the after-commit dispatch to Celery
fails, leaving the outbox row queued. Once Redis is back, the worker
reconnects (or, when Celery dies of the lost connection, is started again
as its supervisor would, and the report says so) and the sweeper (beat's
task, every minute in production; its task sent here as beat would)
dispatches what was left: every outbox row ends sent, none twice.
"""

import time

import pytest

from tests.faults.checks import assert_outbox_settled, assert_stored_once, emails_delivered
from tests.faults.load import FormLoad, MailFeeder
from tests.support.processes import wait_until

SCENARIO = "redis"
EMAILS = 30

pytestmark = pytest.mark.slow


def test_form_and_email_accepted_while_redis_is_down_and_delivered_after(scenario, faults_stack, report):
    redis = faults_stack.redis
    store = scenario.store()
    scenario.start(scenario.web(), scenario.listener(), scenario.worker())

    form = FormLoad(scenario.base_url, "redis", pace=0.05).start()
    mail = MailFeeder(faults_stack.dovecot, scenario.mailbox, "redis", count=EMAILS, pace=0.15).start()
    form.wait_for(6)
    mail.wait_for(5)

    redis.stop()
    down_since = time.monotonic()
    answered_before = form.answered()
    appended_before = len(mail.delivered)
    form.wait_for(answered_before + 12)
    mail.wait_for(appended_before + 10)
    wait_until(
        lambda: set(store.stored_ids("email")) >= set(mail.delivered[: appended_before + 10]),
        timeout=30,
        message="the emails appended while Redis is down imported",
    )
    queued_while_down = store.outbox().get("sms", {}).get("queued", 0) + store.outbox().get("email", {}).get(
        "queued", 0
    )
    back_at = time.monotonic()
    redis.start()

    form.wait_for(form.answered() + 6)
    submissions = form.stop()
    appended = mail.join()
    wait_until(
        lambda: set(store.stored_ids("email")) >= set(appended), timeout=60, message="every email appended imported"
    )
    outbox = scenario.settle_outbox()

    during = [s for s in submissions if s.answered_at is not None and down_since < s.answered_at < back_at]
    form_ids = {s.submission_id for s in submissions if s.accepted}
    stored_forms = store.stored_submissions()
    stored_emails = store.stored_ids("email")
    report(
        SCENARIO,
        form_sent=len(submissions),
        form_answered_while_down=len(during),
        form_accepted=len(form_ids),
        form_stored=sum(stored_forms.values()),
        emails_in=len(appended),
        emails_stored=sum(stored_emails.values()),
        outbox_queued_while_down=queued_while_down,
        outbox=outbox,
        emails_delivered=sum(emails_delivered(scenario.mails).values()),
        sms_accepted=len(scenario.provider.accepted),
        workers_restarted_after_exiting=scenario.revived,
    )
    # Redis down never cost a citizen an error: no retry was needed.
    assert [(s.n, s.failures) for s in submissions if s.failures or not s.accepted] == []
    assert len(during) >= 10 and all(s.status == 201 for s in during)
    assert queued_while_down > 0  # their dispatch failed: they waited for the sweeper
    assert_stored_once(form_ids, stored_forms, "form submissions")
    assert_stored_once(appended, stored_emails, "emails")
    assert store.half_written() == dict.fromkeys(store.half_written(), 0)
    assert_outbox_settled(store, scenario.provider)
    assert set(outbox) == {"email", "sms"} and all(set(by_status) == {"sent"} for by_status in outbox.values())
