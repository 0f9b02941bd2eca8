"""The cycle collector run less often while many small objects are made, and as before after."""

from __future__ import annotations

import gc
import weakref

import pytest

from anystab.collect import YOUNG_OBJECTS, fewer_collections


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_thresholds_raised_inside_and_restored_after_also_on_an_error() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(before[0], YOUNG_OBJECTS), *before[1:])
        with fewer_collections():  # nested: still raised, then the outer one's again
            pass
        assert gc.get_threshold()[0] == max(before[0], YOUNG_OBJECTS)
    assert gc.get_threshold() == before
    with pytest.raises(KeyError), fewer_collections():
        raise KeyError("x")
    assert gc.get_threshold() == before


def test_garbage_in_a_cycle_is_still_collected_inside() -> None:
    with fewer_collections():
        gc.collect()  # the youngest generation empty: the cycle below is in it at the next collection
        node = _Node()
        gone = weakref.ref(node)
        del node
        assert gone() is not None  # a cycle outlives its last name
        made = [[] for _ in range(YOUNG_OBJECTS // 2)]
        assert gone() is not None and len(made)  # fewer allocations than a collection waits for
        made += [[] for _ in range(YOUNG_OBJECTS)]
        assert gone() is None
