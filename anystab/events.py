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

Without the filter (``min_dwell`` 0) steps 1-3 and 5 are done for every pair at once on the timeline's
columns: each row's last observed row before it in its pair is a running maximum, so every rule of step 2
is a comparison of two arrays, and the statistics are sums and counts per pair (:mod:`anystab.sums`).
With the filter, pair by pair (:func:`events_pair_by_pair`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from anystab.frames import group_indices, group_numbers
from anystab.params import AnalysisParams
from anystab.sums import group_sums, sequential_sums
from anystab.timeline import PAIR_KEYS, UNOBSERVED, make_frame, nullable, records_frame, to_seconds

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
    for key, idx in group_indices(timeline, PAIR_KEYS).items():
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
        raw = row_events(rows)
        # without the filter, the filtered timeline is the raw one (gaps merged, which adds no event)
        filtered = raw if min_dwell_s <= 0 else row_events(filtered_rows(states))
        return PairEvents(raw, states, sorted(filtered, key=_sort_key))


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
        "mean_dwell_s": (dwell[0] if len(dwell) == 1 else float(np.mean(dwell))) if dwell else None,
    }


def _sort_key(event: dict[str, Any]) -> tuple[float, int]:
    return event["time"], _KIND_ORDER.get(event["kind"], _PATH_CHANGE_ORDER)


_EVENT_FIELDS = ("old_site", "new_site", "old_path", "new_path", "old_origin", "new_origin")


@dataclass(frozen=True)
class _Rows:
    """The timeline's rows of every pair, pairs in order of first appearance and each pair's rows by start
    (``row``: the timeline's row numbers), with what step 2 compares as numbers (-1: None)."""

    row: np.ndarray
    pair: np.ndarray
    start: np.ndarray
    end: np.ndarray
    observed: np.ndarray
    codes: dict[str, np.ndarray]  # site, as_path, origin
    values: dict[str, np.ndarray]  # each one's distinct values, then None (code -1)

    @staticmethod
    def of(timeline: pd.DataFrame) -> _Rows:
        pair = group_numbers(timeline, PAIR_KEYS).astype(float)
        starts = to_seconds(timeline["start"])
        kept = np.flatnonzero(np.isfinite(pair))  # rows with a missing key belong to no pair
        row = kept[np.lexsort((starts[kept], pair[kept]))]
        codes, values = {}, {}
        for column in ("site", "as_path", "origin"):
            code, uniques = pd.factorize(timeline[column].to_numpy()[row], use_na_sentinel=True)
            codes[column], values[column] = code, np.array([*uniques, None], dtype=object)
        return _Rows(
            row,
            pair[row].astype(np.int64),
            starts[row],
            to_seconds(timeline["end"])[row],
            (timeline["state"] != UNOBSERVED).to_numpy()[row],
            codes,
            values,
        )


def _events_at_once(rows: _Rows) -> dict[str, np.ndarray]:
    """Step 2 for every pair at once: each event's (row it happens at, order among that row's events, kind,
    the rows before and after (-1: none), across_gap), in the order of :func:`row_events`' events."""
    n = len(rows.row)
    pos = np.arange(n)
    first = np.ones(n, dtype=bool)
    first[1:] = rows.pair[1:] != rows.pair[:-1]
    pair_first = np.maximum.accumulate(np.where(first, pos, 0))
    seen = np.maximum.accumulate(np.where(rows.observed, pos, -1))  # the last observed row up to here
    last = np.full(n, -1)
    last[1:] = seen[:-1]
    last[last < pair_first] = -1  # the last observed row before this one, in its pair
    in_gap = (last >= 0) & (last < pos - 1)
    changed = rows.observed & (last >= 0)
    old = np.where(last >= 0, last, 0)
    site, path, origin = (rows.codes[c] for c in ("site", "as_path", "origin"))
    old_site = site[old]
    routed = changed & (old_site >= 0) & (site >= 0)
    kinds = {
        "gap_start": (~rows.observed & (last >= 0) & (last == pos - 1), 0),
        "gap_end": (changed & in_gap, 0),
        "switch": (routed & (old_site != site), 1),
        "withdraw": (changed & (old_site >= 0) & (site < 0), 1),
        "restore": (changed & (old_site < 0) & (site >= 0), 1),
        "origin_change": (routed & (origin[old] != origin), 2),
        "path_change": (routed & (old_site == site) & (path[old] != path), 3),
    }
    at = [np.flatnonzero(found) for found, _ in kinds.values()]
    event_row = np.concatenate(at)
    kind = np.repeat(np.array(list(kinds), dtype=object), [len(a) for a in at])
    sub = np.repeat([s for _, s in kinds.values()], [len(a) for a in at])
    order_of_kind = np.array([_KIND_ORDER.get(k, _PATH_CHANGE_ORDER) for k in kinds])
    korder = np.repeat(order_of_kind, [len(a) for a in at])
    # pairs in order, then (time, kind) as _sort_key sorts, ties in the order row_events finds them
    order = np.lexsort((sub, event_row, korder, rows.start[event_row], rows.pair[event_row]))
    event_row, kind = event_row[order], kind[order]
    gap_start = kind == "gap_start"
    return {
        "at": event_row,
        "kind": kind,
        "old": last[event_row],
        "new": np.where(gap_start, -1, event_row),
        "across_gap": in_gap[event_row] & ~gap_start & (kind != "gap_end"),
    }


