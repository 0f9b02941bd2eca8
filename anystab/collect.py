"""Python's cycle collector, run less often while anystab makes many small objects that hold no cycles.

Each collection of the youngest generation walks the containers made since the last one, each full
collection every container alive; reading, the stages, the summary and a service file of thousands of
targets make hundreds of thousands of small lists, tuples and dicts, and with 10,000 targets the
collector took about 0.4 s of the analysis. Inside :func:`fewer_collections` the youngest generation is
collected every :data:`YOUNG_OBJECTS` allocations instead of Python's 700 (the thresholds are restored
after); garbage in a cycle is still collected, a little later.
"""

from __future__ import annotations

import gc
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
