"""The SMS provider down for ten minutes, on a clock scaled 1:100.

In production the outbox retries a temporary error after 30 s, then 60,
120, 240, 480, 960... (OUTBOX_BACKOFF_BASE_SECONDS=30, doubling, 8
attempts): a row first refused when the outage starts is tried at +0, 30,
90, 210, 450 and 930 s, so a 600 s outage costs it five refusals and the
sixth attempt goes through, with two attempts to spare (the eighth would
come at ~63 minutes). Here 1 s stands for 100 s: backoff base 0.3 s, the
outage 6 s, the first 3 s answering 503 and the last 3 s refusing
connections altogether (requests on kept-alive connections dropped
unanswered).

Citizens keep posting the form (SMS acknowledgements) before and during
the outage. Afterwards every SMS row is sent, each accepted by the
provider exactly once; none had to be given up.
"""

import time

import pytest

from tests.faults.checks import OUTBOX, assert_outbox_settled, assert_stored_once, sms_accepted
from tests.faults.load import FormLoad
from tests.support.processes import wait_until

SCENARIO = "provider"
SCALE = 100  # production seconds per second here
OUTAGE_SECONDS = 600 / SCALE

pytestmark = pytest.mark.slow


def test_sms_provider_down_for_ten_scaled_minutes(scenario, report):
    provider = scenario.provider
    store = scenario.store()
    scenario.start(scenario.web(), scenario.worker())
    form = FormLoad(scenario.base_url, "provider", sms=True, pace=0.1, threads=1).start()
    form.wait_for(3)
    wait_until(lambda: provider.accepted_count >= 2, timeout=30, message="SMS flowing before the outage")

    provider.default = 503
    outage_started = time.monotonic()
    refused_before = len(provider.received) - provider.accepted_count
    wait_until(lambda: time.monotonic() - outage_started >= OUTAGE_SECONDS / 2, timeout=OUTAGE_SECONDS)
    provider.refuse_connections()
    wait_until(lambda: time.monotonic() - outage_started >= OUTAGE_SECONDS, timeout=OUTAGE_SECONDS)
    provider.accept_connections()
    provider.default = 200
    answered_during = form.answered()
    submissions = form.stop()

    outbox = scenario.settle_outbox(timeout=120)
    rows = store.rows(f"SELECT attempts, status FROM {OUTBOX} WHERE channel = 'sms'")  # noqa: S608
    report(
        SCENARIO,
        outage_scaled_seconds=OUTAGE_SECONDS,
        scale=f"1:{SCALE}",
        form_sent=len(submissions),
        form_answered_by_end_of_outage=answered_during,
        sms_rows=len(rows),
        sms_retried=sum(1 for attempts, _status in rows if attempts > 1),
        max_attempts=max(attempts for attempts, _status in rows),
        provider_requests=len(provider.received),
        provider_refused_with_503=sum(1 for r in provider.received if r.step == 503) - refused_before,
        sms_accepted=provider.accepted_count,
        outbox=outbox,
    )
    assert_stored_once({s.submission_id for s in submissions if s.accepted}, store.stored_submissions(), "forms")
    assert all(s.status == 201 for s in submissions)
    assert outbox == {"sms": {"sent": len(submissions)}}
    assert_outbox_settled(store, provider)
    assert set(sms_accepted(provider).values()) == {1}
    # The outage was felt: rows waited and were tried again.
    assert sum(1 for attempts, _status in rows if attempts > 1) >= 3
    assert any(r.step == 503 for r in provider.received)
