"""Events: what changed for each (vantage point, target), from the timeline.

Steps:

1. Group the timeline by (VP, target) and order each group's intervals by start.
2. Raw events: walk the observed intervals (routed or unrouted), remembering the last observed one.
   Between two observed intervals, compare site, AS path and origin: site X -> Y is a ``switch`` (both not
   None), X -> None a ``withdraw``, None -> Y a ``restore``; a path change with the same site is a
   ``path_change``; an origin change is an ``origin_change`` (also when the site changes). An unobserved
   interval after an observed one gives ``gap_start``; its end gives ``gap_end`` when observation resumes.
   A change judged across an unobserved interval happens at the gap's end and is flagged ``across_gap``.
   The unobserved interval before the first observation is not a gap (observation has not started).
3. Site states: the observed intervals merged into runs of one site (None = unrouted); each unobserved
   interval becomes a gap marker.
4. Transient filter (:func:`apply_min_dwell`, ``params.min_dwell_s``; 0 = off): take the earliest site state
   shorter than ``min_dwell`` that has a site-state neighbour; give its time to the state before it, or to
   the state after it when it follows a gap or the start of observation (a state with gaps or the window's
   edges on both sides stays); merge equal neighbours; repeat until none is left. A state cut short by the
   window's end or a gap is treated like any other (the filter does not know how long it would have lasted).
   Each site state carries its route states (the observed intervals inside it, with AS path and origin):
   the removed state's time takes the whole route state of the state it joins (the last route of the
   state before it, or the first route of the state after it), and merged states join their route lists.
5. The filtered timeline is the filtered states' route states, with the gaps between them. Every event
   after the filter (switch, withdraw, restore, path_change, origin_change, gap_start, gap_end) comes from
   it by the rules of step 2: A(p1) -> B for 5 s -> A(p2) with min_dwell 30 is one path_change p1 -> p2
   at the end of B, and a path change inside a removed state is no event. With min_dwell 0 the filtered
   timeline is the raw one. The per-VP statistics also count switches and withdrawals before the filter.
   Break events = switch + withdraw after filtering.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from anystab.params import AnalysisParams
from anystab.timeline import PAIR_KEYS, UNOBSERVED, nullable, records_frame, to_seconds

BREAK_KINDS = ("switch", "withdraw")
_KIND_ORDER = {"gap_start": 0, "gap_end": 1, "switch": 2, "withdraw": 2, "restore": 2, "origin_change": 3}
_PATH_CHANGE_ORDER = 4


@dataclass(frozen=True)
class Row:
    """One timeline interval of a (VP, target), times in seconds."""

    start: float
    end: float
    observed: bool
    site: str | None
    as_path: str | None
    origin: str | None


@dataclass(frozen=True)
class SiteState:
    """A run of one site (None = unrouted) at a VP, or a gap marker (``gap``: the VP was unobserved).

    ``routes`` are the route states inside the run (observed rows of its site, in order, covering it once
    the filter has given them the time of removed states); they do not take part in comparisons.
    """

    start: float
    end: float
    site: str | None
    gap: bool = False
    routes: tuple[Row, ...] = field(default=(), compare=False, repr=False)

    @property
    def length(self) -> float:
        return self.end - self.start


def merge_states(states: Sequence[SiteState]) -> list[SiteState]:
    """Merge touching neighbours with equal site (two site states) or two gap markers."""
    out: list[SiteState] = []
    for s in states:
        if out and out[-1].gap == s.gap and (s.gap or out[-1].site == s.site) and out[-1].end == s.start:
            out[-1] = replace(out[-1], end=s.end, routes=out[-1].routes + s.routes)
        else:
            out.append(s)
    return out


def _absorbable(states: list[SiteState], i: int) -> bool:
    """Whether state ``i`` has a site-state neighbour that can take its time."""
    before = i > 0 and not states[i - 1].gap
    after = i + 1 < len(states) and not states[i + 1].gap
    return before or after


def _extended(state: SiteState, start: float, end: float) -> SiteState:
    """``state`` stretched to [start, end): its first route takes the time before, its last the time after."""
    routes = list(state.routes)
    if routes:
        routes[0] = replace(routes[0], start=min(routes[0].start, start))
        routes[-1] = replace(routes[-1], end=max(routes[-1].end, end))
    return replace(state, start=start, end=end, routes=tuple(routes))


def apply_min_dwell(states: Sequence[SiteState], min_dwell_s: float) -> list[SiteState]:
    """The transient filter of SPEC: remove site states shorter than ``min_dwell_s``, earliest first."""
    result = merge_states(states)
    if min_dwell_s <= 0:
        return result
    while True:
        short = (
            i for i, s in enumerate(result) if not s.gap and s.length < min_dwell_s and _absorbable(result, i)
        )
        i = next(short, None)
        if i is None:
            return result
        if i > 0 and not result[i - 1].gap:
            result[i - 1] = _extended(result[i - 1], result[i - 1].start, result[i].end)
        else:
            result[i + 1] = _extended(result[i + 1], result[i].start, result[i + 1].end)
        del result[i]
        result = merge_states(result)


def pair_rows(timeline: pd.DataFrame) -> Iterator[tuple[tuple[Any, ...], list[Row]]]:
    """Each (VP, target) key of the timeline with its intervals ordered by start."""
    if timeline.empty:
        return
    starts, ends = to_seconds(timeline["start"]), to_seconds(timeline["end"])
    observed = (timeline["state"] != UNOBSERVED).to_numpy()
    sites, paths, origins = (nullable(timeline[c]) for c in ("site", "as_path", "origin"))
    for key, idx in timeline.groupby(PAIR_KEYS, sort=False).indices.items():
        order = idx[np.argsort(starts[idx], kind="stable")]
        rows = [
            Row(float(starts[i]), float(ends[i]), bool(observed[i]), sites[i], paths[i], origins[i])
            for i in order
        ]
        yield key, rows


def site_states(rows: Sequence[Row]) -> list[SiteState]:
    """The site states of a (VP, target): observed runs of one site, with their rows, and gap markers."""
    return merge_states(
        [
            SiteState(r.start, r.end, r.site, routes=(r,))
            if r.observed
            else SiteState(r.start, r.end, None, gap=True)
            for r in rows
        ]
    )


def filtered_rows(states: Sequence[SiteState]) -> list[Row]:
    """The filtered timeline (step 5): the states' route states, and an unobserved row for each gap."""
    out: list[Row] = []
    for s in states:
        if s.gap:
            out.append(Row(s.start, s.end, False, None, None, None))
        else:
            out.extend(s.routes)
    return out


