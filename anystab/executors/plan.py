"""How the work is split on an executor: stage one per file in RIB-aligned slices, stage two per collector
and VP group. :func:`anystab.pipeline.analyze` runs stage one through :func:`read_on` on a Dask cluster
(on this machine, :mod:`anystab.sources.parallel` reads instead) and stage two through
:func:`split_vp_stage` on any executor it is given.

Stage one (scan and extract, :class:`ReadTask`):

1. Per collector, order the files by the time their names give and cut them into slices at each RIB
   dump: a slice is a RIB dump and the update files up to the next dump (:func:`plan_slices`); update
   files before a collector's first dump form a slice without a RIB.
2. Files are taken largest first (RIB dumps, then by size on disk where it can be told) and dealt into
   tasks of consecutive files of about ``total / (workers x TASKS_PER_WORKER)`` bytes (:func:`read_batches`):
   big files alone, small ones together, so per-task overhead stays small, and the many tasks of shrinking
   size leave no worker with a big file at the end. Results are put back in discovery order.
3. Elements of a slice are extracted independently of every other slice: a file's elements depend only on
   its own bytes and the targets.

Route state across slice edges: stage two never starts a VP from a slice's RIB. It walks each VP's ordered
elements of all slices from the RIB dump the pipeline chose (the latest at or before the window start) to
the window's end, so state is carried across every slice edge exactly as on one machine; later dumps
mark slice edges for scheduling only (re-reading a table mid-window would look like routing change).

Stage two (per-VP route state and events, :class:`VpTask`):

1. A VP's timeline depends on its own elements and its collector's gaps alone, so VPs are independent.
2. Group VPs by collector; split a collector into several groups (VPs dealt round-robin in VP order) when
   there are fewer collectors than :data:`PARTS_PER_WORKER` x workers; each group takes its collector's
   gaps and its VPs' elements in the pipeline's order.
3. Each group runs :func:`anystab.per_vp.vp_tables`; :func:`join_vp_tables` concatenates the parts and
   orders them with :func:`anystab.per_vp.order_vp_tables`, which gives the rows of a single run;
   estimates and the per-collector view are then computed once on the joined tables by
   :func:`anystab.pipeline.run_stages`, so every table equals a single-machine run's.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from anystab.executors.protocol import Executor
from anystab.params import AnalysisParams
from anystab.per_vp import VpTables, order_vp_tables, vp_tables
from anystab.sources.archive import SourceFile, is_url
from anystab.sources.mrt import FileResult
from anystab.sources.remote import read_source
from anystab.targets import TargetSet

PARTS_PER_WORKER = 2
TASKS_PER_WORKER = 32
VP_COLUMNS = ["collector", "peer_asn", "peer_ip"]
_DECODE_LOCK = threading.Lock()  # mrtparse keeps module-level state: one decode per process at a time


@dataclass(frozen=True)
class Slice:
    """Files of one collector from a RIB dump (``rib``; None before the first one) to the next."""

    collector: str
    rib: SourceFile | None
    files: tuple[SourceFile, ...]


@dataclass(frozen=True)
class ReadTask:
    """Stage one for a batch of files."""

    files: tuple[SourceFile, ...]
    targets: TargetSet


@dataclass(frozen=True)
class VpTask:
    """Stage two for one group of VPs."""

    elements: pd.DataFrame
    gaps: pd.DataFrame
    params: AnalysisParams
    window: tuple[float, float]


def _time_order(f: SourceFile) -> tuple[bool, float, int, str]:
    return f.name_time is None, f.name_time or 0.0, 0 if f.name_kind == "rib" else 1, f.path


def plan_slices(files: Sequence[SourceFile]) -> list[Slice]:
    """Per collector (sorted), the files cut into slices at each RIB dump, in time order."""
    slices: list[Slice] = []
    for collector in sorted({f.collector for f in files}):
        current: list[SourceFile] = []
        rib: SourceFile | None = None
        for f in sorted((f for f in files if f.collector == collector), key=_time_order):
            if f.name_kind == "rib" and (current or rib is not None):
                slices.append(Slice(collector, rib, tuple(current)))
                current, rib = [], None
            if f.name_kind == "rib":
                rib = f
            else:
                current.append(f)
        if current or rib is not None:
            slices.append(Slice(collector, rib, tuple(current)))
    return slices


def _size(f: SourceFile) -> int:
    if is_url(f.path):
        return 0
    try:
        return os.path.getsize(f.path)
    except OSError:
        return 0


def read_order(files: Sequence[SourceFile]) -> list[int]:
    """Indexes of ``files`` in submission order: RIB dumps first, then larger files first."""
    return sorted(range(len(files)), key=lambda i: (files[i].name_kind != "rib", -_size(files[i]), i))


def read_batches(files: Sequence[SourceFile], workers: int) -> list[list[int]]:
    """Indexes of ``files`` in batches, in submission order (see the module docstring)."""
    order = read_order(files)
    sizes = {i: max(_size(files[i]), 1) for i in order}
    target = sum(sizes.values()) / max(1, workers * TASKS_PER_WORKER)
    batches: list[list[int]] = []
    filled = 0.0
    for i in order:
        if not batches or filled >= target:
            batches.append([])
            filled = 0.0
        batches[-1].append(i)
        filled += sizes[i]
    return batches


def read_files_task(task: ReadTask) -> list[FileResult]:
    """Stage one for a batch of files (runs on a worker)."""
    with _DECODE_LOCK:
        return [read_source(f, task.targets) for f in task.files]


def vp_groups(elements: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    """Elements split into at most about ``parts`` groups of whole VPs of one collector, order kept."""
    if elements.empty:
        return []
    collectors = sorted(elements["collector"].unique())
    per_collector = max(1, math.ceil(parts / len(collectors)))
    groups = []
    for collector in collectors:
        mine = elements[elements["collector"] == collector]
        vps = mine[VP_COLUMNS].drop_duplicates().sort_values(VP_COLUMNS, kind="stable")
        deal = {tuple(vp): i % per_collector for i, vp in enumerate(vps.itertuples(index=False))}
        labels = [deal[tuple(row)] for row in mine[VP_COLUMNS].itertuples(index=False)]
        for _, part in mine.groupby(labels, sort=True):
            groups.append(part.reset_index(drop=True))
    return groups


def vp_tasks(
    elements: pd.DataFrame,
    gaps: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    parts: int,
) -> list[VpTask]:
    """One :class:`VpTask` per VP group, each with its collector's gaps."""
    tasks = []
    for group in vp_groups(elements, parts):
        collector = group["collector"].iloc[0]
        mine = gaps[gaps["collector"] == collector].reset_index(drop=True) if not gaps.empty else gaps
        tasks.append(VpTask(group, mine, params, window))
    return tasks


