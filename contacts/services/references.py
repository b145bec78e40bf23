"""Human-readable ticket references, unique per organisation and year."""

from django.db import connection

from contacts.models import TicketCounter

_TABLE = TicketCounter._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (organisation_id, year, value) VALUES (%s, %s, 1) "  # noqa: S608 (constant table name)
    f"ON CONFLICT (organisation_id, year) DO UPDATE SET value = {_TABLE}.value + 1 RETURNING value"
)


def next_reference(organisation, year):
    """Take the next number of the organisation's year, e.g. CD99-2026-000123.

    One upsert: the counter row stays locked until the caller's transaction
    ends, so concurrent creations get distinct numbers, and a rolled-back
    creation gives its number back (no gap).
    """
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [organisation.pk, year])
        value = cursor.fetchone()[0]
    return f"{organisation.reference_prefix}-{year}-{value:06d}"
