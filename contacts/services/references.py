"""Human-readable ticket references, unique per organisation and year."""

from django.db import connection, transaction

from contacts.models import Message, TicketCounter
from kb import revision

_TABLE = TicketCounter._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (organisation_id, year, value) VALUES (%s, %s, 1) "  # noqa: S608 (constant table name)
    f"ON CONFLICT (organisation_id, year) DO UPDATE SET value = {_TABLE}.value + 1 RETURNING value"
)
_known_sequences = set()  # created and committed, as seen by this process


_STORED = f"EXISTS (SELECT 1 FROM {Message._meta.db_table} WHERE channel = %s AND external_id = %s)"  # noqa: S608


def next_reference(organisation, year, unless_stored=None):
    """Take the next number of the organisation's year, e.g. CD99-2026-000123.

    ``unless_stored`` = (channel, external_id) of the message that opens the
    ticket: None, and no number taken, when that message is already stored
    (a duplicate leaves no gap; checked in the same round trip)."""
    take = _next_from_sequence if connection.vendor == "postgresql" else _next_from_counter
    if unless_stored is not None and not unless_stored[1]:
        unless_stored = None
    value = take(organisation.pk, year, unless_stored)
    if value is None:
        return None
    return f"{organisation.reference_prefix}-{year}-{value:06d}"


def _next_from_counter(organisation_id, year, unless_stored):
    """One upsert; the counter row stays locked until the caller's transaction
    ends (SQLite serialises writers anyway)."""
    with connection.cursor() as cursor:
        if unless_stored is not None:
            cursor.execute(f"SELECT {_STORED}", list(unless_stored))  # noqa: S608
            if cursor.fetchone()[0]:
                return None
        cursor.execute(_UPSERT, [organisation_id, year])
        return cursor.fetchone()[0]


def _next_from_sequence(organisation_id, year, unless_stored):
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
        if unless_stored is None:
            return revision.select_along(cursor, f"nextval('{name}')")
        return revision.select_along(
            cursor, f"CASE WHEN {_STORED} THEN NULL ELSE nextval('{name}') END", list(unless_stored)
        )
