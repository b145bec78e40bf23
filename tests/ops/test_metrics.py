"""/metrics: who may read it, and what it counts."""

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from contacts.models import Outbox
from contacts.services import outbox
from mail.services import receive
from tests.support.dovecot import free_port
from tests.support.emails import citizen_email
from tests.support.processes import ROOT, child_env, wait_until

TOKEN = "t0ken-" + "x" * 40


def samples(response):
    """{(name, labels as sorted tuple): value} of a /metrics answer."""
    assert response.status_code == 200, response.content
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_refused_from_an_address_outside_the_allowed_networks(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"aiguillage_" not in response.content
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_served_to_loopback_by_default(client):
    found = samples(client.get("/metrics"))
    assert ("aiguillage_outbox_queued", (("channel", "email"),)) in found
    assert any(name.startswith("django_http_requests") for name, _ in found)


@pytest.mark.django_db
def test_served_to_a_configured_network_only(client, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.8.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.8.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.8.3.4").status_code == 200


@pytest.mark.django_db
def test_bearer_token_opens_it_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.METRICS_TOKEN = TOKEN
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}y", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}", **outside).status_code == 403
    assert client.get("/metrics", **outside).status_code == 403


@pytest.mark.django_db
def test_a_proxied_request_is_not_taken_for_loopback(client, settings):
    # nginx on the same host connects from 127.0.0.1 for every visitor.
    settings.TRUST_X_FORWARDED_FOR = False
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    # Trusted, the header's last address (the proxy's view) is judged.
    settings.TRUST_X_FORWARDED_FOR = True
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9").status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9, 127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_only_read_methods(client):
    assert client.post("/metrics").status_code == 405


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("METRICS_ALLOWED_IPS", "127.0.0.1,not-a-network", "METRICS_ALLOWED_IPS"),
        ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 32 characters"),
    ],
)
def test_bad_settings_stop_the_start_with_a_clear_error(tmp_path, variable, value, message):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", variable: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_ingestion_through_the_mail_pipeline_counts_messages_and_tickets(
    client, organisation, django_capture_on_commit_callbacks
):
    before = samples(client.get("/metrics"))
    with django_capture_on_commit_callbacks(execute=True):
        first = receive(citizen_email(1), organisation=organisation)
    reference = first.ticket.reference
    with django_capture_on_commit_callbacks(execute=True):
        receive(
            citizen_email(2, subject=f"Re: [{reference}] suite", sender="citoyen1@citoyen.example"),
            organisation=organisation,
        )
    after = samples(client.get("/metrics"))

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("aiguillage_messages_ingested_total", channel="email", outcome="created") == 1
    assert grew("aiguillage_messages_ingested_total", channel="email", outcome="threaded") == 1
    assert grew("aiguillage_tickets_created_total", channel="email") == 1
    assert grew("aiguillage_tickets_created_total", channel="sms") == 0


@pytest.mark.django_db
def test_an_ingestion_rolled_back_counts_nothing(client, organisation, django_capture_on_commit_callbacks):
    before = samples(client.get("/metrics"))
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                receive(citizen_email(3), organisation=organisation)
                raise RuntimeError("the caller's transaction fails")
        except RuntimeError:
            pass
    after = samples(client.get("/metrics"))
    name = "aiguillage_messages_ingested_total"
    assert value(after, name, channel="email", outcome="created") == value(
        before, name, channel="email", outcome="created"
    )


@pytest.mark.django_db
def test_outbox_backlog_and_delivery_outcomes(client, settings, django_capture_on_commit_callbacks):
    from tests.support.email_backends import ScriptedBackend

    settings.EMAIL_BACKEND = "tests.support.email_backends.ScriptedBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = False  # nothing leaves before the test says so
    before = samples(client.get("/metrics"))
    rows = [
        outbox.enqueue(
            "email",
            f"citoyen{n}@citoyen.example",
            {"subject": "Votre demande", "text": "Bonjour"},
            idempotency_key=f"ops-metrics-{n}",
        )
        for n in range(3)
    ]
    queued = samples(client.get("/metrics"))
    assert (
        value(queued, "aiguillage_outbox_queued", channel="email")
        == value(before, "aiguillage_outbox_queued", channel="email") + 3
    )
    assert value(queued, "aiguillage_outbox_oldest_due_seconds") >= 0

    ScriptedBackend.script = [503, 400]  # a temporary error, then a permanent one
    try:
        with django_capture_on_commit_callbacks(execute=True):
            statuses = [outbox.deliver(row.pk) for row in rows]
    finally:
        ScriptedBackend.script = []
    assert statuses == [Outbox.Status.QUEUED, Outbox.Status.FAILED, Outbox.Status.SENT]
    after = samples(client.get("/metrics"))
    name = "aiguillage_outbox_deliveries_total"
    for outcome in ("retried", "failed", "sent"):
        assert (
            value(after, name, channel="email", outcome=outcome) - value(before, name, channel="email", outcome=outcome)
            == 1
        )
    assert (
        value(after, "aiguillage_outbox_queued", channel="email")
        == value(before, "aiguillage_outbox_queued", channel="email") + 1
    )  # the retried row waits again


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local test server)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except urllib.error.URLError:
        return None, b""  # not listening yet


@pytest.mark.django_db
def test_gunicorn_workers_and_other_processes_add_up_in_multiprocess_mode(tmp_path):
    """Two gunicorn workers and a separate process (as the mail listener
    would be) share PROMETHEUS_MULTIPROC_DIR: whichever worker answers the
    scrape reports the requests both served, and the other process's
    counter."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = child_env(PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    subprocess.run(
        [sys.executable, "-c", "from mail.metrics import imap_errors; imap_errors.labels('7').inc(3)"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "2", "--worker-class", "gthread", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: _get(f"{url}/metrics")[0] == 200 if server.poll() is None else True, timeout=60)
            assert server.poll() is None, log.read_text(errors="replace")
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda n: _get(f"{url}/ops-missing-{n}/")[0], range(40)))
            assert statuses == [404] * 40
            for _ in range(6):  # several scrapes, whichever worker answers
                status, body = _get(f"{url}/metrics")
                assert status == 200
                found = {
                    (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                    for family in text_string_to_metric_families(body.decode())
                    for sample in family.samples
                }
                assert value(found, "django_http_responses_total_by_status_total", status="404") == 40
                assert value(found, "aiguillage_imap_errors_total", mailbox="7") == 3
            assert _get(f"{url}/metrics", {"X-Forwarded-For": "203.0.113.9"})[0] == 403
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 3  # two workers and the other process
