"""Human-readable ticket references, unique per organisation and year."""

from django.db import connection, transaction

from contacts.models import TicketCounter
from kb import revision

_TABLE = TicketCounter._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (organisation_id, year, value) VALUES (%s, %s, 1) "  # noqa: S608 (constant table name)
    f"ON CONFLICT (organisation_id, year) DO UPDATE SET value = {_TABLE}.value + 1 RETURNING value"
)
_known_sequences = set()  # created and committed, as seen by this process


def next_reference(organisation, year):
    """Take the next number of the organisation's year, e.g. CD99-2026-000123."""
    take = _next_from_sequence if connection.vendor == "postgresql" else _next_from_counter
    value = take(organisation.pk, year)
    return f"{organisation.reference_prefix}-{year}-{value:06d}"


def _next_from_counter(organisation_id, year):
    """One upsert; the counter row stays locked until the caller's transaction
    ends (SQLite serialises writers anyway)."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [organisation_id, year])
        return cursor.fetchone()[0]


def _next_from_sequence(organisation_id, year):
    """A PostgreSQL sequence per organisation and year: ``nextval`` takes no
    lock that lasts, so concurrent creations do not wait for each other's
    commit. A creation that rolls back leaves a gap; numbers stay distinct.

    The sequence is created with the first ticket of the year (continuing any
    counter kept before). Two processes creating it at once: one of them gets
    an IntegrityError, and ``ingest`` tries again.
    """
    name = f"contacts_ticket_ref_{int(organisation_id)}_{int(year)}"
    with connection.cursor() as cursor:
        if name not in _known_sequences:
            cursor.execute(f"SELECT to_regclass('{name}')")  # noqa: S608 (name made of integers)
            if cursor.fetchone()[0] is None:
                start = (
                    TicketCounter.objects.filter(organisation_id=organisation_id, year=year)
                    .values_list("value", flat=True)
                    .first()
                    or 0
                ) + 1
                cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START {start}")
            transaction.on_commit(lambda: _known_sequences.add(name))
        return revision.select_along(cursor, f"nextval('{name}')")
