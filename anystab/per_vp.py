"""The per-VP stages composed: each VP's timeline, then its events, rows in one canonical order.

Steps of :func:`vp_tables`:

1. Build the timeline of the VPs given (:func:`anystab.timeline.build_timeline`), with their collectors'
   gaps.
2. Find the events and per-VP statistics (:func:`anystab.events.build_events`).
3. Order the three tables canonically (:func:`order_vp_tables`; stable, ties keep a VP's own order).

Each VP depends only on its own elements and its collector's gaps, so any split of the VPs (an executor's
groups, :mod:`anystab.executors.plan`) gives the same rows once the parts are joined and ordered again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from anystab.events import build_events
from anystab.params import AnalysisParams
from anystab.timeline import PAIR_KEYS, build_timeline

VpTables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def vp_tables(
    elements: pd.DataFrame, gaps: pd.DataFrame, params: AnalysisParams, window: tuple[float, float]
) -> VpTables:
    """(timeline, events, vp_stats) in canonical order. Each VP depends only on its own elements and its
    collector's gaps, so any split of the VPs gives the same rows once joined by :func:`order_vp_tables`."""
    timeline = _ordered(build_timeline(elements, params, window, gaps), [*PAIR_KEYS, "start"])
    events, vp_stats = build_events(timeline, params)
    return timeline, _ordered(events, ["time", *PAIR_KEYS]), _ordered(vp_stats, PAIR_KEYS)


def order_vp_tables(timeline: pd.DataFrame, events: pd.DataFrame, vp_stats: pd.DataFrame) -> VpTables:
    """The per-VP tables in the canonical row order (stable: ties keep a VP's own order)."""
    return (
        _ordered(timeline, [*PAIR_KEYS, "start"]),
        _ordered(events, ["time", *PAIR_KEYS]),
        _ordered(vp_stats, PAIR_KEYS),
    )


# Up to this many rows, a table is ordered by a Python sort of its key tuples: a few list conversions
# instead of pandas' sort, which costs about a millisecond whatever the size
FEW_ROWS = 4096


def _ordered(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows in a canonical order (stable for ties): results never depend on the order of input files.
    The rows and their order are ``df.sort_values(keys, kind="stable")``'s, with a new range index (the
    frame itself when it is in that order already and has one)."""
    if df.empty:
        return df
    order = few_rows_order(df, keys) if len(df) <= FEW_ROWS else None
    if order is None:
        return df.sort_values(keys, kind="stable").reset_index(drop=True)
    if order != list(range(len(df))):
        return df.take(order).reset_index(drop=True)
    plain = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    return df if plain else df.reset_index(drop=True)


def few_rows_order(df: pd.DataFrame, keys: list[str]) -> list[int] | None:
    """The row order of ``df.sort_values(keys, kind="stable")`` by a stable Python sort of each row's keys:
    missing values last, categoricals by their codes (as pandas sorts them), times by their integer
    values. None when Python cannot compare a column's values (mixed types): sort with pandas then."""
    columns = [_sort_keys(df[k]) for k in keys]
    rows = list(zip(*columns, strict=True))
    try:
        return sorted(range(len(rows)), key=rows.__getitem__)
    except TypeError:
        return None


def _sort_keys(column: pd.Series) -> list[Any]:
    """A column's values as Python sorts them in :func:`few_rows_order`."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values: list[Any] = column.cat.codes.tolist()
    elif column.dtype.kind == "M":
        values = column.array.asi8.tolist()
    else:
        values = column.tolist()
    missing = column.isna().to_numpy()
    if not missing.any():
        return values
    return [(1, 0) if m else (0, v) for v, m in zip(values, missing.tolist(), strict=True)]
