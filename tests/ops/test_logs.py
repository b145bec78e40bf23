"""Logs: JSON lines in production, the request's id on every record, and no
personal data (addresses, phone numbers, follow-up links, message bodies)."""

import io
import json
import logging
import subprocess
import sys

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from config import logs
from contacts.services import outbox
from mail.services import receive
from tests.support.emails import citizen_email

EXPECTED_KEYS = {"time", "level", "logger", "message", "request_id", "ticket"}


def handler_like_production(formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.PersonalDataFilter())
    return handler, stream


@pytest.fixture
def json_lines():
    """Records of the ``probe`` logger, formatted as in production (JSON)."""
    handler, stream = handler_like_production(logs.JsonFormatter())
    logger = logging.getLogger("probe")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_json_formatter_writes_one_object_per_line_with_the_expected_keys(json_lines):
    with logs.bound(request_id="req-1", ticket="CD99-2026-000042"):
        logging.getLogger("probe").warning("routed in %d ms", 12, extra={"rule": 7})
    logging.getLogger("probe").info("outside a request")
    first, second = json_lines()
    assert first.keys() >= EXPECTED_KEYS
    assert first["message"] == "routed in 12 ms"
    assert first["level"] == "WARNING"
    assert first["logger"] == "probe"
    assert first["request_id"] == "req-1"
    assert first["ticket"] == "CD99-2026-000042"
    assert first["rule"] == 7
    assert first["time"].endswith("+00:00")
    assert second["request_id"] is None and second["ticket"] is None


def test_personal_data_is_masked_in_message_traceback_and_extra_fields(json_lines):
    try:
        raise ValueError("provider refused jeanne.martin@example.org")
    except ValueError:
        logging.getLogger("probe").exception(
            "SMS to %s, reply to %s, link %s",
            "+33612345678",
            "paul.durand@mairie.example",
            "https://aiguillage.example/suivi/eyJ0Ijo0Mn0:1abcd:sig/",
            extra={"recipient": "06 12 34 56 78", "attempts": 3},
        )
    (record,) = json_lines()
    text = json.dumps(record)
    for secret in ("jeanne.martin", "paul.durand", "612345678", "12 34 56 78", "eyJ0Ijo0Mn0"):
        assert secret not in text
    assert (
        record["message"]
        == "SMS to [phone], reply to ***@mairie.example, link https://aiguillage.example/suivi/[token]/"
    )
    assert "ValueError: provider refused ***@example.org" in record["exc_info"]
    assert record["recipient"] == "[phone]"
    assert record["attempts"] == 3


@pytest.mark.parametrize(
    "kept",
    ["CD99-2026-000123", "outbox row 1234567890", "2026-12-01 08:00:00,123", "10.0.0.7", "uuid 0a612345678b"],
)
def test_what_is_not_personal_data_is_kept(kept):
    assert logs.redact(kept) == kept


def test_request_id_is_returned_and_bound_with_the_ticket_of_the_url(json_lines):
    factory = RequestFactory()

    def view(request):
        middleware.process_view(request, view, (), {"reference": "CD99-2026-000007"})
        logging.getLogger("probe").info("in the view")
        return HttpResponse("ok")

    middleware = logs.RequestIdMiddleware(view)
    given = middleware(factory.get("/agents/demandes/CD99-2026-000007/", HTTP_X_REQUEST_ID="nginx-abc.123"))
    made = middleware(factory.get("/", HTTP_X_REQUEST_ID="two words\nand a line"))
    assert given["X-Request-ID"] == "nginx-abc.123"
    assert len(made["X-Request-ID"]) == 32 and made["X-Request-ID"] != "two words\nand a line"
    first, second = json_lines()
    assert (first["request_id"], first["ticket"]) == ("nginx-abc.123", "CD99-2026-000007")
    assert second["request_id"] == made["X-Request-ID"]
    assert logs.current() == {}  # nothing leaks into the next request


def test_a_url_reference_that_is_not_a_reference_is_not_logged(json_lines):
    def view(request):
        middleware.process_view(request, view, (), {"reference": "X\n{forged}"})
        logging.getLogger("probe").info("in the view")
        return HttpResponse("ok")

    middleware = logs.RequestIdMiddleware(view)
    middleware(RequestFactory().get("/"))
    assert json_lines()[0]["ticket"] is None


@pytest.mark.django_db
def test_djangos_own_request_warnings_carry_the_request_id(client, json_lines):
    django_request = logging.getLogger("django.request")
    handler = logging.getLogger("probe").handlers[-1]
    django_request.addHandler(handler)
    try:
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    finally:
        django_request.removeHandler(handler)
    (record,) = json_lines()
    assert record["message"] == "Forbidden: /metrics"
    assert record["request_id"] == response["X-Request-ID"]
    assert "request" not in record


def _run(code, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///:memory:", **env},
        capture_output=True,
        text=True,
    )


def test_log_format_json_makes_every_line_of_a_process_json():
    result = _run(
        "import logging; logging.getLogger('contacts').warning('hello %s', 'x.y@example.org')", LOG_FORMAT="json"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    hello = [line for line in lines if line["logger"] == "contacts"]
    assert hello and hello[0]["message"] == "hello ***@example.org"
    assert all(line.keys() >= EXPECTED_KEYS for line in lines)


def test_the_default_stays_human_readable_text():
    result = _run("import logging; logging.getLogger('contacts').warning('hello')")
    assert result.returncode == 0, result.stderr
    assert "WARNING contacts: hello" in result.stderr
    assert not result.stderr.lstrip().startswith("{")


def test_an_unknown_log_format_is_refused_by_name():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///:memory:", "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be text or json, not 'xml'" in result.stderr


@pytest.fixture
def production_output():
    """What the project's own console handler writes (settings.LOGGING),
    at DEBUG, into a buffer."""
    (handler,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, logs.PersonalDataFilter) for f in h.filters)
    ]
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield stream
    handler.setStream(previous_stream)
    logging.getLogger().setLevel(previous_level)


@pytest.mark.django_db
def test_the_pipeline_logs_no_body_address_or_phone(
    organisation, settings, production_output, django_capture_on_commit_callbacks
):
    """A citizen's email goes in, its acknowledgement fails at the provider
    with an error quoting the recipient (as providers' errors do): what is
    logged names neither the citizen nor what they wrote."""
    settings.EMAIL_BACKEND = "tests.ops.test_logs.QuotingFailureBackend"
    body = "Mon voisin Jules Bernard, joignable au 06 98 76 54 32, bloque le chemin communal."
    with django_capture_on_commit_callbacks(execute=True):
        result = receive(citizen_email(9, sender="jeanne.martin@example.org", body=body), organisation=organisation)
    assert result.ticket is not None
    row = result.ticket.outbox.get(channel="email")
    outbox.deliver(row.pk)
    output = production_output.getvalue()
    assert "unexpected error delivering outbox row" in output  # the failure was logged...
    assert "***@example.org" in output  # ...with the address masked
    for secret in ("jeanne.martin", "Jules Bernard", "98 76 54 32", "chemin communal"):
        assert secret not in output


class QuotingFailureBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise RuntimeError(f"mailbox of {messages[0].to[0]} is full")
