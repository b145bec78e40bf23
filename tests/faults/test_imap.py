"""Dovecot restarted three times under the IMAP listener
(``manage.py mail_listen``, in IDLE) while the mailbox is being fed, its
open sessions cut each time: the listener reconnects and every email is
stored exactly once.

(tests/mail/test_imap.py::test_listener_with_idle_imports_while_running_and_survives_a_server_restart
checks one restart with the listener in a thread of the test process; here
it is the real command, with mail arriving throughout.)
"""

import pytest

from tests.faults.checks import assert_outbox_settled, assert_stored_once
from tests.faults.load import MailFeeder
from tests.support.processes import wait_until

SCENARIO = "imap"
RESTARTS = 3
EMAILS = 40

pytestmark = pytest.mark.slow


def test_imap_server_restarted_under_the_listener(scenario, faults_stack, report):
    dovecot = faults_stack.dovecot
    store = scenario.store()
    listener, _worker = scenario.start(scenario.listener(), scenario.worker())
    mail = MailFeeder(dovecot, scenario.mailbox, "imap", count=EMAILS, pace=0.1).start()
    for restart in range(1, RESTARTS + 1):
        mail.wait_for(10 * restart)
        wait_until(lambda n=5 * restart: len(store.stored_ids("email")) >= n, timeout=60, message="imports under way")
        dovecot.restart(drop_connections=True)
    appended = mail.join()
    wait_until(
        lambda: set(store.stored_ids("email")) >= set(appended), timeout=90, message="every email appended imported"
    )
    outbox = scenario.settle_outbox()

    stored = store.stored_ids("email")
    reconnections = listener.log().count("reconnecting in")
    report(
        SCENARIO,
        restarts=RESTARTS,
        emails_in=len(appended),
        appends_retried=mail.retries,
        emails_stored=sum(stored.values()),
        listener_reconnections=reconnections,
        outbox=outbox,
    )
    assert listener.alive()
    assert reconnections >= RESTARTS
    assert_stored_once(appended, stored, "emails")
    assert store.half_written() == dict.fromkeys(store.half_written(), 0)
    assert_outbox_settled(store, scenario.provider)
