"""The knowledge base's revision number: bumped by every change (import,
admin edit, and the routing configuration: rules, SLA policies, opening
hours, assignment modes), read by whoever caches something built from them.

``memoised(key, build)`` keeps one value per key for the current revision;
``pinned()`` reads the revision once for a whole operation (an ingestion
reads it once, not once per cache it consults).
"""

import contextlib
import threading

from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from kb.models import Revision

_state = threading.local()
_memo = {}  # key -> (revision, value), shared by the process's threads


def _read():
    with connection.cursor() as cursor:
        cursor.execute(_SELECT)
        row = cursor.fetchone()
    return row[0] if row else 0


_SELECT = f"SELECT value FROM {Revision._meta.db_table} WHERE id = 1"  # noqa: S608 (constant table name)


_BUMP = f"UPDATE {Revision._meta.db_table} SET value = nextval('kb_revision_seq') WHERE id = 1"  # noqa: S608
_CREATE = (
    f"INSERT INTO {Revision._meta.db_table} (id, value) VALUES (1, nextval('kb_revision_seq'))"  # noqa: S608
    " ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value"
)

_UNREAD = object()


def current():
    pinned = getattr(_state, "pinned", None)
    if pinned is None:
        return _read()
    if pinned is _UNREAD:
        pinned = _state.pinned = _read()
    return pinned


def select_along(cursor, expression, params=()):
    """``SELECT expression`` on ``cursor``, reading the pinned revision in
    the same round trip when it is still unread (an ingestion that takes a
    reference number then routes reads both at once)."""
    if getattr(_state, "pinned", None) is _UNREAD:
        cursor.execute(f"SELECT {expression}, ({_SELECT})", params)  # noqa: S608 (our own expression)
        value, revision = cursor.fetchone()
        _state.pinned = revision or 0
        return value
    cursor.execute(f"SELECT {expression}", params)  # noqa: S608
    return cursor.fetchone()[0]


def bump():
    """A new revision number. On PostgreSQL it comes from a sequence, which
    a rollback does not undo: a change rolled back after something was
    memoised under its number inside its transaction leaves that number
    unused for ever, so the memoised value can never be taken for a later
    revision's (with ``value + 1`` the next change would get it again)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_BUMP)
            if cursor.rowcount == 0:
                cursor.execute(_CREATE)
    else:
        with transaction.atomic():
            if not Revision.objects.filter(pk=1).update(value=F("value") + 1):
                Revision.objects.get_or_create(pk=1, defaults={"value": 1})
    if getattr(_state, "pinned", None) is not None:
        _state.pinned = _UNREAD


@contextlib.contextmanager
def pinned():
    """Read the revision at most once for everything inside, when first
    needed (a bump inside makes the next read fresh)."""
    if getattr(_state, "pinned", None) is not None:
        yield
        return
    _state.pinned = _UNREAD
    try:
        yield
    finally:
        _state.pinned = None


def memoised(key, build, keep_misses=True):
    """``build()``, computed once per revision in this process and kept under
    ``key`` (which names what it is and for whom, e.g. ("rules", org_id)).
    ``keep_misses=False`` for keys that come from outside (URLs): a None is
    not kept, so unknown keys cannot grow the memo."""
    revision = current()
    hit = _memo.get(key)
    if hit is not None and hit[0] == revision:
        return hit[1]
    value = build()
    if value is not None or keep_misses:
        _memo[key] = (revision, value)
    return value


def forget():
    """Drop every memoised value (tests: each test's database starts over)."""
    _memo.clear()


@contextlib.contextmanager
def suspended():
    """Changes inside do not bump the revision one by one; append anything to
    the yielded list to bump it once at the end."""
    changes = []
    previous = getattr(_state, "suspended", False)
    _state.suspended = True
    try:
        yield changes
    finally:
        _state.suspended = previous
    if changes:
        bump()


def _on_change(sender, **kwargs):
    if sender is Revision or kwargs.get("raw") or getattr(_state, "suspended", False):
        return
    update_fields = kwargs.get("update_fields")
    if update_fields and set(update_fields) <= IGNORED_FIELDS.get(sender._meta.label, set()):
        return  # bookkeeping only (e.g. a round-robin cursor): nothing cached changed
    bump()


# Saves of only these fields change nothing that is cached.
IGNORED_FIELDS = {
    "routing.ServiceRouting": {"cursor"},
    "mail.Mailbox": {"uidvalidity", "last_uid", "last_checked_at", "last_error"},
}
# Models of other apps whose changes count as knowledge-base changes (what
# routing and acknowledgements read through ``memoised``).
ROUTING_MODELS = (
    "routing.Rule",
    "routing.SlaPolicy",
    "routing.BusinessHours",
    "routing.ServiceRouting",
    "channels_app.SmsSettings",
    "channels_app.Widget",
    "channels_app.Branding",
    "mail.Mailbox",
)


def connect():
    from django.apps import apps

    for model in apps.get_app_config("kb").get_models():
        if model is Revision:
            continue
        post_save.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-delete-{model.__name__}")
    m2m_changed.connect(_on_change, sender=apps.get_model("kb", "ReplyTemplate").topics.through)
    for label in ROUTING_MODELS:
        if apps.is_installed(label.split(".")[0]):
            model = apps.get_model(label)
            post_save.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-save-{label}")
            post_delete.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-delete-{label}")
