"""The Dask executor: the same map, on a Dask distributed cluster (optional extra ``anystab[dask]``).

Steps:

1. Import ``distributed`` only when a Dask executor is asked for; when it is missing, raise
   :class:`SourceUnavailableError` with :data:`INSTALL_HINT`.
2. ``local:N`` starts a LocalCluster of N worker processes with one thread each (mrtparse keeps
   module-level state; the reading task also holds a per-process lock, so workers started elsewhere with
   more threads stay correct) and its dashboard on a free port of 127.0.0.1; an address connects to a
   running scheduler.
3. :meth:`DaskExecutor.map` scatters the items to the workers (large ones, such as a group's elements,
   would otherwise bloat the task graph) and submits one task per item (``pure=False``: every item is
   computed, never taken from a cache of an earlier run), calls ``progress(i)`` with each item's index as it
   finishes, and
   puts results back in item order. The first failed task cancels the rest and its exception is raised
   here as it was raised on the worker (anystab's own errors keep their type).
4. :meth:`DaskExecutor.close` closes the client, and the cluster when this executor started it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from anystab.errors import SourceUnavailableError
from anystab.executors.protocol import Progress
from anystab.text import pip_install

T = TypeVar("T")
R = TypeVar("R")
INSTALL_HINT = f"--dask needs dask[distributed] and fsspec: {pip_install('dask')}"
CONNECT_TIMEOUT_S = 20
THREADS_PER_WORKER = 1
LOCAL_DASHBOARD = "127.0.0.1:0"  # any free port: a fixed one may be taken by another cluster


def import_distributed() -> Any:
    """The ``distributed`` module, or :class:`SourceUnavailableError` with :data:`INSTALL_HINT`."""
    try:
        import distributed
    except ImportError as exc:
        raise SourceUnavailableError(f"{INSTALL_HINT} (import failed: {exc})") from None
    return distributed


class DaskExecutor:
    """A Dask distributed client; closes the LocalCluster it started, never a cluster it joined."""

    name = "dask"

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster
        self._closed = False

    @classmethod
    def local(cls, workers: int) -> DaskExecutor:
        """Start a LocalCluster of ``workers`` processes on this machine."""
        distributed = import_distributed()
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=THREADS_PER_WORKER,
            processes=True,
            dashboard_address=LOCAL_DASHBOARD,
        )
        return cls(distributed.Client(cluster), cluster)

    @classmethod
    def connect(cls, address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> DaskExecutor:
        """Join the scheduler at ``address`` (``tcp://host:8786``), waiting at most ``timeout_s``."""
        distributed = import_distributed()
        try:
            client = distributed.Client(address, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as exc:
            raise SourceUnavailableError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        return cls(client)

    @property
    def workers(self) -> int:
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def map(self, func: Callable[[T], R], items: Sequence[T], progress: Progress | None = None) -> list[R]:
        if not items:
            return []
        distributed = import_distributed()
        token = uuid.uuid4().hex[:12]
        name = getattr(func, "__name__", "task")
        keys = [f"anystab-{name}-{token}-{i}" for i in range(len(items))]
        data = self.client.scatter(list(items), hash=False)  # items travel as data, not in the task graph
        futures = self.client.map(func, data, key=keys, pure=False)
        where = {f.key: i for i, f in enumerate(futures)}
        slots: dict[int, R] = {}
        try:
            for future in distributed.as_completed(futures):
                slots[where[future.key]] = future.result()
                if progress is not None:
                    progress(where[future.key])
        finally:
            self.client.cancel([f for f in futures if not f.done()])
        return [slots[i] for i in range(len(items))]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
