"""The analysis on an executor: the pipeline's steps, with its two parallel stages spread out.

Steps of :func:`analyze_on`:

1. Discover local paths and URLs (:func:`anystab.executors.remote.discover_sources`).
2. Stage one on the executor: one :class:`~anystab.executors.plan.ReadTask` per file, largest first;
   results in discovery order (``progress(done, total)`` as files finish).
3. On this machine, with the pipeline's own functions: the window, the RIB dump each collector starts
   from and the ordered elements, and the gaps table.
4. Stage two on the executor: per-VP tables for groups of VPs (:func:`~anystab.executors.plan.vp_tasks`),
   joined in canonical order; estimates and the per-collector view are then computed once on the joined
   tables by :func:`anystab.pipeline.run_stages`, so every table equals a single-machine run's.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from anystab.errors import BadInputError
from anystab.executors.plan import (
    PARTS_PER_WORKER,
    ReadTask,
    join_vp_tables,
    read_file,
    read_order,
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
    choose_window,
    gaps_table,
    run_stages,
    select_elements,
    vp_tables,
)

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


def analyze_on(
    request: AnalysisRequest, executor: Executor, progress: ProgressCallback | None = None
) -> AnalysisResult:
    """Run the whole analysis with both parallel stages on ``executor`` (see the module docstring)."""
    request.validate()
    files = discover_sources(request.sources, request.collector)
    if not files:
        raise BadInputError("no MRT files found in " + ", ".join(request.sources))
    targets = request.params.targets.with_mode("any")
    order = read_order(files)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(files))

    read = executor.map(read_file, [ReadTask(files[i], targets) for i in order], tick)
    results = [r for _, r in sorted(zip(order, read, strict=True), key=lambda pair: pair[0])]
    window = choose_window(files, results, request.start, request.end)
    elements = select_elements(files, results, window[0])
    gaps = gaps_table(files, results, window)
    stage = split_vp_stage(executor)
    return run_stages(elements, gaps, request.params, window, files, results, vp_stage=stage)
