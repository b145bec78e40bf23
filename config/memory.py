"""The garbage collector in long-running server processes.

A web, ASGI or Celery process holds a few hundred thousand objects that live
as long as it does: Django, the modules, the URLconf, the matcher's index of
the knowledge base. CPython's oldest-generation collection walks every one
of them: about 130 ms during which no thread of the process runs, so every
request in flight at that moment waits (the p99 of the contact-form API was
that pause). ``gc.freeze()`` moves the objects alive at a settled moment out
of the collector's sight; they are still freed by reference counting, and
``settle`` unfreezes and collects before it freezes again, so a cycle left
by an old matcher is collected at the next settle, never kept for ever.

Server entry points call ``enable()`` once loaded; code that builds a large
long-lived structure (the matcher, once per knowledge-base revision) calls
``settle()`` after it. Both do nothing in other processes (commands), nor
with GC_FREEZE off (the test process: a full collection per knowledge-base
change would only cost time).
"""

import gc
import threading

_lock = threading.Lock()
_enabled = False


def enable(*, urls=True, forked=False):
    """Load what the first requests would load (``urls``: the views too, for
    a process that serves HTTP), freeze it, and settle again after each
    later large build.

    ``forked``: a child of a process that already froze (Celery's prefork
    pool): it only freezes what it made since the fork. Collecting there
    would touch every inherited object and copy the parent's whole heap."""
    from django.conf import settings

    global _enabled
    if not settings.GC_FREEZE:
        return
    already = _enabled
    _enabled = True
    if forked and already:
        gc.freeze()
        return
    warm_up(urls=urls)
    settle()


def warm_up(*, urls=True):
    """What a server process would otherwise load during its first requests
    (a citizen's first submission after a restart took a quarter of a
    second, most of it importing the holiday calendars of every country):
    every view module of the URLconf (``urls``) and this year's and next
    year's French public holidays. A failure here is only a cold start,
    never a crash."""
    import logging

    try:
        from django.urls import get_resolver
        from django.utils import timezone

        from routing.sla import _public_holidays

        if urls:
            get_resolver().url_patterns  # noqa: B018  (imports every view module)
        year = timezone.now().year
        for each in (year, year + 1):
            _public_holidays(each)
    except Exception:
        logging.getLogger(__name__).exception("warming up the process failed; its first requests will be slower")


def settle():
    """Collect everything (frozen objects included), then freeze what is
    left alive: the next collections look only at newer objects."""
    if not _enabled:
        return
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def enabled():
    return _enabled
