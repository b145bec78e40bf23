"""The knowledge base's revision number: bumped by every change (import,
admin edit), read by whoever caches something built from the knowledge base."""

import contextlib
import threading

from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from kb.models import Revision


def current():
    return Revision.objects.values_list("value", flat=True).filter(pk=1).first() or 0


def bump():
    with transaction.atomic():
        if not Revision.objects.filter(pk=1).update(value=F("value") + 1):
            Revision.objects.get_or_create(pk=1, defaults={"value": 1})


_state = threading.local()


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
    bump()


def connect():
    from django.apps import apps

    for model in apps.get_app_config("kb").get_models():
        if model is Revision:
            continue
        post_save.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"kb-revision-delete-{model.__name__}")
    m2m_changed.connect(_on_change, sender=apps.get_model("kb", "ReplyTemplate").topics.through)