def run_vp_task(task: VpTask) -> VpTables:
    """Stage two for one VP group (runs on a worker)."""
    return vp_tables(task.elements, task.gaps, task.params, task.window)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    full = [f for f in frames if not f.empty]
    if not full:
        return frames[0]
    return pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]


def join_vp_tables(parts: Sequence[VpTables]) -> VpTables:
    """The parts' timeline, events and vp_stats, joined in the canonical order of a single run."""
    timeline = _concat([p[0] for p in parts])
    events = _concat([p[1] for p in parts])
    vp_stats = _concat([p[2] for p in parts])
    return order_vp_tables(timeline, events, vp_stats)


def read_on(
    executor: Executor,
    files: Sequence[SourceFile],
    targets: TargetSet,
    progress: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Stage one: every file read on ``executor`` in batches (:func:`read_batches`); results in the order
    of ``files``; ``progress(n)`` as each batch of ``n`` files is done."""
    batches = read_batches(files, executor.workers)

    def tick(index: int) -> None:
        if progress:
            progress(len(batches[index]))

    tasks = [ReadTask(tuple(files[i] for i in batch), targets) for batch in batches]
    slots: dict[int, FileResult] = {}
    for batch, read in zip(batches, executor.map(read_files_task, tasks, tick), strict=True):
        slots.update(zip(batch, read, strict=True))
    return [slots[i] for i in range(len(files))]


def split_vp_stage(executor: Executor) -> Callable[..., VpTables]:
    """A ``vp_stage`` for :func:`anystab.pipeline.run_stages` that runs VP groups on ``executor``."""

    def stage(
        elements: pd.DataFrame, gaps: pd.DataFrame, params: AnalysisParams, window: tuple[float, float]
    ) -> VpTables:
        tasks = vp_tasks(elements, gaps, params, window, executor.workers * PARTS_PER_WORKER)
        if len(tasks) <= 1:
            return vp_tables(elements, gaps, params, window)
        return join_vp_tables(executor.map(run_vp_task, tasks))

    return stage
