"""Bad input at scale: schemathesis generates requests from the OpenAPI
schema; the API never answers with a server error nor outside its schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from config.wsgi import application

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api/v1/widgets/"):
            operations.append(operation)
    return operations


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


@pytest.mark.django_db
def test_the_api_never_fails_on_generated_input(widget, settings, keep_connection):
    settings.PUBLIC_RATE_LIMITS = dict.fromkeys(settings.PUBLIC_RATE_LIMITS, (0, 60))
    operations = _operations()
    assert {op.path for op in operations} >= {"/api/v1/widgets/{key}/requests/", "/api/v1/widgets/{key}/topics/"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.path_parameters = {**(case.path_parameters or {}), "key": widget.key}
            case.call_and_validate(checks=CHECKS)

        check()
