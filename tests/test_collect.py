"""The cycle collector run less often while many small objects are made, and as before after; modules
imported for good without it, then frozen."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from anystab.collect import YOUNG_OBJECTS, fewer_collections, import_for_good


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


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """What a test freezes goes back to the collector's oldest generation after it."""
    yield
    gc.unfreeze()


def test_modules_imported_for_good_are_imported_without_the_collector_then_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    (tmp_path / "made_for_good.py").write_text("import gc\nCOLLECTING = gc.isenabled()\nALIVE = [_ := []]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    alive = [[] for _ in range(1000)]  # alive before: frozen too
    gc.unfreeze()
    assert gc.isenabled()
    import_for_good("made_for_good")
    module = sys.modules["made_for_good"]
    assert module.COLLECTING is False  # the collector was off while the module ran
    assert gc.isenabled()  # and back on after
    assert gc.get_freeze_count() >= len(alive)
    assert not any(o is module.ALIVE or o is alive for o in gc.get_objects())  # no generation holds them
    gc.collect()
    assert gc.get_freeze_count() >= len(alive)  # a full collection leaves the frozen objects alone


def test_a_collector_that_was_off_stays_off_and_an_import_error_still_restores_it(
    unfrozen: None,
) -> None:
    gc.disable()
    try:
        import_for_good("json")
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ModuleNotFoundError):
        import_for_good("anystab_no_such_module")
    assert gc.isenabled()
