"""The agents' API under generated input: schemathesis sends requests built
from /api/schema/ with an agent's token; no server error, no answer outside
the schema, whatever is sent (and the schema itself is valid)."""

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from config.wsgi import application

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
AGENT_PATHS = ("/api/v1/tickets/", "/api/v1/contacts/", "/api/v1/kb/")


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in operations if operation.path.startswith(AGENT_PATHS)]


@pytest.fixture
def keep_connection():
    """As Django's test client does: the WSGI handler must not close the
    test's database connection at the end of each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.django_db
def test_the_agents_api_never_fails_on_generated_input(world, keep_connection):
    token = Token.objects.create(user=world.users["alice"]).key
    rsa = world.ticket("rsa")
    operations = _operations()
    assert len(operations) == 13
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            parameters = dict(case.path_parameters or {})
            parameters.update(
                {
                    key: value
                    for key, value in [("reference", rsa.reference), ("slug", "rsa-versement")]
                    if key in parameters
                }
            )
            if "id" in parameters:
                parameters["id"] = rsa.contact_id
            case.path_parameters = parameters
            case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}
            case.call_and_validate(checks=CHECKS)

        check()
