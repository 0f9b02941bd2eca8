"""The analysis on an executor: the pipeline's steps, with its two parallel stages spread out.

Steps of :func:`analyze_on`:

1. Discover local paths and URLs (:func:`anystab.executors.remote.discover_sources`).
2. Stage one on the executor (:func:`read_all`): batches of files, largest first
   (:func:`~anystab.executors.plan.read_batches`); results in discovery order (``progress(done, total)``
   as batches finish).
3. On this machine, with the pipeline's own functions: the window, the RIB dump each collector starts
   from and the ordered elements, and the gaps table.
4. Stage two on the executor: per-VP tables for groups of VPs (:func:`~anystab.executors.plan.vp_tasks`),
   joined in canonical order; estimates and the per-collector view are then computed once on the joined
   tables by :func:`anystab.pipeline.run_stages`, so every table equals a single-machine run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from anystab.elements import choose_window, gaps_table, select_elements
from anystab.errors import BadInputError
from anystab.executors.plan import (
    PARTS_PER_WORKER,
    ReadTask,
    join_vp_tables,
    read_batches,
    read_files_task,
    run_vp_task,
    vp_tasks,
)
from anystab.executors.protocol import Executor
from anystab.executors.remote import discover_sources
from anystab.params import AnalysisParams
from anystab.pipeline import (
    AnalysisRequest,
    AnalysisResult,
    VpTables,
    run_stages,
    vp_tables,
)
from anystab.sources import FileResult, SourceFile
from anystab.targets import TargetSet

ProgressCallback = Callable[[int, int], None]


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


def read_all(
    files: Sequence[SourceFile],
    targets: TargetSet,
    executor: Executor,
    progress: ProgressCallback | None = None,
) -> list[FileResult]:
    """Stage one: every file read on ``executor`` in batches; results in the order of ``files``."""
    batches = read_batches(files, executor.workers)
    done = [0]

    def tick(index: int) -> None:
        done[0] += len(batches[index])
        if progress:
            progress(done[0], len(files))

    tasks = [ReadTask(tuple(files[i] for i in batch), targets) for batch in batches]
    slots: dict[int, FileResult] = {}
    for batch, read in zip(batches, executor.map(read_files_task, tasks, tick), strict=True):
        slots.update(zip(batch, read, strict=True))
    return [slots[i] for i in range(len(files))]


def analyze_on(
    request: AnalysisRequest, executor: Executor, progress: ProgressCallback | None = None
) -> AnalysisResult:
    """Run the whole analysis with both parallel stages on ``executor`` (see the module docstring)."""
    request.validate()
    files = discover_sources(request.sources, request.collector)
    if not files:
        raise BadInputError("no MRT files found in " + ", ".join(request.sources))
    results = read_all(files, request.params.targets.with_mode("any"), executor, progress)
    window = choose_window(files, results, request.start, request.end)
    elements = select_elements(files, results, window)
    gaps = gaps_table(files, results, window)
    stage = split_vp_stage(executor)
    return run_stages(elements, gaps, request.params, window, files, results, vp_stage=stage)
