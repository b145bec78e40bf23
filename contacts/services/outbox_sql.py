"""The outbox's hot statements, one round trip each.

A delivery costs three statements (claim, send, record); each is a single
SQL statement built once per database vendor, so the ORM's query compiler
does not run for every SMS. They work on PostgreSQL and SQLite alike
(both have ``RETURNING`` and ``ON CONFLICT``).
"""

from functools import cache

from django.db import connection

from contacts.models import Outbox


def _quote(name):
    return connection.ops.quote_name(name)


def _column(name):
    return _quote(Outbox._meta.get_field(name).column)


def _prep(name, value):
    return Outbox._meta.get_field(name).get_db_prep_value(value, connection)


@cache
def _insert_sql(vendor):
    fields = [f for f in Outbox._meta.concrete_fields if not f.primary_key]
    sql = (
        f"INSERT INTO {_quote(Outbox._meta.db_table)} ({', '.join(_quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({_column('idempotency_key')}) DO NOTHING RETURNING {_quote(Outbox._meta.pk.column)}"
    )
    return fields, sql


@cache
def _capped_insert_sql(vendor):
    """The same INSERT, made only while fewer than a number of rows with a
    key prefix went to the recipient since a moment (the count and the
    insert in one round trip, on the partial index outbox_ack_recipient)."""
    fields, _sql = _insert_sql(vendor)
    table = _quote(Outbox._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(_quote(f.column) for f in fields)}) "  # noqa: S608
        f"SELECT {', '.join(['%s'] * len(fields))} "
        f"WHERE (SELECT COUNT(*) FROM {table} WHERE {_column('recipient')} = %s "
        f"AND {_column('idempotency_key')} LIKE %s AND {_column('created_at')} >= %s) < %s "
        f"ON CONFLICT ({_column('idempotency_key')}) DO NOTHING RETURNING {_quote(Outbox._meta.pk.column)}"
    )
    return fields, sql


def insert_unless_key_exists(row, cap=None):
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id;
    None when the key was already there. ``cap`` = (key_prefix, since,
    maximum): None too when the recipient already got ``maximum`` rows whose
    key starts with ``key_prefix`` (a constant of ours, without LIKE
    wildcards) since ``since``."""
    if cap is None:
        fields, sql = _insert_sql(connection.vendor)
    else:
        fields, sql = _capped_insert_sql(connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields]
    if cap is not None:
        prefix, since, maximum = cap
        values += [row.recipient, prefix + "%", _prep("created_at", since), maximum]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    return inserted[0] if inserted else None


@cache
def _claim_sql(vendor):
    fields = Outbox._meta.concrete_fields
    sql = (
        f"UPDATE {_quote(Outbox._meta.db_table)} "  # noqa: S608 (names from the model, values bound)
        f"SET {_column('status')} = %s, {_column('attempts')} = {_column('attempts')} + 1, "
        f"{_column('locked_until')} = %s "
        f"WHERE {_quote(Outbox._meta.pk.column)} = %s AND {_column('status')} = %s "
        f"AND {_column('next_attempt_at')} <= %s "
        f"RETURNING {', '.join(_quote(f.column) for f in fields)}"
    )
    table = Outbox._meta.db_table
    columns = [f.get_col(table) for f in fields]
    attnames = [f.attname for f in fields]
    converters = [
        (col, connection.ops.get_db_converters(col) + f.get_db_converters(connection))
        for f, col in zip(fields, columns, strict=True)
    ]
    return sql, attnames, converters


def claim(outbox_id, *, due_before, lease_until):
    """Move a due, queued row to "sending" and return it, or None when it is
    not queued or not due (sent, taken by another worker, or retried later)."""
    sql, attnames, converters = _claim_sql(connection.vendor)
    params = [
        Outbox.Status.SENDING,
        _prep("locked_until", lease_until),
        outbox_id,
        Outbox.Status.QUEUED,
        _prep("next_attempt_at", due_before),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
    if values is None:
        return None
    converted = []
    for value, (col, field_converters) in zip(values, converters, strict=True):
        for converter in field_converters:
            value = converter(value, col, connection)
        converted.append(value)
    return Outbox.from_db(connection.alias, attnames, converted)


@cache
def _mark_sent_sql(vendor):
    return (
        f"UPDATE {_quote(Outbox._meta.db_table)} "  # noqa: S608
        f"SET {_column('status')} = %s, {_column('provider_id')} = %s, {_column('sent_at')} = %s, "
        f"{_column('locked_until')} = NULL "
        f"WHERE {_quote(Outbox._meta.pk.column)} = %s AND {_column('status')} IN (%s, %s)"
    )


def mark_sent(outbox_id, provider_id, sent_at):
    """ "sending" (or "unknown", when the sweeper gave up on a worker that
    was only slow) becomes "sent"; returns whether the row changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            _mark_sent_sql(connection.vendor),
            [
                Outbox.Status.SENT,
                provider_id[:200],
                _prep("sent_at", sent_at),
                outbox_id,
                Outbox.Status.SENDING,
                Outbox.Status.UNKNOWN,
            ],
        )
        return cursor.rowcount == 1
