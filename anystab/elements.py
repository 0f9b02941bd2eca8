"""The elements stage: which elements of the files read the later stages see, in which order, and
where each collector is unobserved.

Steps (:func:`build_elements` runs 1 to 4 on one source's files and results):

1. Choose the window (:func:`choose_window`): the user's, or the data's extent (earliest RIB dump or
   update-file slot to the end of the last update file's slot).
2. Per collector, keep the latest RIB dump at or before the window start, or else its first RIB dump after
   the window start (a collector whose archive starts later), and the update elements at or after that
   dump's time (:func:`rib_times`). Later dumps are not used: re-reading a table mid-window would look
   like routing change.
3. Order elements by time, RIB entries first at equal times, file order kept (:func:`select_elements`).
4. Collector gaps (:func:`gaps_table`), the one place where "a collector is unobserved" becomes a table:
   from missing update files and from window parts outside the data, and before the window, the parts
   between each collector's RIB dump and the window start that no update file covers (the update files
   there, fetched as the warm-up, are replayed so the state at the window start is exact). Which
   intervals no file covers is told by the archive listing (:func:`anystab.sources.missing_intervals`,
   :func:`anystab.sources.warm_up_holes`); the timeline reads the table back per collector
   (:func:`anystab.timeline.collector_gaps`).
5. The FILES and PROBLEMS tables: what each file gave, and what could not be read
   (:func:`files_table`, :func:`problems_table`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from anystab import schemas
from anystab.errors import BadInputError, ConfigError
from anystab.frames import to_frame
from anystab.sources import FileResult, SourceFile, expected_cadence, missing_intervals, warm_up_holes
from anystab.sources.mrt import joined_if_few_rows

# String columns of few distinct values, kept as pandas categoricals in the elements frame: a few bytes of
# code per element instead of its own string data (the file path alone is tens of bytes); the tables
# written convert them back (:func:`anystab.pipeline.to_arrow`)
CODED = ("elem_type", "collector", "peer_ip", "bgp_origin", "source")


@dataclass(frozen=True)
class Selection:
    """What the elements stage hands on: the window, the ordered elements and the collector gaps."""

    window: tuple[float, float]
    elements: pd.DataFrame
    gaps: pd.DataFrame


def build_elements(
    files: Sequence[SourceFile],
    results: Sequence[FileResult],
    start: float | None = None,
    end: float | None = None,
    let_go: bool = False,
) -> Selection:
    """Steps 1 to 4 on the files read (``results[i]`` is ``files[i]``'s): window, elements and gaps.
    ``let_go``: see :func:`select_elements` (``results`` then a list)."""
    window = choose_window(files, results, start, end)
    elements = select_elements(files, results, window, let_go)
    return Selection(window, elements, gaps_table(files, results, window))


def _frame(rows: list[dict[str, Any]], name: str) -> pd.DataFrame:
    schema = schemas.TABLES[name]
    return to_frame(pa.Table.from_pylist(rows, schema=schema))


def _ts(seconds: float | None) -> pd.Timestamp | None:
    return None if seconds is None else pd.Timestamp(seconds, unit="s", tz="UTC")


def _update_slot(f: SourceFile, r: FileResult) -> tuple[float | None, float | None]:
    cadence = expected_cadence(f.project)
    start = f.name_time if f.name_time is not None else r.first_time
    if start is None:
        return None, None
    end = start + cadence if cadence else (r.last_time if r.last_time is not None else start)
    return start, max(end, r.last_time or end)


def choose_window(
    files: Sequence[SourceFile], results: Sequence[FileResult], start: float | None, end: float | None
) -> tuple[float, float]:
    """The user's window, with missing ends taken from the data's extent. A window that does not meet the
    data at all is an error naming the data's extent."""
    starts: list[float] = []
    ends: list[float] = []
    for f, r in zip(files, results, strict=True):
        if r.kind == "rib" and r.first_time is not None:
            starts.append(r.first_time)
        elif r.kind == "updates":
            s, e = _update_slot(f, r)
            if s is not None and e is not None:
                starts.append(s)
                ends.append(e)
    if not starts:
        raise BadInputError("the sources hold no readable MRT records: " + _unreadable(results))
    if start is None:
        start = min(starts)
    if end is None:
        if not ends:
            raise BadInputError("no update records: name --end to analyse RIB dumps alone")
        end = max(ends)
    covers = f"{_iso(min(starts))} .. {_iso(max(starts + ends))}"
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ConfigError(f"empty window: {_iso(start)} .. {_iso(end)} (the data covers {covers})")
    if end < min(starts) or start > max(starts + ends):
        raise BadInputError(
            f"the window {_iso(start)} .. {_iso(end)} is outside the data: the files read cover {covers}"
        )
    return float(start), float(end)


def _iso(seconds: float) -> str:
    if not math.isfinite(seconds):
        return str(seconds)
    return str(pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))


