"""PostgreSQL restarted (``pg_ctl restart -m fast``: every connection cut)
three times while citizens post the contact form through the API
(gunicorn) and the IMAP listener (``manage.py mail_listen``) ingests a
mailbox being fed, a Celery worker delivering the acknowledgements.

A client whose request failed sends it again with the same submission_id,
as the API asks. Afterwards every submission that got a success answer is
stored exactly once, every email appended to the mailbox is stored exactly
once, no ticket is half-written, and every outbox row ends sent (or visibly
failed) once the sweeper has run.
"""

import pytest

from tests.faults.checks import assert_outbox_settled, assert_stored_once, emails_delivered
from tests.faults.load import FormLoad, MailFeeder
from tests.support.processes import wait_until

SCENARIO = "database"
RESTARTS = 3
EMAILS = 45

pytestmark = pytest.mark.slow


def test_postgresql_restarted_during_form_submissions_and_imap_ingestion(scenario, faults_stack, report):
    pg = faults_stack.pg
    store = scenario.store()
    scenario.start(scenario.web(), scenario.listener(), scenario.worker())

    form = FormLoad(scenario.base_url, "pg").start()
    mail = MailFeeder(faults_stack.dovecot, scenario.mailbox, "pg", count=EMAILS, pace=0.1).start()
    for restart in range(1, RESTARTS + 1):
        # Traffic in flight on both roads when the server goes away.
        form.wait_for(10 * restart)
        mail.wait_for(10 * restart)
        pg.restart()
    form.wait_for(10 * (RESTARTS + 1))
    submissions = form.stop()
    appended = mail.join()

    form_ids = {s.submission_id for s in submissions if s.accepted}
    wait_until(
        lambda: set(store.stored_ids("email")) >= set(appended),
        timeout=60,
        message="the listener to import every email appended",
    )
    outbox = scenario.settle_outbox()

    stored_forms = store.stored_submissions()
    stored_emails = store.stored_ids("email")
    half_written = store.half_written()
    report(
        SCENARIO,
        restarts=RESTARTS,
        form_sent=len(submissions),
        form_accepted=len(form_ids),
        form_retried=sum(1 for s in submissions if s.failures),
        form_stored=sum(stored_forms.values()),
        emails_in=len(appended),
        emails_stored=sum(stored_emails.values()),
        tickets=store.tickets(),
        half_written=sum(half_written.values()),
        outbox=outbox,
        emails_delivered=sum(emails_delivered(scenario.mails).values()),
        sms_accepted=len(scenario.provider.accepted),
    )
    refused = [(s.n, s.failures) for s in submissions if not s.accepted]
    assert not refused, f"submissions never accepted: {refused[:5]}"
    assert_stored_once(form_ids, stored_forms, "form submissions")
    assert_stored_once(appended, stored_emails, "emails")
    assert half_written == dict.fromkeys(half_written, 0)
    assert_outbox_settled(store, scenario.provider)
