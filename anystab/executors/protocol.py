"""The executor interface: where the analysis' parallel steps run.

An executor maps a picklable function over a list of picklable items and returns the results in the
order of the items, whatever order they finish in; ``progress(i)`` is called with each item's index
as it finishes.
Two implementations: :class:`anystab.executors.local.LocalExecutor` (processes on this machine, the
default) and :class:`anystab.executors.dask.DaskExecutor` (a Dask distributed cluster). The work split
(:mod:`anystab.executors.plan`) only uses this interface, so both give the same tables.

:mod:`anystab.executors.choose` picks one from the command line's ``--dask`` and ``--jobs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Progress = Callable[[int], None]


class Executor(Protocol):
    """Runs a function over items somewhere, results in item order."""

    name: str

    @property
    def workers(self) -> int:
        """How many tasks can run at once (used to size the work split)."""
        ...

    def map(self, func: Callable[[T], R], items: Sequence[T], progress: Progress | None = None) -> list[R]:
        """``[func(item) for item in items]``, computed in parallel; an error in any item is raised."""
        ...

    def close(self) -> None:
        """Release what the executor started (processes, a local cluster); idempotent."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...