def _column_events(timeline: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`build_events` without the transient filter (the filtered timeline is the raw one), every pair
    at once: the same rows in the same order."""
    rows = _Rows.of(timeline)
    found = _events_at_once(rows)
    at = found["at"]
    keys = {c: timeline[c].to_numpy()[rows.row] for c in PAIR_KEYS}
    columns: dict[str, list[Any]] = {c: keys[c][at].tolist() for c in PAIR_KEYS}
    columns["time"] = rows.start[at].tolist()
    columns["kind"] = found["kind"].tolist()
    for name in _EVENT_FIELDS:
        side, column = name.split("_", 1)
        column = "as_path" if column == "path" else column
        code = rows.codes[column][found[side]]
        columns[name] = rows.values[column][np.where(found[side] >= 0, code, -1)].tolist()
    columns["across_gap"] = found["across_gap"].tolist()
    return make_frame("events", columns), _column_stats(rows, found, keys)


def _column_stats(rows: _Rows, found: dict[str, np.ndarray], keys: dict[str, np.ndarray]) -> pd.DataFrame:
    """The VP_STATS rows of :func:`vp_stats_row` for every pair with an observed row, at once."""
    pairs = int(rows.pair[-1]) + 1 if len(rows.pair) else 0
    span = rows.end - rows.start
    site = rows.codes["site"]
    observed = rows.observed
    routed = observed & (site >= 0)
    counted = np.bincount(rows.pair[observed], minlength=pairs) > 0  # pairs with an observed row
    columns: dict[str, Any] = {c: keys[c][np.searchsorted(rows.pair, np.flatnonzero(counted))] for c in keys}
    columns["observed_s"] = sequential_sums(span[observed], rows.pair[observed], pairs)[counted]
    columns["routed_s"] = sequential_sums(span[routed], rows.pair[routed], pairs)[counted]
    event_pair = rows.pair[found["at"]]
    for column, kind in _STAT_KINDS:
        columns[column] = np.bincount(event_pair[found["kind"] == kind], minlength=pairs)[counted]
    columns["switches_raw"], columns["withdraws_raw"] = columns["switches"], columns["withdraws"]
    distinct = np.unique(np.stack([rows.pair[routed], site[routed]]), axis=1)[0]
    columns["sites"] = np.bincount(distinct, minlength=pairs)[counted]
    columns["mean_dwell_s"] = _mean_dwell(rows, pairs)[counted]
    lists = {c: v.tolist() for c, v in columns.items() if v.dtype.kind not in "iufb"}  # the keys' objects
    return make_frame("vp_stats", {**columns, **lists})  # numpy arrays of numbers as they are


_STAT_KINDS = (
    ("switches", "switch"),
    ("withdraws", "withdraw"),
    ("restores", "restore"),
    ("path_changes", "path_change"),
    ("origin_changes", "origin_change"),
    ("gaps", "gap_start"),
)


def _mean_dwell(rows: _Rows, pairs: int) -> np.ndarray:
    """Per pair, the mean length of its routed site states longer than 0 (:func:`site_states`: touching rows
    of one site, or unobserved, merged), as ``np.mean`` of them gives it; None without one."""
    n = len(rows.row)
    site = np.where(rows.observed, rows.codes["site"], -2)  # -2: a gap marker
    joins = np.zeros(n, dtype=bool)
    joins[1:] = (
        (rows.pair[1:] == rows.pair[:-1]) & (site[1:] == site[:-1]) & (rows.end[:-1] == rows.start[1:])
    )
    heads = np.flatnonzero(~joins)
    tails = np.append(heads[1:] - 1, n - 1) if n else heads
    length = rows.end[tails] - rows.start[heads]
    dwell = (site[heads] >= 0) & (length > 0)
    pair = rows.pair[heads][dwell]
    count = np.bincount(pair, minlength=pairs)
    out = np.full(pairs, None, dtype=object)
    has = count > 0
    out[has] = (group_sums(length[dwell], pair, pairs)[has] / count[has]).tolist()
    return out


def build_events(timeline: pd.DataFrame, params: AnalysisParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The EVENTS table (every kind, from the filtered timeline) and the VP_STATS table. Without the
    transient filter, every pair at once (no Python loop over pairs)."""
    if params.min_dwell_s <= 0 and not timeline.empty:
        return _column_events(timeline)
    return events_pair_by_pair(timeline, params.min_dwell_s)


def events_pair_by_pair(timeline: pd.DataFrame, min_dwell_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`build_events` one pair at a time (:class:`PairEvents`): the transient filter's way."""
    events: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    for key, rows in pair_rows(timeline):
        if not any(r.observed for r in rows):
            continue
        found = PairEvents.of(rows, min_dwell_s)
        named = dict(zip(PAIR_KEYS, key, strict=True))
        events.extend({**named, **e} for e in found.events)
        stats.append({**named, **vp_stats_row(rows, found.raw, found.states, found.events)})
    return records_frame("events", events), records_frame("vp_stats", stats)
