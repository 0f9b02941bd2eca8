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

import pandas as pd

from anystab.events import build_events
from anystab.frames import sorted_order
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


def _ordered(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows in a canonical order (stable for ties): results never depend on the order of input files.
    The rows and their order are ``df.sort_values(keys, kind="stable")``'s, with a new range index (the
    frame itself when it is in that order already and has one)."""
    if df.empty:
        return df
    order = sorted_order(df, keys)
    if order is None:
        return df.sort_values(keys, kind="stable").reset_index(drop=True)
    if order != list(range(len(df))):
        return df.take(order).reset_index(drop=True)
    plain = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    return df if plain else df.reset_index(drop=True)