def pair_states(timeline: pd.DataFrame, min_dwell_s: float) -> dict[tuple[Any, ...], list[SiteState]]:
    """(VP, target) -> its site states after the transient filter."""
    return {key: apply_min_dwell(site_states(rows), min_dwell_s) for key, rows in pair_rows(timeline)}


def _site_kind(old: str | None, new: str | None) -> str | None:
    if old == new:
        return None
    if old is not None and new is not None:
        return "switch"
    return "withdraw" if new is None else "restore"


def _event(kind: str, time: float, old: Row | None, new: Row | None, across_gap: bool) -> dict[str, Any]:
    return {
        "time": time,
        "kind": kind,
        "old_site": old.site if old else None,
        "new_site": new.site if new else None,
        "old_path": old.as_path if old else None,
        "new_path": new.as_path if new else None,
        "old_origin": old.origin if old else None,
        "new_origin": new.origin if new else None,
        "across_gap": across_gap,
    }


def row_events(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Every event of a timeline (step 2), raw or filtered, in time order."""
    events: list[dict[str, Any]] = []
    last: Row | None = None
    in_gap = False
    for row in rows:
        if not row.observed:
            if last is not None and not in_gap:
                events.append(_event("gap_start", row.start, last, None, False))
            in_gap = last is not None
            continue
        if last is not None:
            if in_gap:
                events.append(_event("gap_end", row.start, last, row, False))
            events.extend(_changes(last, row, in_gap))
        last, in_gap = row, False
    return events


def _changes(old: Row, new: Row, across_gap: bool) -> list[dict[str, Any]]:
    events = []
    kind = _site_kind(old.site, new.site)
    if kind:
        events.append(_event(kind, new.start, old, new, across_gap))
    routed = old.site is not None and new.site is not None
    if routed and old.origin != new.origin:
        events.append(_event("origin_change", new.start, old, new, across_gap))
    if routed and kind is None and old.as_path != new.as_path:
        events.append(_event("path_change", new.start, old, new, across_gap))
    return events


def _count(events: Sequence[dict[str, Any]], kind: str) -> int:
    return sum(1 for e in events if e["kind"] == kind)


@dataclass(frozen=True)
class PairEvents:
    """One (VP, target)'s events: ``raw`` before the transient filter, ``events`` after it (sorted), and the
    filtered site ``states`` they come from."""

    raw: list[dict[str, Any]]
    states: list[SiteState]
    events: list[dict[str, Any]]

    @staticmethod
    def of(rows: Sequence[Row], min_dwell_s: float) -> PairEvents:
        states = apply_min_dwell(site_states(rows), min_dwell_s)
        events = sorted(row_events(filtered_rows(states)), key=_sort_key)
        return PairEvents(row_events(rows), states, events)


def vp_stats_row(
    rows: Sequence[Row],
    raw: Sequence[dict[str, Any]],
    states: Sequence[SiteState],
    events: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The VP_STATS numbers of one (VP, target), without its key columns: counts of the filtered ``events``,
    and the switches and withdrawals of the ``raw`` ones (before the filter)."""
    dwell = [s.length for s in states if not s.gap and s.site is not None and s.length > 0]
    return {
        "observed_s": sum(r.end - r.start for r in rows if r.observed),
        "routed_s": sum(r.end - r.start for r in rows if r.observed and r.site is not None),
        "switches": _count(events, "switch"),
        "withdraws": _count(events, "withdraw"),
        "restores": _count(events, "restore"),
        "path_changes": _count(events, "path_change"),
        "origin_changes": _count(events, "origin_change"),
        "gaps": _count(events, "gap_start"),
        "switches_raw": _count(raw, "switch"),
        "withdraws_raw": _count(raw, "withdraw"),
        "sites": len({r.site for r in rows if r.observed and r.site is not None}),
        "mean_dwell_s": float(np.mean(dwell)) if dwell else None,
    }


def _sort_key(event: dict[str, Any]) -> tuple[float, int]:
    return event["time"], _KIND_ORDER.get(event["kind"], _PATH_CHANGE_ORDER)


def build_events(timeline: pd.DataFrame, params: AnalysisParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The EVENTS table (every kind, from the filtered timeline) and the VP_STATS table."""
    events: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    for key, rows in pair_rows(timeline):
        if not any(r.observed for r in rows):
            continue
        found = PairEvents.of(rows, params.min_dwell_s)
        named = dict(zip(PAIR_KEYS, key, strict=True))
        events.extend({**named, **e} for e in found.events)
        stats.append({**named, **vp_stats_row(rows, found.raw, found.states, found.events)})
    return records_frame("events", events), records_frame("vp_stats", stats)
