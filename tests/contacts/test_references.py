import re
import threading
from datetime import UTC

import pytest
from django.db import connection

from contacts.models import Ticket
from contacts.services import ingest


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_creations_get_twenty_distinct_gapless_references(make_inbound, organisation):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    inbounds = [make_inbound(sender_email=f"c{i}@citoyen.example") for i in range(20)]
    barrier = threading.Barrier(20)
    errors = []

    def create(inbound):
        try:
            barrier.wait()
            ingest(inbound)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(inbound,)) for inbound in inbounds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    references = list(Ticket.objects.values_list("reference", flat=True))
    assert len(set(references)) == 20
    numbers = sorted(int(re.fullmatch(r"CD99-\d{4}-(\d{6})", ref).group(1)) for ref in references)
    assert numbers == list(range(1, 21))


@pytest.mark.django_db
def test_references_restart_each_year_and_per_organisation(make_inbound, organisation):
    from datetime import datetime

    from kb.models import Organisation, Service

    other = Organisation.objects.create(slug="commune-x", name="Commune X", kind="commune")
    Service.objects.create(organisation=other, slug="mairie", name="Mairie", is_triage=True)

    a = ingest(make_inbound(received_at=datetime(2025, 12, 31, 10, tzinfo=UTC)))
    b = ingest(make_inbound(received_at=datetime(2026, 1, 2, 10, tzinfo=UTC)))
    c = ingest(make_inbound(organisation="commune-x"))

    assert a.ticket.reference == "CD99-2025-000001"
    assert b.ticket.reference == "CD99-2026-000001"
    assert re.fullmatch(r"COMMUNEX-\d{4}-000001", c.ticket.reference)


@pytest.mark.django_db
def test_year_of_the_reference_is_the_organisations_local_year(make_inbound):
    from datetime import datetime

    # 23:30 UTC on 31 December is already 1 January in Paris.
    result = ingest(make_inbound(received_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC)))
    assert result.ticket.reference == "CD99-2026-000001"


@pytest.mark.django_db
def test_a_duplicate_takes_no_reference_number(make_inbound, organisation):
    first = ingest(make_inbound(external_id="<once@citoyen.example>", sender_email="a@citoyen.example"))
    again = ingest(make_inbound(external_id="<once@citoyen.example>", sender_email="a@citoyen.example"))
    following = ingest(make_inbound(sender_email="b@citoyen.example"))
    assert (again.outcome, again.ticket.pk) == ("duplicate", first.ticket.pk)
    number = int(first.ticket.reference.rsplit("-", 1)[1])
    assert following.ticket.reference.endswith(f"-{number + 1:06d}")  # no gap left by the duplicate
