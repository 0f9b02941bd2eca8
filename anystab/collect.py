"""Python's cycle collector, run less often while anystab makes many small objects that hold no cycles.

Each collection of the youngest generation walks the containers made since the last one, each full
collection every container alive; reading, the stages, the summary and a service file of thousands of
targets make hundreds of thousands of small lists, tuples and dicts, and with 10,000 targets the
collector took about 0.4 s of the analysis. Inside :func:`fewer_collections` the youngest generation is
collected every :data:`YOUNG_OBJECTS` allocations instead of Python's 700 (the thresholds are restored
after); garbage in a cycle is still collected, a little later.

:func:`import_for_good` imports the modules a command line process keeps until it exits (pandas, pyarrow
and the stages) with the collector off, then freezes what is alive, so that no later collection walks it.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_OBJECTS = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the youngest generation every :data:`YOUNG_OBJECTS` allocations inside (not fewer than
    before); the previous thresholds are restored after."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], YOUNG_OBJECTS), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def import_for_good(*names: str) -> None:
    """Import the modules ``names`` with the cycle collector off, then freeze every object alive
    (:func:`gc.freeze`: left out of every later collection), and turn the collector back on if it was.

    For a process that keeps these modules until it exits, as a command does: importing pandas with
    numpy and pyarrow makes about 100,000 objects the collector tracks, none of them ever garbage,
    and the collector walked them again and again as they aged (about 40 ms of a 0.27 s import, 60 ms
    with a service file's 10,000 targets alive). Objects alive now (the command's parameters, its
    targets) are frozen too; garbage in a cycle among them would never be collected, so a library
    call keeps to :func:`fewer_collections`."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