MAX_NAMED_FILES = 10


def _unreadable(results: Sequence[FileResult]) -> str:
    """Each file with why it gave nothing (at most :data:`MAX_NAMED_FILES`)."""
    parts = []
    for r in results[:MAX_NAMED_FILES]:
        reason = "; ".join(dict.fromkeys(p.reason for p in r.problems)) or f"{r.kind} file"
        parts.append(f"{r.path} ({reason})")
    more = len(results) - MAX_NAMED_FILES
    return ", ".join(parts) + (f" and {more} more files" if more > 0 else "")


def select_elements(
    files: Sequence[SourceFile],
    results: Sequence[FileResult],
    window: tuple[float, float],
    let_go: bool = False,
) -> pd.DataFrame:
    """Steps 2 and 3: the RIB dump each collector starts from, the updates after it, in order.

    ``let_go``: the files' tables are handed over, so their memory goes while the frame is built: each
    of ``results`` (a list) is replaced by :func:`counted` of it."""
    rib_time = rib_times(results, window)
    floor_of = {c: _micros(t) for c, t in rib_time.items()}  # per collector: its updates' earliest time
    parts: list[pa.Table] = []
    ranks: list[int] = []
    floors: list[int] = []  # per part: its elements' earliest kept time, in microseconds
    for r in sorted(results, key=lambda r: (r.collector, r.path)):
        t0 = rib_time.get(r.collector)
        if r.kind == "rib" and (t0 is None or r.first_time != t0):
            continue
        if r.elements.num_rows == 0:
            continue
        table = r.elements
        parts.append(table if table.schema.equals(schemas.ELEMENTS) else table.cast(schemas.ELEMENTS))
        ranks.append(0 if r.kind == "rib" else 1)
        floors.append(floor_of[r.collector] if r.kind != "rib" and t0 is not None else np.iinfo(np.int64).min)
    if let_go:
        assert isinstance(results, list)
        results[:] = [counted(r) for r in results]
    if not parts:
        return to_frame(schemas.ELEMENTS.empty_table())
    del r  # the last file's result (and, unless let go, its table)
    counts = [p.num_rows for p in parts]
    table = _coded(joined_if_few_rows(pa.concat_tables(parts), len(parts)))
    parts.clear()  # the coded columns' strings go with the files' tables (when let go)
    # communities: one array object per distinct value, shared by its rows (to_pandas makes one per row,
    # about 120 bytes each); rows are keyed by their item count and items joined (when no item holds the
    # separator, equal keys are equal lists)
    # the table goes column by column as the frame is built (self_destruct; no other reference to it)
    comms = table.column("communities")
    if pc.any(pc.match_substring(pc.list_flatten(comms), "\x1f")).as_py():
        del comms
        df = _frame_of(table)
    else:
        count = pc.cast(pc.list_value_length(comms), pa.string())
        key = pc.binary_join_element_wise(count, pc.binary_join(comms, "\x1f"), "|")
        codes = pc.fill_null(pc.dictionary_encode(key).combine_chunks().indices, -1).to_numpy()
        del count, key
        distinct, first = np.unique(codes, return_index=True)
        shared = np.empty(len(distinct) + 1, dtype=object)  # the last slot, for code -1, stays None
        shared[distinct] = comms.take(pa.array(first)).to_pandas(use_threads=False).to_numpy()
        del comms, distinct, first
        at = table.column_names.index("communities")
        table = table.drop_columns(["communities"])
        df = _frame_of(table)
        df.insert(at, "communities", shared[codes])
    times = df["time"].to_numpy(dtype="datetime64[us]").view(np.int64)
    keep = times >= np.repeat(np.array(floors, dtype=np.int64), counts)
    rank = np.repeat(np.array(ranks, dtype=np.int8), counts)
    if not keep.all():  # each copy of the frame costs its size again: none when nothing is left out
        df, times, rank = df[keep], times[keep], rank[keep]
    if df["time"].isna().any():  # NaT sorts last (np.lexsort would put it first)
        df = df.assign(_rank=rank).sort_values(["time", "_rank"], kind="stable").drop(columns="_rank")
    else:  # stable, by time, then RIB entries first: as sort_values(["time", "_rank"], kind="stable")
        order = np.lexsort((rank, times))
        if (order != np.arange(len(order))).any():
            df = df.take(order)
    return df.set_axis(pd.RangeIndex(len(df)))


