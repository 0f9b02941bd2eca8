"""Choosing an executor from the command line's ``--dask`` value (:func:`make_executor`):

1. No value: the local executor with ``jobs`` processes (0 = one per core).
2. ``local:N``: a Dask LocalCluster of N worker processes started here, closed afterwards.
3. Anything else (``tcp://host:8786``, ``tls://...``): the address of a running Dask scheduler.

Kept apart from :mod:`anystab.executors.protocol`, which both implementations import.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from anystab.errors import ConfigError

if TYPE_CHECKING:
    from anystab.executors.protocol import Executor

LOCAL_PREFIX = "local:"
MAX_LOCAL_WORKERS = 4096
_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")


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
