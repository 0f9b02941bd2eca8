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
5. Site events (switch, withdraw, restore) come from the filtered site states; path_change, origin_change,
   gap_start and gap_end from the raw timeline. The per-VP statistics count both filtered and raw switches
   and withdrawals. Break events = switch + withdraw after filtering.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from anystab.params import AnalysisParams
from anystab.timeline import PAIR_KEYS, UNOBSERVED, nullable, records_frame, to_seconds

BREAK_KINDS = ("switch", "withdraw")
_KIND_ORDER = {"gap_start": 0, "gap_end": 1, "switch": 2, "withdraw": 2, "restore": 2, "origin_change": 3}
_PATH_CHANGE_ORDER = 4


@dataclass(frozen=True)
class SiteState:
    """A run of one site (None = unrouted) at a VP, or a gap marker (``gap``: the VP was unobserved)."""

    start: float
    end: float
    site: str | None
    gap: bool = False

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Row:
    """One timeline interval of a (VP, target), times in seconds."""

    start: float
    end: float
    observed: bool
    site: str | None
    as_path: str | None
    origin: str | None


def merge_states(states: Sequence[SiteState]) -> list[SiteState]:
    """Merge touching neighbours with equal site (two site states) or two gap markers."""
    out: list[SiteState] = []
    for s in states:
        if out and out[-1].gap == s.gap and (s.gap or out[-1].site == s.site) and out[-1].end == s.start:
            out[-1] = replace(out[-1], end=s.end)
        else:
            out.append(s)
    return out


def _absorbable(states: list[SiteState], i: int) -> bool:
    """Whether state ``i`` has a site-state neighbour that can take its time."""
    before = i > 0 and not states[i - 1].gap
    after = i + 1 < len(states) and not states[i + 1].gap
    return before or after


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
            result[i - 1] = replace(result[i - 1], end=result[i].end)
        else:
            result[i + 1] = replace(result[i + 1], start=result[i].start)
        del result[i]
        result = merge_states(result)


def pair_rows(timeline: pd.DataFrame) -> Iterator[tuple[tuple, list[Row]]]:
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
    """The site states of a (VP, target): observed runs of one site and gap markers."""
    return merge_states(
        [SiteState(r.start, r.end, r.site if r.observed else None, not r.observed) for r in rows]
    )


def pair_states(timeline: pd.DataFrame, min_dwell_s: float) -> dict[tuple, list[SiteState]]:
    """(VP, target) -> its site states after the transient filter."""
    return {key: apply_min_dwell(site_states(rows), min_dwell_s) for key, rows in pair_rows(timeline)}


def _site_kind(old: str | None, new: str | None) -> str | None:
    if old == new:
        return None
    if old is not None and new is not None:
        return "switch"
    return "withdraw" if new is None else "restore"


def _event(kind: str, time: float, old: Row | None, new: Row | None, across_gap: bool) -> dict:
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


def raw_events(rows: Sequence[Row]) -> list[dict]:
    """Every event of the raw timeline, site events included (before any filter)."""
    events: list[dict] = []
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


def _changes(old: Row, new: Row, across_gap: bool) -> list[dict]:
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


def _route_in(rows: Sequence[Row], starts: list[float], state: SiteState, last: bool) -> Row | None:
    """The last (or first) observed interval inside ``state`` whose site is the state's site."""
    lo, hi = bisect.bisect_left(starts, state.start), bisect.bisect_left(starts, state.end)
    span = range(hi - 1, lo - 1, -1) if last else range(lo, hi)
    return next((rows[i] for i in span if rows[i].observed and rows[i].site == state.site), None)


def filtered_site_events(rows: Sequence[Row], states: Sequence[SiteState]) -> list[dict]:
    """Switch, withdraw and restore events between consecutive filtered site states."""
    events = []
    starts = [r.start for r in rows]
    prev: SiteState | None = None
    across = False
    for state in states:
        if state.gap:
            across = prev is not None
            continue
        kind = _site_kind(prev.site, state.site) if prev else None
        if prev and kind:
            old, new = _route_in(rows, starts, prev, True), _route_in(rows, starts, state, False)
            event = _event(kind, state.start, old, new, across)
            event["old_site"], event["new_site"] = prev.site, state.site
            events.append(event)
        prev, across = state, False
    return events


def _count(events: Sequence[dict], kind: str) -> int:
    return sum(1 for e in events if e["kind"] == kind)


def vp_stats_row(
    rows: Sequence[Row], raw: Sequence[dict], states: Sequence[SiteState], site: list[dict]
) -> dict:
    """The VP_STATS numbers of one (VP, target), without its key columns."""
    dwell = [s.length for s in states if not s.gap and s.site is not None]
    return {
        "observed_s": sum(r.end - r.start for r in rows if r.observed),
        "routed_s": sum(r.end - r.start for r in rows if r.observed and r.site is not None),
        "switches": _count(site, "switch"),
        "withdraws": _count(site, "withdraw"),
        "restores": _count(site, "restore"),
        "path_changes": _count(raw, "path_change"),
        "origin_changes": _count(raw, "origin_change"),
        "gaps": _count(raw, "gap_start"),
        "switches_raw": _count(raw, "switch"),
        "withdraws_raw": _count(raw, "withdraw"),
        "sites": len({r.site for r in rows if r.observed and r.site is not None}),
        "mean_dwell_s": float(np.mean(dwell)) if dwell else None,
    }


def _sort_key(event: dict) -> tuple[float, int]:
    return event["time"], _KIND_ORDER.get(event["kind"], _PATH_CHANGE_ORDER)


def build_events(timeline: pd.DataFrame, params: AnalysisParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The EVENTS table (site events after the transient filter, other kinds raw) and the VP_STATS table."""
    events: list[dict] = []
    stats: list[dict] = []
    for key, rows in pair_rows(timeline):
        if not any(r.observed for r in rows):
            continue
        raw = raw_events(rows)
        states = apply_min_dwell(site_states(rows), params.min_dwell_s)
        site = filtered_site_events(rows, states)
        kept = [e for e in raw if e["kind"] not in ("switch", "withdraw", "restore")]
        named = dict(zip(PAIR_KEYS, key, strict=True))
        events.extend({**named, **e} for e in sorted(site + kept, key=_sort_key))
        stats.append({**named, **vp_stats_row(rows, raw, states, site)})
    return records_frame("events", events), records_frame("vp_stats", stats)
