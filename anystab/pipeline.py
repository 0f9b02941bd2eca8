"""The whole analysis, composed from the stages: :func:`analyze` is the one entry point (the command line,
the Dask path, ``--source bgpstream`` and library users all call it).

Steps of :func:`analyze`:

1. Discover the source files and name their collectors (``source.discover``; default
   :class:`~anystab.sources.base.FilesSource`: local paths and URLs).
2. Read them, in parallel, keeping only elements whose prefix is a target, a more-specific or a
   covering prefix down to ``min_cover`` (filter mode ``any``): ``source.read`` on this machine
   (:func:`anystab.sources.parallel.read_files`, ``request.jobs`` processes), or on a Dask executor.
3. The elements stage (:func:`anystab.elements.build_elements`): the window, the RIB dump each collector
   starts from, the elements in order, the collector gaps.
4. The per-VP stages, timeline then events (:func:`anystab.per_vp.vp_tables`): in this process, or with
   an executor, on groups of VPs spread over it (:func:`anystab.executors.plan.split_vp_stage`).
5. :func:`run_stages`: estimates, the per-collector view, the files and problems tables, and the VPs left
   out with their reasons (:mod:`anystab.coverage`).

The monitor (:mod:`anystab.monitor.run`) composes steps 3 to 5 itself over its cached files, because it
carries each VP's walk from one run to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from anystab import schemas
from anystab.collect import fewer_collections
from anystab.collectors import collector_view
from anystab.coverage import build_coverage
from anystab.elements import build_elements, files_table, problems_table
from anystab.errors import BadInputError, ConfigError
from anystab.estimates import build_estimates
from anystab.executors.plan import split_vp_stage
from anystab.params import AnalysisParams
from anystab.per_vp import VpTables, vp_tables
from anystab.sources.archive import SourceFile
from anystab.sources.base import FilesSource
from anystab.sources.heap import give_back_freed_memory
from anystab.sources.mrt import FileResult

if TYPE_CHECKING:
    from anystab.executors.protocol import Executor
    from anystab.sources.base import Source

ProgressCallback = Callable[[int, int], None]
VpStage = Callable[[pd.DataFrame, pd.DataFrame, AnalysisParams, tuple[float, float]], VpTables]


@dataclass(frozen=True)
class AnalysisRequest:
    """What to analyse: sources, window and parameters."""

    sources: tuple[str, ...]
    params: AnalysisParams
    start: float | None = None
    end: float | None = None
    collector: str | None = None
    jobs: int = 0

    def validate(self) -> None:
        self.params.validate()
        if not self.sources:
            raise ConfigError("no sources: name MRT files or folders")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ConfigError("the window's end must be after its start")
        if self.jobs < 0:
            raise ConfigError("--jobs must be 0 (all cores) or more")


@dataclass
class AnalysisResult:
    """Every table of one analysis, as pandas DataFrames with the columns of :mod:`anystab.schemas`."""

    window: tuple[float, float]
    params: AnalysisParams
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pa.Table:
        """One table as Arrow, cast to its schema."""
        return to_arrow(self.tables[name], name)

    def summary(self, frames: bool = False) -> dict[str, Any]:
        """A JSON-ready summary: what was read, estimates, sites, least stable VPs, per-collector counts.
        ``frames``: the longest lists of records kept as columns, for :func:`anystab.output.dumps_indented`
        (:class:`anystab.summary.RecordFrame`)."""
        from anystab.summary import build_summary

        return build_summary(self, frames)


def to_arrow(df: pd.DataFrame, name: str) -> pa.Table:
    schema = schemas.TABLES[name]
    if df.empty:
        return schema.empty_table()
    df = df[schema.names]
    coded = [c for c in schema.names if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if coded:  # as the strings they stand for (the same table and pandas metadata as a string column)
        df = df.assign(**{c: df[c].astype("str") for c in coded})
    return pa.Table.from_pandas(df, schema=schema, preserve_index=False)


def analyze(
    request: AnalysisRequest,
    source: Source | None = None,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Run the whole analysis (see the module docstring). Damaged input is reported in the ``problems``
    table, not raised.

    ``source`` finds and reads the files (default: anystab's own reader); ``executor`` runs the parallel
    stages (default: ``request.jobs`` processes here for reading, the per-VP stages in this process);
    ``progress(done, total)`` counts files read. Every combination gives the same tables.
    """
    request.validate()
    source = source if source is not None else FilesSource()
    files = source.discover(request.sources, request.collector)
    if not files:
        raise BadInputError("no MRT files found in " + ", ".join(request.sources))
    done = [0]

    def tick(n: int = 1) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(files))

    targets = request.params.targets.with_mode("any")
    with fewer_collections():
        results = list(source.read(files, targets, request.jobs, tick, executor))  # its tables handed over
        selection = build_elements(files, results, request.start, request.end, let_go=True)
    give_back_freed_memory()  # the files' tables, now in the selection's elements
    stage = split_vp_stage(executor) if executor is not None else None
    return run_stages(
        selection.elements, selection.gaps, request.params, selection.window, files, results, stage
    )


def run_stages(
    elements: pd.DataFrame,
    gaps: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    files: Sequence[SourceFile] = (),
    results: Sequence[FileResult] = (),
    vp_stage: VpStage | None = None,
) -> AnalysisResult:
    """Steps 4 and 5 of :func:`analyze`, on elements already selected and ordered.

    ``vp_stage`` computes the per-VP tables (default :func:`anystab.per_vp.vp_tables`); an executor's
    (:func:`anystab.executors.plan.split_vp_stage`) runs it on groups of VPs elsewhere and joins the parts.
    """
    with fewer_collections():
        timeline, events, vp_stats = (vp_stage or vp_tables)(elements, gaps, params, window)
        estimates = build_estimates(timeline, events, vp_stats, params, window)
        collector_stats, moas, site_share = collector_view(timeline, events, vp_stats)
    result = AnalysisResult(window, params)
    result.tables = {
        "elements": elements,
        "timeline": timeline,
        "events": events,
        "vp_stats": vp_stats,
        "estimates": estimates,
        "site_share": site_share,
        "collector_stats": collector_stats,
        "moas": moas,
        "files": files_table(files, results),
        "problems": problems_table(results),
        "gaps": gaps,
        "coverage": build_coverage(elements, gaps, vp_stats, window),
    }
    return result
