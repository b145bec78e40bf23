"""What ingesting one message costs the database, and the per-revision cache
of what routing reads: a change to the routing settings is seen by the very
next message, without any restart."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import TicketEvent
from contacts.services import ingest
from kb import revision
from kb.models import Service
from routing.models import Rule, ServiceRouting

CONFIGURATION_TABLES = ("kb_", "routing_", "channels_app_smssettings")


def configuration_reads(queries):
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and any(f'"{table}' in q["sql"] or f" {table}" in q["sql"] for table in CONFIGURATION_TABLES)
        and "kb_revision" not in q["sql"]
    ]


@pytest.mark.django_db(transaction=True)  # ingest's own transaction, not a savepoint in the test's
def test_a_new_message_reads_no_configuration_once_it_is_cached(make_inbound, organisation):
    ingest(make_inbound(sender_email="premier@citoyen.example"))

    with CaptureQueriesContext(connection) as queries:  # a channel that knows its organisation
        result = ingest(make_inbound(sender_email="second@citoyen.example", organisation=organisation))

    assert result.outcome == "created"
    assert configuration_reads(queries.captured_queries) == []
    revision_reads = [q for q in queries.captured_queries if "kb_revision" in q["sql"]]
    assert len(revision_reads) == 1  # read once for the whole ingestion
    if connection.vendor == "postgresql":  # in the round trip that takes the reference number
        assert "nextval" in revision_reads[0]["sql"]
    created = [q["sql"] for q in queries.captured_queries if "ticketevent" in q["sql"] and "'created'" in q["sql"]]
    assert len(created) == 1 and "'routed'" in created[0]  # created and routed in one statement
    assert list(result.ticket.events.values_list("kind", flat=True)) == [
        TicketEvent.Kind.CREATED,
        TicketEvent.Kind.ROUTED,
    ]
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]


@pytest.mark.django_db
def test_a_rule_added_after_a_message_routes_the_next_one(make_inbound, organisation):
    first = ingest(make_inbound(subject="Route barrée"))
    assert first.ticket.service.slug == "accueil"

    insertion = Service.objects.get(organisation=organisation, slug="insertion")
    Rule.objects.create(organisation=organisation, name="routes", subject_regex="route", set_service=insertion)
    second = ingest(make_inbound(subject="Route barrée encore"))

    assert second.ticket.service == insertion
    routed = second.ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    assert routed.data["decided_by"] == "rule"


@pytest.mark.django_db
def test_a_round_robin_turn_does_not_invalidate_the_cache(organisation):
    service = Service.objects.get(organisation=organisation, slug="accueil")
    routing = ServiceRouting.objects.create(service=service, mode=ServiceRouting.Mode.ROUND_ROBIN)
    before = revision.current()

    routing.cursor = 42
    routing.save(update_fields=["cursor"])
    assert revision.current() == before

    routing.mode = ServiceRouting.Mode.SHARED
    routing.save()
    assert revision.current() == before + 1
