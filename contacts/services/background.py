"""What follows a commit without holding up whoever committed.

Live pushes to the Redis channel layer and Celery dispatches of outbox rows
are handed to one daemon thread per process. It gathers what arrives within
``GATHER_SECONDS`` of the first item and hands each kind's items to its
handler at once: a burst of ingestions costs one channel-layer message per
group and one Celery message for all their rows, instead of one of each per
ingestion (and no new event loop nor Redis connection per push).

What the thread has not run when the process dies is recoverable by design:
a missed live push is a stale page until the next one, and an outbox row not
dispatched stays queued for the sweeper. ``flush`` waits for what was handed
over (at exit, and in tests).
"""

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import threading
import time

logger = logging.getLogger(__name__)

GATHER_SECONDS = 0.01

_handlers = {}  # kind -> function(items, loop)


def handler(kind):
    """Register ``function(items, loop)`` for the items submitted under
    ``kind``; ``loop`` is the thread's own event loop, for async clients."""

    def register(function):
        _handlers[kind] = function
        return function

    return register


class _Worker:
    def __init__(self):
        self._reset()

    def _reset(self):
        """A fresh state: at start, and in a forked child (which inherits
        the parent's objects, perhaps a held lock, but not its thread)."""
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._open = threading.Event()
        self._open.set()
        self._queue = None
        self._thread = None
        self._pending = 0

    def _ensure_thread(self):
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    if self._thread is not None:
                        logger.error("the after-commit thread had stopped; starting it again")
                    self._queue = self._queue or queue.SimpleQueue()
                    self._thread = threading.Thread(target=self._run, args=(self._queue,), name="after-commit")
                    self._thread.daemon = True
                    self._thread.start()
        return self._queue

    def submit(self, kind, item):
        """Hand ``item`` to the handler of ``kind``, soon, on the thread."""
        work = self._ensure_thread()
        with self._lock:
            self._pending += 1
        work.put((kind, item))

    def _run(self, work):
        loop = asyncio.new_event_loop()
        while True:
            batch = [work.get()]
            try:
                self._open.wait()
                time.sleep(GATHER_SECONDS)  # let a burst gather
                while True:
                    try:
                        batch.append(work.get_nowait())
                    except queue.Empty:
                        break
                by_kind = {}
                for kind, item in batch:
                    by_kind.setdefault(kind, []).append(item)
                for kind, items in by_kind.items():
                    try:
                        _handlers[kind](items, loop)
                    except BaseException:  # a cancelled Redis call included: the thread goes on
                        logger.exception("after-commit %s work failed (%d items)", kind, len(items))
            finally:
                with self._lock:
                    self._pending -= len(batch)
                    if self._pending == 0:
                        self._idle.notify_all()

    def flush(self, timeout=10.0):
        """Wait until everything handed over has run; False on timeout."""
        if self._thread is None or not self._thread.is_alive():
            return self._pending == 0
        self._open.set()
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    @contextlib.contextmanager
    def held(self):
        """Nothing is handed to the handlers inside (tests: a burst gathered
        whatever the machine's speed); everything after."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()


_worker = _Worker()
submit = _worker.submit
flush = _worker.flush
held = _worker.held
atexit.register(flush, 5.0)
os.register_at_fork(after_in_child=_worker._reset)
