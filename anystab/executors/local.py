"""The local executor: a pool of worker processes on this machine (the default).

It runs the per-VP stage's groups (:func:`anystab.executors.plan.split_vp_stage`). Files are not read
through it: with the local executor, :class:`~anystab.sources.base.FilesSource` reads them with
:func:`anystab.sources.parallel.read_files` in :attr:`LocalExecutor.jobs` processes, anystab's one local
reader.

Steps of :meth:`LocalExecutor.map`:

1. ``jobs=0`` means one process per core; one worker (or one item) runs in this process, no pool.
2. Otherwise submit every item to a ``ProcessPoolExecutor`` (processes, not threads: mrtparse keeps
   module-level state), call ``progress(i)`` with each item's index as it finishes, and put results
   back in item order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

from anystab.executors.protocol import Progress

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """Processes on this machine; ``jobs=0``: one per core."""

    name = "local"

    def __init__(self, jobs: int = 0) -> None:
        self.jobs = jobs

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)

    def map(self, func: Callable[[T], R], items: Sequence[T], progress: Progress | None = None) -> list[R]:
        workers = max(1, min(self.workers, len(items)))
        if workers == 1:
            results = []
            for i, item in enumerate(items):
                results.append(func(item))
                if progress is not None:
                    progress(i)
            return results
        slots: dict[int, R] = {}
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(func, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                slots[futures[future]] = future.result()
                if progress is not None:
                    progress(futures[future])
        return [slots[i] for i in range(len(items))]

    def close(self) -> None:
        """Nothing to release: each map's pool is closed when it returns."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