def _frame_of(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()``, letting each column's Arrow memory go once converted (the caller holds no
    other reference to the table)."""
    return to_frame(table, self_destruct=True, split_blocks=True)


def counted(result: FileResult) -> FileResult:
    """The result with its elements table let go: no columns, its row count kept (the FILES table's)."""
    return replace(result, elements=result.elements.select([]))


def _coded(table: pa.Table) -> pa.Table:
    """The :data:`CODED` columns dictionary-encoded (pandas categoricals once converted), each dictionary
    its distinct values in sorted order: sorting or grouping by the categoricals sorts as the strings
    (Arrow orders text by its UTF-8 bytes, which is Python's order of the code points)."""
    for name in CODED:
        i = table.column_names.index(name)
        column = table.column(i)
        values = pc.drop_null(pc.unique(column))
        values = values.take(pc.array_sort_indices(values))
        codes = pc.index_in(column, value_set=values)  # a missing value: a missing code
        kind = pa.dictionary(codes.type, values.type)
        coded = [pa.DictionaryArray.from_arrays(c, values) for c in codes.chunks]
        table = table.set_column(i, name, pa.chunked_array(coded, kind))
    return table


def rib_times(results: Sequence[FileResult], window: tuple[float, float]) -> dict[str, float]:
    """Step 2: per collector, the time of the RIB dump it starts from: the latest at or before the window
    start, else its first dump inside the window (its VPs are then observed from that dump's time)."""
    w0, w1 = window
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for r in results:
        if r.kind != "rib" or r.first_time is None or r.first_time > w1:
            continue
        if r.first_time <= w0:
            before[r.collector] = max(before.get(r.collector, -math.inf), r.first_time)
        else:
            after[r.collector] = min(after.get(r.collector, math.inf), r.first_time)
    return {**after, **before}


def _micros(t: float) -> int:
    """``t`` (seconds) as the elements' microsecond timestamps compare with it."""
    return int(pa.scalar(pd.Timestamp(t, unit="s", tz="UTC"), schemas.TS).value)


def gaps_table(
    files: Sequence[SourceFile], results: Sequence[FileResult], window: tuple[float, float]
) -> pd.DataFrame:
    """Step 4: the GAPS table, from missing update files and window parts outside the data, and the parts
    between a collector's RIB dump and the window start that no update file covers (``warm_up_missing``:
    the state at the window start may be stale; the timeline ignores gaps outside the window)."""
    pairs = list(zip(files, results, strict=True))
    holes = warm_up_holes(pairs, rib_times(results, window), window[0]) + missing_intervals(pairs, *window)
    return _frame(
        [{"collector": c, "start": _ts(s), "end": _ts(e), "reason": r} for c, s, e, r in holes], "gaps"
    )


def files_table(files: Sequence[SourceFile], results: Sequence[FileResult]) -> pd.DataFrame:
    """Step 5: the FILES table, one row per file read (its element count survives letting the table go)."""
    rows = [
        {
            "path": r.path,
            "collector": r.collector,
            "kind": r.kind,
            "records": r.records,
            "elements": r.elements.num_rows,
            "first_time": _ts(r.first_time),
            "last_time": _ts(r.last_time),
            "problems": len(r.problems),
        }
        for r in results
    ]
    return _frame(rows, "files")


def problems_table(results: Sequence[FileResult]) -> pd.DataFrame:
    """Step 5: the PROBLEMS table, every problem the reader reported, file by file."""
    rows = [
        {"path": p.path, "offset": p.offset, "reason": p.reason, "count": p.count}
        for r in results
        for p in r.problems
    ]
    return _frame(rows, "problems")
