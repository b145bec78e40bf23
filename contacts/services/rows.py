"""Row writes and lookups of the ingestion path in plain SQL.

``ingest`` runs for every message a channel receives; what the ORM spends
building and compiling the same few statements again and again is most of its
cost. These helpers build each statement once per model and run it with the
values of the instance, which ends up in the same state as after ``save()``
(defaults and ``auto_now`` fields applied, primary key set). The models they
are used for have no save signals and no ``save()`` logic that matters on
insert; values are prepared by the fields themselves.
"""

from django.db import connection, models

_insert_sql = {}
_select_sql = {}
_update_sql = {}
_converters = {}
_plans = {}


def _fields(model):
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _insert_statement(model, rows, ignore_conflicts):
    key = (model, rows, ignore_conflicts, connection.vendor)
    statement = _insert_sql.get(key)
    if statement is None:
        quote = connection.ops.quote_name
        fields = _fields(model)
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        statement = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES {', '.join([one] * rows)}"
            + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
            + f" RETURNING {quote(model._meta.pk.column)}"
        )
        _insert_sql[key] = statement
    return statement


# Fields whose values of these types go to the database as they are.
_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)
_PLAIN_VALUES = (str, int, type(None))


def _plan(model):
    """(field, attname, needs pre_save, plain) for each inserted field."""
    plan = _plans.get(model)
    if plan is None:
        plan = [
            (
                f,
                f.attname,
                type(f).pre_save is not models.Field.pre_save,
                isinstance(f, _PLAIN_FIELDS) and type(f).pre_save is models.Field.pre_save,
            )
            for f in _fields(model)
        ]
        _plans[model] = plan
    return plan


def _values(obj):
    """The instance's values as ``save()`` would send them: pre_save where a
    field has one (auto_now, files), the field's own preparation unless the
    value is a plain str/int/None of a plain field."""
    values = []
    for f, attname, pre_save, plain in _plan(type(obj)):
        value = f.pre_save(obj, add=True) if pre_save else getattr(obj, attname)
        if not (plain and type(value) in _PLAIN_VALUES):
            value = f.get_db_prep_save(value, connection)
        values.append(value)
    return values


def _stored(obj, pk):
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def insert(obj, *, ignore_conflicts=False):
    """INSERT one instance (``RETURNING`` its id). With ``ignore_conflicts``,
    ``ON CONFLICT DO NOTHING``: returns False, and stores nothing, when a
    unique constraint already holds its key."""
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(type(obj), 1, ignore_conflicts), _values(obj))
        row = cursor.fetchone()
    if row is None:
        return False
    _stored(obj, row[0])
    return True


def insert_many(objs):
    """INSERT instances of one model in one statement, in their order."""
    if not objs:
        return
    values = []
    for obj in objs:
        values.extend(_values(obj))
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(type(objs[0]), len(objs), False), values)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        _stored(obj, pk)


def update(obj, names):
    """UPDATE the named fields of a stored instance (by primary key)."""
    model = type(obj)
    key = (model, tuple(names), connection.vendor)
    statement = _update_sql.get(key)
    fields = [model._meta.get_field(name) for name in names]
    if statement is None:
        quote = connection.ops.quote_name
        statement = (
            f"UPDATE {quote(model._meta.db_table)} SET "  # noqa: S608
            + ", ".join(f"{quote(f.column)} = %s" for f in fields)
            + f" WHERE {quote(model._meta.pk.column)} = %s"
        )
        _update_sql[key] = statement
    values = [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*values, obj.pk])


def select_first(model, where, params, *, order_by="", for_update=False):
    """The first instance of ``model`` WHERE ``where`` (columns, %s
    placeholders), or None; ``for_update`` locks its row."""
    key = (model, where, order_by, for_update)
    statement = _select_sql.get(key)
    if statement is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
        statement = (
            f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {where}"  # noqa: S608
            + (f" ORDER BY {order_by}" if order_by else "")
            + " LIMIT 1"
            + (" FOR UPDATE" if for_update and connection.features.has_select_for_update else "")
        )
        _select_sql[key] = statement
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], _convert(model, row))


def _convert(model, row):
    """The row's values as the ORM would give them (backend and field converters)."""
    key = (model, connection.vendor)
    converters = _converters.get(key)
    if converters is None:
        converters = []
        for i, f in enumerate(model._meta.concrete_fields):
            col = f.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            if found:
                converters.append((i, col, found))
        _converters[key] = converters
    if converters:
        row = list(row)
        for i, col, found in converters:
            for convert in found:
                row[i] = convert(row[i], col, connection)
    return row
