"""Per-interval tables of the monitoring dataset (VP statistics, estimates), recomputing only what changes.

Intervals are ``interval`` seconds long, aligned to the Unix epoch, covering the analysis window [W0, W1].

Steps of :func:`interval_tables`:

1. Per (VP, target) of the whole period's timeline, once per run: its rows, raw events, site states after
   the transient filter, events after the filter and break times (:mod:`anystab.events`), with sorted start
   and end times so that an interval's share is found by bisection, not by a scan.
2. The horizon H: the earliest time at which this run's data may differ from the data the stored dataset
   was built from (:func:`anystab.monitor.run.change_horizon`; -inf = nothing is kept). The VP statistics
   of an interval [i0, i1) can change only if ``i1 >= H``; the estimates of the D-long sessions starting in
   it only if ``i1 + D >= H`` (they look at [i0, min(i1 + D, W1)]). Those are recomputed: the set R of
   intervals with ``i1 + max(D) >= H``, and within R the lengths with ``i1 + D >= H``. Everything else is
   final and stays as stored.
3. VP statistics of an interval (:func:`anystab.events.vp_stats_row`): the pair's rows and filtered site
   states clipped to the interval, its raw and filtered events whose time falls in it. Only pairs observed in
   the interval have a row.
4. Estimates of (interval, D): ``P_v(D)`` (:func:`anystab.estimates.break_probability`) over the window
   [i0, min(i1 + D, W1)] from the pair's filtered site states overlapping that window and its break times
   in (i0 - D, i1 + D]: the measure is local, so leaving the other states and breaks out gives the same
   number, bit for bit. The Poisson figure is the interval's own: breaks in the interval over the routed
   seconds of its clipped filtered states. The aggregates are those of
   :func:`anystab.estimates.estimate_records` over the interval's VP statistics (so ``share_with_break`` and
   ``breaks_per_vp_day`` are the interval's).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from anystab.estimates import break_probability, estimate_records, merge_intervals, poisson_probability
from anystab.events import BREAK_KINDS, PairEvents, Row, SiteState, pair_rows, vp_stats_row
from anystab.params import AnalysisParams
from anystab.timeline import PAIR_KEYS, records_frame

Span = tuple[float, float]
STATS_ORDER = ["interval_start", *PAIR_KEYS]
ESTIMATES_ORDER = ["interval_start", "scope", "target", "session_s"]


def intervals(window: Span, size: float) -> list[Span]:
    """Epoch-aligned intervals of ``size`` seconds covering the window."""
    first = math.floor(window[0] / size) * size
    count = max(0, math.ceil((window[1] - first) / size))
    return [(first + k * size, first + (k + 1) * size) for k in range(count)]


@dataclass
class Pair:
    """One (VP, target) of the whole period, ready for interval queries (step 1)."""

    key: tuple[Any, ...]
    rows: list[Row]
    raw: list[dict[str, Any]]
    states: list[SiteState]
    events: list[dict[str, Any]]

    def __post_init__(self) -> None:
        self.row_ends = [r.end for r in self.rows]
        self.row_starts = [r.start for r in self.rows]
        self.state_ends = [s.end for s in self.states]
        self.state_starts = [s.start for s in self.states]
        self.raw_times = [e["time"] for e in self.raw]
        self.event_times = [e["time"] for e in self.events]
        self.breaks = [e["time"] for e in self.events if e["kind"] in BREAK_KINDS]

    def rows_in(self, a: float, b: float) -> list[Row]:
        """Rows overlapping [a, b), clipped to it."""
        lo, hi = bisect.bisect_right(self.row_ends, a), bisect.bisect_left(self.row_starts, b)
        return [replace(r, start=max(r.start, a), end=min(r.end, b)) for r in self.rows[lo:hi]]

    def states_in(self, a: float, b: float, clip: bool = True) -> list[SiteState]:
        """Filtered site states overlapping [a, b), clipped to it (or whole)."""
        lo, hi = bisect.bisect_right(self.state_ends, a), bisect.bisect_left(self.state_starts, b)
        picked = self.states[lo:hi]
        return [replace(s, start=max(s.start, a), end=min(s.end, b)) for s in picked] if clip else picked

    def stats(self, a: float, b: float) -> dict[str, Any] | None:
        """The VP_STATS numbers of the interval, None when the pair is not observed in it (step 3)."""
        rows = self.rows_in(a, b)
        if not any(r.observed for r in rows):
            return None
        raw = self.raw[bisect.bisect_left(self.raw_times, a) : bisect.bisect_left(self.raw_times, b)]
        found = bisect.bisect_left(self.event_times, a), bisect.bisect_left(self.event_times, b)
        events = self.events[found[0] : found[1]]
        return vp_stats_row(rows, raw, self.states_in(a, b), events)

    def p_break(self, a: float, w1: float, d: float) -> float | None:
        """P_v(D) of the sessions starting in [a, w1 - D] (step 4)."""
        states = self.states_in(a, w1, clip=False)
        observed = [(s.start, s.end) for s in states if not s.gap]
        routed = [(s.start, s.end) for s in states if not s.gap and s.site is not None]
        lo, hi = bisect.bisect_right(self.breaks, a - d), bisect.bisect_right(self.breaks, w1 + d)
        return break_probability(observed, routed, self.breaks[lo:hi], (a, w1), d)


def pairs_of(timeline: pd.DataFrame, params: AnalysisParams) -> list[Pair]:
    """Step 1 for every observed (VP, target) of the timeline."""
    out = []
    for key, rows in pair_rows(timeline):
        if any(r.observed for r in rows):
            found = PairEvents.of(rows, params.min_dwell_s)
            out.append(Pair(key, rows, found.raw, found.states, found.events))
    return out


@dataclass(frozen=True)
class Plan:
    """Which intervals and session lengths one run recomputes (step 2)."""

    spans: list[Span]
    sessions: dict[Span, tuple[float, ...]]

    @staticmethod
    def of(window: Span, size: float, sessions: Sequence[float], horizon: float) -> Plan:
        longest = max(sessions, default=0.0)
        spans = [s for s in intervals(window, size) if s[1] + longest >= horizon]
        return Plan(spans, {s: tuple(d for d in sessions if s[1] + d >= horizon) for s in spans})

    @property
    def first(self) -> float | None:
        return self.spans[0][0] if self.spans else None


def _ts(seconds: Sequence[float]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(seconds), unit="s", utc=True)).dt.as_unit("us")


def _with_interval(frame: pd.DataFrame, spans: Sequence[Span]) -> pd.DataFrame:
    frame.insert(0, "interval_end", _ts([b for _, b in spans]))
    frame.insert(0, "interval_start", _ts([a for a, _ in spans]))
    return frame


def interval_stats(pairs: Sequence[Pair], plan: Plan) -> Iterator[tuple[Span, Pair, dict[str, Any]]]:
    """(interval, pair, statistics) for every recomputed interval where the pair is observed."""
    for span in plan.spans:
        for pair in pairs:
            stats = pair.stats(*span)
            if stats is not None:
                yield span, pair, stats


def _figures(
    span: Span, found: list[tuple[Pair, dict[str, Any]]], sessions: Sequence[float], w1: float
) -> list[tuple[Any, ...]]:
    """Per pair and session length: P_v(D) and the interval's Poisson figure (step 4), as
    :func:`anystab.estimates.estimate_records` takes them."""
    out = []
    for pair, stats in found:
        routed = [(s.start, s.end) for s in pair.states_in(*span) if not s.gap and s.site is not None]
        routed_s = sum(b - a for a, b in merge_intervals(routed))
        breaks = stats["switches"] + stats["withdraws"]
        for d in sessions:
            p = pair.p_break(span[0], min(span[1] + d, w1), d)
            out.append((*pair.key, d, p, poisson_probability(breaks, routed_s, d)))
    return out


def interval_tables(
    timeline: pd.DataFrame, params: AnalysisParams, window: Span, size: float, horizon: float
) -> tuple[pd.DataFrame, pd.DataFrame, Plan]:
    """(vp_stats, estimates, plan) of the intervals the plan recomputes (see the module docstring)."""
    plan = Plan.of(window, size, params.sessions_s, horizon)
    pairs = pairs_of(timeline, params)
    by_span: dict[Span, list[tuple[Pair, dict[str, Any]]]] = {s: [] for s in plan.spans}
    for span, pair, stats in interval_stats(pairs, plan):
        by_span[span].append((pair, stats))
    stats_rows = [(span, {**dict(zip(PAIR_KEYS, p.key, strict=True)), **s}) for span, found in by_span.items()
                  for p, s in found]  # fmt: skip
    stats = _with_interval(records_frame("vp_stats", [r for _, r in stats_rows]), [s for s, _ in stats_rows])
    records: list[dict[str, Any]] = []
    spans: list[Span] = []
    for span, found in by_span.items():
        sessions = plan.sessions[span]
        if not found or not sessions:
            continue
        numbers = [(*p.key, s["switches"] + s["withdraws"], s["observed_s"]) for p, s in found]
        rows = estimate_records(numbers, _figures(span, found, sessions, window[1]), params, sessions)
        records += rows
        spans += [span] * len(rows)
    estimates = _with_interval(records_frame("estimates", records), spans)
    return _ordered(stats, STATS_ORDER), _ordered(estimates, ESTIMATES_ORDER), plan


def _ordered(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)
