"""Executors: where anystab's parallel stages run, on this machine or on a Dask cluster.

    protocol.py  Executor: map a function over items, results in order
    choose.py    make_executor, parse_dask_spec: an executor from --dask and --jobs
    local.py     LocalExecutor: worker processes here (the per-VP stage; files are read by sources.parallel)
    dask.py      DaskExecutor: a Dask distributed cluster (extra ``anystab[dask]``, imported when asked for)
    plan.py      the work split: files in RIB-aligned slices, VP groups per collector; exact joins

:func:`anystab.pipeline.analyze` takes an executor (``analyze(request, executor=...)``); the results equal
a run without one, table for table and row for row.
"""

from typing import TYPE_CHECKING

from anystab.lazy import lazy_exports

if TYPE_CHECKING:
    from anystab.executors.choose import make_executor, parse_dask_spec
    from anystab.executors.local import LocalExecutor
    from anystab.executors.plan import Slice, plan_slices
    from anystab.executors.protocol import Executor

_WHERE = {
    "Executor": "anystab.executors.protocol",
    "LocalExecutor": "anystab.executors.local",
    "Slice": "anystab.executors.plan",
    "make_executor": "anystab.executors.choose",
    "parse_dask_spec": "anystab.executors.choose",
    "plan_slices": "anystab.executors.plan",
}

__getattr__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "Executor",
    "LocalExecutor",
    "Slice",
    "make_executor",
    "parse_dask_spec",
    "plan_slices",
]
