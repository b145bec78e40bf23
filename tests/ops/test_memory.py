"""Server processes freeze what they loaded out of the garbage collector's
sight, without keeping garbage for ever (config.memory)."""

import gc
import weakref

import pytest

from config import memory


class Node:
    def __init__(self):
        self.other = self  # a reference cycle: only the collector frees it


@pytest.fixture
def frozen_process(settings):
    settings.GC_FREEZE = True
    yield
    memory._enabled = False
    gc.unfreeze()


def test_enable_freezes_what_is_loaded(frozen_process):
    memory.enable()

    assert memory.enabled()
    assert gc.get_freeze_count() > 1000  # Django and the project, at least


def test_garbage_frozen_once_is_collected_at_the_next_settle(frozen_process):
    node = Node()
    alive = weakref.ref(node)
    memory.enable()  # the cycle is alive: frozen with the rest
    del node
    gc.collect()
    assert alive() is not None  # frozen: the ordinary collections skip it

    memory.settle()

    assert alive() is None


def test_a_new_matcher_is_settled(frozen_process, organisation):
    from routing.matcher import get_matcher, reset_cache

    memory.enable()
    gc.unfreeze()
    reset_cache()

    get_matcher()

    assert gc.get_freeze_count() > 0


def test_off_with_the_setting(settings):
    settings.GC_FREEZE = False
    gc.unfreeze()

    memory.enable()
    memory.settle()

    assert not memory.enabled()
    assert gc.get_freeze_count() == 0


def test_warm_up_loads_the_holiday_calendars():
    from django.utils import timezone

    from routing.sla import _public_holidays

    _public_holidays.cache_clear()
    memory.warm_up()

    assert _public_holidays.cache_info().currsize >= 2
    assert any(day.month == 7 and day.day == 14 for day in _public_holidays(timezone.now().year))


def test_a_forked_child_only_freezes_what_it_made(frozen_process, monkeypatch):
    memory.enable()  # the parent, before the fork
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or 0)
    made_after_fork = Node()
    before = gc.get_freeze_count()

    memory.enable(forked=True)

    assert collections == []  # collecting would copy the inherited heap
    assert gc.get_freeze_count() > before
    assert made_after_fork.other is made_after_fork
