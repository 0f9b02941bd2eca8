"""The whole analysis, composed from the stages (the CLI, monitoring and the Dask runner call this).

Steps:
1. Discover the source files and name their collectors (:func:`anystab.sources.discover`).
2. Read them, in parallel, keeping only elements whose prefix is a target, a more-specific or a
   covering prefix down to ``min_cover`` (filter mode ``any``).
3. Choose the window: the user's, or the data's extent (earliest RIB dump or update-file slot to the end
   of the last update file's slot).
4. Per collector, keep the latest RIB dump at or before the window start, or else its first RIB dump after
   the window start (a collector whose archive starts later), and the update elements at or after that
   dump's time. Later dumps are not used: re-reading a table mid-window would look like routing change.
5. Order elements by time, RIB entries first at equal times, file order kept.
6. Collector gaps from missing update files and from window parts outside the data; before the window,
   the parts between each collector's RIB dump and the window start that no update file covers (the
   update files there, fetched as the warm-up, are replayed so the state at the window start is exact).
7. timeline -> events -> estimates -> per-collector view, and the VPs left out with their reasons
   (:mod:`anystab.coverage`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import pyarrow as pa

from anystab import schemas
from anystab.collectors import collector_view
from anystab.coverage import build_coverage
from anystab.elements import choose_window, files_table, gaps_table, problems_table, select_elements
from anystab.errors import BadInputError, ConfigError
from anystab.estimates import build_estimates
from anystab.events import build_events
from anystab.params import AnalysisParams
from anystab.sources import FileResult, SourceFile, discover, read_files
from anystab.targets import TargetSet
from anystab.timeline import PAIR_KEYS, build_timeline

ProgressCallback = Callable[[int, int], None]
Reader = Callable[[Sequence[SourceFile], TargetSet, int, Callable[[int], None]], list[FileResult]]
VpTables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
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

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: what was read, estimates, sites, least stable VPs, per-collector counts."""
        from anystab.summary import build_summary

        return build_summary(self)


def to_arrow(df: pd.DataFrame, name: str) -> pa.Table:
    schema = schemas.TABLES[name]
    if df.empty:
        return schema.empty_table()
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def analyze(
    request: AnalysisRequest, progress: ProgressCallback | None = None, reader: Reader | None = None
) -> AnalysisResult:
    """Run the whole analysis. Damaged input is reported in the ``problems`` table, not raised.

    ``reader`` reads the discovered files (default: anystab's own MRT reader, in parallel); another
    source (pybgpstream) plugs in here and shares every other step.
    """
    request.validate()
    files = discover(request.sources, request.collector)
    if not files:
        raise BadInputError("no MRT files found in " + ", ".join(request.sources))
    done = [0]

    def tick(n: int = 1) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(files))

    results = (reader or read_files)(files, request.params.targets.with_mode("any"), request.jobs, tick)
    window = choose_window(files, results, request.start, request.end)
    elements = select_elements(files, results, window)
    results = [_counted(r) for r in results]  # the files' tables are in `elements` now
    gaps = gaps_table(files, results, window)
    return run_stages(elements, gaps, request.params, window, files, results)


def _counted(result: FileResult) -> FileResult:
    """The result with its elements table let go: no columns, its row count kept (the FILES table's)."""
    return replace(result, elements=result.elements.select([]))


def run_stages(
    elements: pd.DataFrame,
    gaps: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    files: Sequence[SourceFile] = (),
    results: Sequence[FileResult] = (),
    vp_stage: VpStage | None = None,
) -> AnalysisResult:
    """Stages 7 onwards, on elements already selected and ordered.

    ``vp_stage`` computes the per-VP tables (default :func:`vp_tables`); a distributed runner passes one
    that runs :func:`vp_tables` on groups of VPs elsewhere and joins the parts with :func:`order_vp_tables`.
    """
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


def vp_tables(
    elements: pd.DataFrame, gaps: pd.DataFrame, params: AnalysisParams, window: tuple[float, float]
) -> VpTables:
    """(timeline, events, vp_stats) in canonical order. Each VP depends only on its own elements and its
    collector's gaps, so any split of the VPs gives the same rows once joined by :func:`order_vp_tables`."""
    timeline = _ordered(build_timeline(elements, params, window, gaps), [*PAIR_KEYS, "start"])
    events, vp_stats = build_events(timeline, params)
    return order_vp_tables(timeline, events, vp_stats)


def order_vp_tables(timeline: pd.DataFrame, events: pd.DataFrame, vp_stats: pd.DataFrame) -> VpTables:
    """The per-VP tables in the canonical row order (stable: ties keep a VP's own order)."""
    return (
        _ordered(timeline, [*PAIR_KEYS, "start"]),
        _ordered(events, ["time", *PAIR_KEYS]),
        _ordered(vp_stats, PAIR_KEYS),
    )


def _ordered(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows in a canonical order (stable for ties): results never depend on the order of input files."""
    if df.empty:
        return df
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
