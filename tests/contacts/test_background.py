"""The after-commit thread: it gathers, survives what its handlers raise,
and a forked child starts its own."""

import asyncio
import os

from contacts.services import background


def test_a_burst_is_handed_over_at_once_and_a_failure_does_not_stop_the_thread(monkeypatch):
    seen = []

    def record(items, loop):
        seen.append(list(items))

    def cancelled(items, loop):
        raise asyncio.CancelledError  # a BaseException, as a Redis client may raise

    monkeypatch.setitem(background._handlers, "test-record", record)
    monkeypatch.setitem(background._handlers, "test-cancelled", cancelled)
    with background.held():
        for i in range(3):
            background.submit("test-record", i)
        background.submit("test-cancelled", None)
    assert background.flush(10)
    assert seen == [[0, 1, 2]]

    background.submit("test-record", "after")
    assert background.flush(10)
    assert seen[-1] == ["after"]


def test_a_forked_child_starts_its_own_thread(monkeypatch):
    monkeypatch.setitem(background._handlers, "test-noop", lambda items, loop: None)
    background.submit("test-noop", 1)
    assert background.flush(10)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is not here; its own runs
        try:
            background.submit("test-noop", 2)
            os.write(write, b"1" if background.flush(10) else b"0")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
