"""The executor interface: where the analysis' parallel steps run.

An executor maps a picklable function over a list of picklable items and returns the results in the
order of the items, whatever order they finish in; ``progress(i)`` is called with each item's index
as it finishes.
Two implementations: :class:`anystab.executors.local.LocalExecutor` (processes on this machine, the
default) and :class:`anystab.executors.dask.DaskExecutor` (a Dask distributed cluster). The runner
(:mod:`anystab.executors.runner`) only uses this interface, so both give the same tables.

Choosing one from the command line's ``--dask`` value (:func:`make_executor`):

1. No value: the local executor with ``jobs`` processes (0 = one per core).
2. ``local:N``: a Dask LocalCluster of N worker processes started here, closed afterwards.
3. Anything else (``tcp://host:8786``, ``tls://...``): the address of a running Dask scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from anystab.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")
LOCAL_PREFIX = "local:"
MAX_LOCAL_WORKERS = 4096
_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")

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


def parse_dask_spec(spec: str) -> tuple[str, Any]:
    """``("local", N)`` for ``local:N``, ``("address", text)`` for a scheduler address; else ConfigError."""
    text = spec.strip()
    if text.startswith(LOCAL_PREFIX):
        count = text[len(LOCAL_PREFIX) :]
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ConfigError(f"--dask {spec!r}: local:N needs a worker count N of 1 or more")
        return "local", int(count)
    if not _ADDRESS.match(text):
        raise ConfigError(
            f"--dask {spec!r}: give a scheduler address such as tcp://scheduler:8786, or local:N"
        )
    return "address", text


def make_executor(dask: str | None = None, jobs: int = 0) -> Executor:
    """The local executor, or a Dask one for ``dask`` (see the module docstring)."""
    if dask is None:
        from anystab.executors.local import LocalExecutor

        return LocalExecutor(jobs)
    from anystab.executors.dask import DaskExecutor

    kind, value = parse_dask_spec(dask)
    return DaskExecutor.local(value) if kind == "local" else DaskExecutor.connect(value)
