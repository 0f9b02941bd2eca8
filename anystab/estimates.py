"""Estimates: the probability that a TCP session of length D breaks, per vantage point and aggregated.

Steps (SPEC, "Session-break probability"; all sets are unions of intervals, measured exactly, no sampling):

1. Per (VP, target), take the site states after the transient filter (:func:`anystab.events.pair_states`)
   and the break events (switch + withdraw) of the EVENTS table, which are already filtered.
2. Valid starts ``T``: the t in [W0, W1 - D] such that [t, t + D] lies inside one observed stretch, and
   the site at t is not None. Computed as (each observed stretch [a, b] shrunk to [a, b - D]) intersected
   with [W0, W1 - D] and with the routed site states.
3. Broken starts ``B``: T intersected with the union over break times s of [s - D, s).
4. ``P_v(D) = |B| / |T|``, undefined (None) when |T| = 0.
5. Poisson comparison: ``lambda_v = breaks / routed seconds`` (routed seconds of the filtered site states,
   so that breaks and exposure come from the same filtered timeline), ``P^_v(D) = 1 - exp(-lambda_v D)``;
   undefined when the VP was never routed.
6. Aggregate per scope (``all`` and each collector), target and D: VPs observed, VPs with P defined,
   mean / median / p90 / p99 of the defined P (numpy percentiles, linear), share of observed VPs with at
   least one break, a percentile bootstrap interval of the mean (``params.bootstrap`` resamples of the VPs,
   a fresh ``numpy.random.default_rng(params.seed)`` per row so reruns and row order do not matter), the
   mean Poisson P over VPs with routed time, and breaks per VP-day of observed time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from anystab.events import BREAK_KINDS, SiteState, pair_states
from anystab.frames import shared_group_numbers
from anystab.params import AnalysisParams
from anystab.sums import group_sums, sequential_sums
from anystab.timeline import PAIR_KEYS, UNOBSERVED, make_frame, to_seconds

CI_LEVEL = 0.95
SECONDS_PER_DAY = 86400.0
Interval = tuple[float, float]


def merge_intervals(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted union of intervals; empty ones dropped, touching ones joined."""
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def measure(intervals: Sequence[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def break_probability(
    observed: Sequence[Interval],
    routed: Sequence[Interval],
    break_times: Sequence[float],
    window: tuple[float, float],
    d: float,
) -> float | None:
    """P_v(D) from interval lists in seconds; None when no start is valid."""
    return _merged_break_probability(
        merge_intervals(observed), merge_intervals(routed), break_times, window, d
    )


def _merged_break_probability(
    observed: list[Interval],
    routed: list[Interval],
    break_times: Sequence[float],
    window: tuple[float, float],
    d: float,
) -> float | None:
    """:func:`break_probability` of interval lists already merged (a VP's are merged once for every D)."""
    w0, w1 = window
    starts = merge_intervals([(a, b - d) for a, b in observed])
    valid = intersect(intersect(starts, [(w0, w1 - d)]), routed)
    total = measure(valid)
    if total <= 0:
        return None
    broken = intersect(valid, merge_intervals([(s - d, s) for s in break_times]))
    return measure(broken) / total


def session_break_probability(
    timeline_vp: pd.DataFrame, break_times: Sequence[float], window: tuple[float, float], d: float
) -> float | None:
    """P_v(D) for one (VP, target) from its timeline rows (``start``, ``end``, ``state``, ``site``).

    Pass the site states after the transient filter to get the figure the estimates use; with
    ``min_dwell`` 0 the raw timeline rows give the same. Times may be timestamps or float seconds.
    """
    starts, ends = _seconds(timeline_vp["start"]), _seconds(timeline_vp["end"])
    observed_mask = (timeline_vp["state"] != UNOBSERVED).to_numpy()
    routed_mask = observed_mask & timeline_vp["site"].notna().to_numpy()
    observed = [(float(a), float(b)) for a, b, m in zip(starts, ends, observed_mask, strict=True) if m]
    routed = [(float(a), float(b)) for a, b, m in zip(starts, ends, routed_mask, strict=True) if m]
    return break_probability(observed, routed, break_times, window, d)


def _seconds(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column):
        return to_seconds(column)
    seconds: np.ndarray = column.to_numpy(dtype=float)
    return seconds


def poisson_probability(breaks: int, routed_s: float, d: float) -> float | None:
    """1 - exp(-lambda D) with lambda = breaks / routed seconds; None when never routed."""
    if routed_s <= 0:
        return None
    return 1.0 - math.exp(-breaks / routed_s * d)


def _state_intervals(states: Sequence[SiteState]) -> tuple[list[Interval], list[Interval]]:
    observed = [(s.start, s.end) for s in states if not s.gap]
    routed = [(s.start, s.end) for s in states if not s.gap and s.site is not None]
    return observed, routed


def vp_figures(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
) -> list[tuple[Any, ...]]:
    """Per VP_STATS row and session length: (collector, peer_asn, peer_ip, target, session_s, P_v(D), the
    Poisson figure), as :func:`estimate_records` takes them (None: undefined).

    Every pair's intervals are laid out in arrays, one pair after the other (:class:`_PairIntervals`), and
    P_v(D) is computed for all pairs at once per session length (:func:`_pair_probabilities`)."""
    keys = list(vp_stats[PAIR_KEYS].itertuples(index=False, name=None))
    if not keys:
        return []
    p, poisson = _vp_figure_arrays(timeline, events, vp_stats, params, window, keys)
    sessions = list(params.sessions_s)
    n_d = len(sessions)
    p_rows = p.ravel().tolist()
    poisson_rows = poisson.ravel().tolist()
    return [
        (*keys[k // n_d], sessions[k % n_d], None if x != x else x, None if q != q else q)
        for k, (x, q) in enumerate(zip(p_rows, poisson_rows, strict=True))
    ]


def _vp_figure_arrays(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    keys: list[tuple[Any, ...]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`vp_figures`' numbers as two arrays of VP_STATS rows x session lengths (P_v(D), the Poisson
    figure; NaN: undefined). ``keys``: the rows' (VP, target) if already made (made here when needed)."""
    n_d = len(params.sessions_s)
    if vp_stats.empty:
        return np.zeros((0, n_d)), np.zeros((0, n_d))
    codes = _pair_codes([vp_stats, timeline, events])
    pairs = int(max(c.max(initial=-1) for c in codes)) + 1
    vp_code, timeline_code, event_code = codes
    intervals = None
    if params.min_dwell_s <= 0:
        intervals = _PairIntervals.of_rows(timeline, timeline_code, pairs)
    if intervals is None:  # the transient filter's states (or rows that overlap: merged one pair at a time)
        if keys is None:
            keys = list(vp_stats[PAIR_KEYS].itertuples(index=False, name=None))
        intervals = _PairIntervals.of_states(pair_states(timeline, params.min_dwell_s), keys, vp_code, pairs)
    is_break = events["kind"].isin(BREAK_KINDS).to_numpy() if len(events) else np.zeros(0, dtype=bool)
    break_code = event_code[is_break]
    break_time = to_seconds(events["time"][is_break]) if is_break.any() else np.zeros(0)
    order = np.lexsort((break_time, break_code))
    break_code, break_time = break_code[order], break_time[order]
    breaks = np.bincount(break_code, minlength=pairs)
    routed_s = sequential_sums(intervals.routed_end - intervals.routed_start, intervals.routed_pair, pairs)
    sessions = list(params.sessions_s)
    p = [_pair_probabilities(intervals, break_code, break_time, window, d, pairs) for d in sessions]
    poisson = [_poisson(breaks, routed_s, d) for d in sessions]
    return np.stack(p, axis=1)[vp_code], np.stack(poisson, axis=1)[vp_code]


def _pair_codes(frames: Sequence[pd.DataFrame]) -> list[np.ndarray]:
    """Per frame, each row's (VP, target) as a number shared by all the frames."""
    return shared_group_numbers(frames, PAIR_KEYS)


@dataclass(frozen=True)
class _PairIntervals:
    """Every pair's merged observed and routed intervals (:func:`merge_intervals`), ordered by pair, then
    time; each routed interval lies in one observed interval (``routed_in``: its index)."""

    observed_pair: np.ndarray
    observed_start: np.ndarray
    observed_end: np.ndarray
    routed_pair: np.ndarray
    routed_start: np.ndarray
    routed_end: np.ndarray
    routed_in: np.ndarray

    @classmethod
    def of_rows(cls, timeline: pd.DataFrame, code: np.ndarray, pairs: int) -> _PairIntervals | None:
        """From the timeline rows (the site states of min_dwell 0 cover the same time); None when two rows
        of a pair overlap (merged one pair at a time then)."""
        empty = np.zeros(0)
        if timeline.empty:
            return cls(empty.astype(np.int64), empty, empty, empty.astype(np.int64), empty, empty, empty)
        start, end = to_seconds(timeline["start"]), to_seconds(timeline["end"])
        observed = (timeline["state"] != UNOBSERVED).to_numpy() & (end > start)
        routed = observed & timeline["site"].notna().to_numpy()
        merged = []
        for mask in (observed, routed):
            rows = np.flatnonzero(mask)
            rows = rows[np.lexsort((end[rows], start[rows], code[rows]))]
            c, a, b = code[rows], start[rows], end[rows]
            same = c[1:] == c[:-1]
            if (same & (a[1:] < b[:-1])).any():
                return None
            merged.append(_merged_runs(c, a, b))
        (o_pair, o_start, o_end), (r_pair, r_start, r_end) = merged
        return cls(
            o_pair, o_start, o_end, r_pair, r_start, r_end, _containing(o_pair, o_start, r_pair, r_start)
        )

    @classmethod
    def of_states(
        cls,
        states: dict[tuple[Any, ...], list[SiteState]],
        keys: list[tuple[Any, ...]],
        code: np.ndarray,
        pairs: int,
    ) -> _PairIntervals:
        """From each pair's site states (after the transient filter), merged one pair at a time."""
        parts: list[list[tuple[int, float, float]]] = [[], []]
        seen: dict[int, tuple[Any, ...]] = {}
        for key, c in zip(keys, code.tolist(), strict=True):
            seen.setdefault(c, key)
        for c in sorted(seen):
            for part, intervals in zip(parts, _state_intervals(states.get(seen[c], [])), strict=True):
                part += [(c, a, b) for a, b in merge_intervals(intervals)]
        (o_pair, o_start, o_end), (r_pair, r_start, r_end) = (_columns(part) for part in parts)
        return cls(
            o_pair, o_start, o_end, r_pair, r_start, r_end, _containing(o_pair, o_start, r_pair, r_start)
        )


def _columns(part: list[tuple[int, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pair, start, end = zip(*part, strict=True) if part else ((), (), ())
    return np.array(pair, dtype=np.int64), np.array(start, dtype=float), np.array(end, dtype=float)


def _merged_runs(pair: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """:func:`merge_intervals` of every pair at once, for intervals ordered by pair, then time, whose
    ends do not decrease within a pair (so the end before is the furthest): a run ends where the next
    interval starts later or is another pair's."""
    opens = np.ones(len(pair), dtype=bool)
    opens[1:] = (pair[1:] != pair[:-1]) | (start[1:] > end[:-1])
    closes = np.ones(len(pair), dtype=bool)
    closes[:-1] = opens[1:]
    return pair[opens], start[opens], end[closes]


def _containing(
    o_pair: np.ndarray, o_start: np.ndarray, r_pair: np.ndarray, r_start: np.ndarray
) -> np.ndarray:
    """For each routed interval, the index of the observed interval of its pair that contains it: the last
    one starting at or before it."""
    return _first_after(o_pair, o_start, r_pair, r_start, strict=True) - 1


def _first_after(
    x_pair: np.ndarray, x_time: np.ndarray, q_pair: np.ndarray, q_time: np.ndarray, strict: bool
) -> np.ndarray:
    """For each query (pair, time), the index of the first x (ordered by pair, then time) that comes after
    it: of a later pair, or of its pair at a later time (``strict``) or at the same or a later time."""
    pair = np.concatenate([x_pair, q_pair])
    time = np.concatenate([x_time, q_time])
    tie = np.concatenate([np.full(len(x_pair), 0 if strict else 1), np.full(len(q_pair), 1 if strict else 0)])
    order = np.lexsort((tie, time, pair))
    is_x = order < len(x_pair)
    before: np.ndarray = np.cumsum(is_x) - is_x  # x before each place in the order
    out = np.empty(len(q_pair), dtype=np.int64)
    out[order[~is_x] - len(x_pair)] = before[~is_x]
    return out


def _pair_probabilities(
    intervals: _PairIntervals,
    break_pair: np.ndarray,
    break_time: np.ndarray,
    window: tuple[float, float],
    d: float,
    pairs: int,
) -> np.ndarray:
    """P_v(D) of every pair (NaN: no valid start), step by step as :func:`_merged_break_probability`.

    A pair's valid starts are its routed intervals clipped to the starts of the observed interval holding
    each ([a, b - D]) and to [W0, W1 - D], in order; its break intervals [s - D, s) are merged where they
    meet; the broken starts are every (valid piece, break interval) overlap, in order."""
    w0, w1 = window
    held = intervals.routed_in
    low = np.maximum(np.maximum(intervals.observed_start[held], w0), intervals.routed_start)
    high = np.minimum(np.minimum(intervals.observed_end[held] - d, w1 - d), intervals.routed_end)
    keep = (intervals.observed_end[held] - d > intervals.observed_start[held]) & (high > low)
    v_pair, v_start, v_end = intervals.routed_pair[keep], low[keep], high[keep]
    total = sequential_sums(v_end - v_start, v_pair, pairs)
    b_start = break_time - d
    nonempty = b_start < break_time
    b_pair, b_start, b_end = break_pair[nonempty], b_start[nonempty], break_time[nonempty]
    b_pair, b_start, b_end = _merged_runs(b_pair, b_start, b_end)
    lo = _first_after(b_pair, b_end, v_pair, v_start, strict=True)
    hi = _first_after(b_pair, b_start, v_pair, v_end, strict=False)
    count = np.maximum(hi - lo, 0)
    piece = np.repeat(np.arange(len(v_pair)), count)
    j = np.repeat(lo, count) + (np.arange(len(piece)) - np.repeat(np.cumsum(count) - count, count))
    width = np.minimum(v_end[piece], b_end[j]) - np.maximum(v_start[piece], b_start[j])
    broken = sequential_sums(width, v_pair[piece], pairs)
    out = np.full(pairs, math.nan)
    valid = total > 0
    out[valid] = broken[valid] / total[valid]
    return out


def _poisson(breaks: np.ndarray, routed_s: np.ndarray, d: float) -> np.ndarray:
    """:func:`poisson_probability` of every pair (NaN: never routed); ``math.exp``, as there."""
    out = np.full(len(breaks), math.nan)
    routed = np.flatnonzero(routed_s > 0)
    rate = -breaks[routed] / routed_s[routed] * d
    out[routed] = [1.0 - math.exp(x) for x in rate.tolist()]
    return out


def _resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """The bootstrap's draws for ``n`` values: the same for every row of that size (a fresh generator
    from the same seed), so drawn once per size and kept (see :data:`RESAMPLE_CACHE`)."""
    key = (n, resamples, seed)
    draws = _resamples.get(key)
    if draws is None:
        draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
        draws.flags.writeable = False
        if len(_resamples) >= RESAMPLE_CACHE:
            _resamples.pop(next(iter(_resamples)))
        _resamples[key] = draws
    return draws


RESAMPLE_CACHE = 32
_resamples: dict[tuple[int, int, int], np.ndarray] = {}


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval (CI_LEVEL) of the mean; NaN when there is nothing to resample."""
    if len(values) == 0 or resamples <= 0:
        return math.nan, math.nan
    means = values[_resample_indices(len(values), resamples, seed)].mean(axis=1)
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


BATCH_VALUES = 1 << 22  # bootstrap means computed at once: rows x resamples x values


def _defined_figures(values: np.ndarray, counts: np.ndarray, params: AnalysisParams) -> list[np.ndarray]:
    """Per row of defined P figures: [mean, median, p90, p99, CI low, CI high], NaN when undefined.

    ``values`` holds the rows' figures one row after the other, ``counts`` each row's number of them.
    Rows of one size are stacked and computed together, row by row the same numbers as one at a time
    (numpy reduces and interpolates each row alike), so that thousands of targets cost little more than
    their values."""
    out = [np.full(len(counts), math.nan) for _ in range(6)]
    first = np.cumsum(counts) - counts
    tail = (1 - CI_LEVEL) / 2 * 100
    single = counts == 1
    if single.any():  # one value x >= 0: its mean, percentiles and every resample's mean are x itself
        rows = np.flatnonzero(single)
        x = values[first[rows]]
        plain = _plain_values(x)
        for k in range(4 if params.bootstrap <= 0 else 6):
            out[k][rows[plain]] = x[plain]
    for n in np.unique(counts):
        rows = np.flatnonzero(counts == n)
        if n == 1:
            rows = rows[~_plain_values(values[first[rows]])]
        if n == 0 or not len(rows):
            continue
        distinct, same = _distinct_rows(values[first[rows][:, None] + np.arange(n)])
        figures = [np.full(len(distinct), math.nan) for _ in range(6)]
        step = max(1, BATCH_VALUES // (int(n) * max(1, params.bootstrap)))
        for at in range(0, len(distinct), step):
            chunk = slice(at, at + step)
            stack = distinct[chunk]
            figures[0][chunk] = stack.mean(axis=1)
            figures[1][chunk], figures[2][chunk], figures[3][chunk] = np.percentile(
                stack, [50, 90, 99], axis=1
            )
            if params.bootstrap > 0:
                draws = _resample_indices(int(n), params.bootstrap, params.seed)
                boot = np.ascontiguousarray(stack[:, draws]).mean(axis=2)  # each row reduced as alone
                figures[4][chunk], figures[5][chunk] = np.percentile(boot, [tail, 100 - tail], axis=1)
        for k, figure in enumerate(figures):
            out[k][rows] = figure[same]
    return out


def _distinct_rows(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a 2-d array (equal when every value has the same bits) and, per row, its
    row among them: rows of equal values (a scope of one collector and scope 'all', targets of equal
    figures) are computed once, and every figure of a row depends on that row alone."""
    if len(stack) < 2:
        return stack, np.zeros(len(stack), dtype=np.intp)
    stack = np.ascontiguousarray(stack)
    raw = stack.view(np.dtype((np.void, stack.dtype.itemsize * stack.shape[1]))).ravel()
    _, first, same = np.unique(raw, return_index=True, return_inverse=True)
    return stack[first], same.ravel()


def _plain_values(x: np.ndarray) -> np.ndarray:
    """Finite values that are not negative (nor -0.0): numpy's mean and percentiles of one alone are it."""
    plain: np.ndarray = np.isfinite(x) & ~np.signbit(x)
    return plain


def _row_means(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``np.mean`` of each row (rows laid out as in :func:`_defined_figures`), NaN for an empty row; rows
    of one size computed together."""
    out = np.full(len(counts), math.nan)
    first = np.cumsum(counts) - counts
    for n in np.unique(counts):
        if n == 0:
            continue
        rows = np.flatnonzero(counts == n)
        stack = values[first[rows][:, None] + np.arange(n)]
        if n == 1:  # numpy's mean of one plain value is the value
            plain = _plain_values(stack[:, 0])
            out[rows[plain]] = stack[plain, 0]
            rows, stack = rows[~plain], stack[~plain]
        out[rows] = stack.mean(axis=1)
    return out


ESTIMATE_COLUMNS = (
    "scope",
    "target",
    "session_s",
    "vps",
    "vps_defined",
    "mean_p",
    "median_p",
    "p90_p",
    "p99_p",
    "share_with_break",
    "ci_low",
    "ci_high",
    "poisson_mean_p",
    "breaks_per_vp_day",
)


def estimate_records(
    stats: Sequence[tuple[Any, ...]],
    figures: Sequence[tuple[Any, ...]],
    params: AnalysisParams,
    sessions: Sequence[float],
) -> list[dict[str, Any]]:
    """ESTIMATES rows (without interval columns) per scope ('all', then each collector), target and D.

    ``stats``: per VP_STATS row, (collector, peer_asn, peer_ip, target, breaks, observed_s);
    ``figures``: per VP and session length, (collector, peer_asn, peer_ip, target, session_s, p,
    poisson_p), p and poisson_p None or NaN when undefined. Only figures of pairs in ``stats`` count, in
    their own order (the bootstrap resamples them). Plain tuples, not frames: the monitor calls this for
    every interval, where grouping small frames cost more than the figures themselves.
    """
    columns = estimate_columns(stats, figures, params, sessions)
    return [dict(zip(ESTIMATE_COLUMNS, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _nulled(values: np.ndarray, null: np.ndarray) -> pa.Array:
    """A float column, null where ``null``."""
    return pa.array(values, pa.float64(), mask=null)


def estimate_columns(
    stats: Sequence[tuple[Any, ...]],
    figures: Sequence[tuple[Any, ...]],
    params: AnalysisParams,
    sessions: Sequence[float],
) -> dict[str, list[Any]]:
    """:func:`estimate_records` as columns (:data:`ESTIMATE_COLUMNS`, in that order).

    Every (scope, target) is a group numbered in the order of the rows (scope 'all' first, then the
    collectors sorted, targets in the order of ``params.targets``); each VP_STATS row belongs to two
    groups, each figure to two rows (group, session length). The numbers are computed for all rows at once,
    rows of one size stacked together."""
    columns: dict[str, list[Any]] = {name: [] for name in ESTIMATE_COLUMNS}
    targets = [t.text for t in params.targets]
    target_of = {t: k for k, t in enumerate(targets)}
    counted = [row for row in stats if row[3] in target_of]
    if not counted or not sessions:
        return columns
    scopes = [None, *sorted({row[0] for row in counted})]
    scope_of = {c: k for k, c in enumerate(scopes) if c is not None}
    target = np.array([target_of[row[3]] for row in counted], dtype=np.int64)
    collector = np.array([scope_of[row[0]] for row in counted], dtype=np.int64)
    breaks = np.array([row[4] for row in counted], dtype=np.int64)
    observed = np.array([row[5] for row in counted], dtype=float)
    distinct = list(dict.fromkeys(sessions))  # a length given twice gets its rows twice
    session_of = {d: k for k, d in enumerate(distinct)}
    known = {row[:4] for row in counted}
    kept = [f for f in figures if f[:4] in known and f[4] in session_of]
    figure_columns = (
        np.array([target_of[f[3]] for f in kept], dtype=np.int64),
        np.array([scope_of[f[0]] for f in kept], dtype=np.int64),
        np.array([session_of[f[4]] for f in kept], dtype=np.int64),
        np.array([f[5] for f in kept], dtype=float),
        np.array([f[6] for f in kept], dtype=float),
    )
    arrays = _estimate_columns(
        scopes[1:], (target, collector, breaks, observed), figure_columns, params, sessions
    )
    return {k: v.to_pylist() if isinstance(v, pa.Array) else v for k, v in arrays.items()}


def _estimate_columns(
    collectors: list[Any],
    stat_columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    figure_columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    params: AnalysisParams,
    sessions: Sequence[float],
) -> dict[str, list[Any] | pa.Array]:
    """:func:`estimate_columns` of the counted VP_STATS rows and their figures as arrays: per row its
    target (index in ``params.targets``), collector (1 + index in the sorted ``collectors``), breaks and
    observed seconds; per figure its target, collector, session length (index among the distinct
    ``sessions``), P_v(D) and Poisson figure (NaN: undefined). Columns as Arrow arrays (the session
    lengths as given, a list): a table of 10,000 targets has 100,000 rows."""
    columns: dict[str, list[Any] | pa.Array] = {name: [] for name in ESTIMATE_COLUMNS}
    targets = [t.text for t in params.targets]
    scopes = [None, *collectors]
    target, collector, breaks, observed = stat_columns
    f_target, f_scope, f_session, p_figures, poisson_figures = figure_columns
    groups = len(scopes) * len(targets)
    member = np.concatenate([target, collector * len(targets) + target])  # 'all' rows, then collectors'
    vps = np.bincount(member, minlength=groups)
    present = np.flatnonzero(vps)  # the groups with rows, in row order
    with_break = np.bincount(member, weights=np.tile(breaks > 0, 2), minlength=groups)
    break_sum = np.bincount(member, weights=np.tile(breaks, 2), minlength=groups).astype(np.int64)
    observed_s = group_sums(np.tile(observed, 2), member, groups)

    distinct = list(dict.fromkeys(sessions))
    n_d = len(distinct)
    session_of = {d: k for k, d in enumerate(distinct)}
    row_of_group = np.full(groups, -1, dtype=np.int64)
    row_of_group[present] = np.arange(len(present)) * n_d
    f_row = np.concatenate([row_of_group[f_target], row_of_group[f_scope * len(targets) + f_target]])
    f_row += np.tile(f_session, 2)
    rows = len(present) * n_d
    p = np.tile(p_figures, 2)
    poisson = np.tile(poisson_figures, 2)

    def by_row(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        defined = ~np.isnan(values)
        where = f_row[defined]
        order = np.argsort(where, kind="stable")  # each row's values in the figures' order
        return values[defined][order], np.bincount(where, minlength=rows)

    p_values, p_counts = by_row(p)
    figures_p = _defined_figures(p_values, p_counts, params)
    poisson_values, poisson_counts = by_row(poisson)
    poisson_mean = _row_means(poisson_values, poisson_counts)
    pick = (np.arange(len(present))[:, None] * n_d + [session_of[d] for d in sessions]).ravel()
    p_counts, poisson_counts, poisson_mean = p_counts[pick], poisson_counts[pick], poisson_mean[pick]
    figures_p = [column[pick] for column in figures_p]
    n_d = len(sessions)

    group_scope, group_target = np.divmod(present, len(targets))
    scope_names = ["all", *scopes[1:]]
    columns["scope"] = pa.array(scope_names, pa.string()).take(pa.array(np.repeat(group_scope, n_d)))
    columns["target"] = pa.array(targets, pa.string()).take(pa.array(np.repeat(group_target, n_d)))
    columns["session_s"] = list(sessions) * len(present)
    g_vps = vps[present]
    columns["vps"] = pa.array(np.repeat(g_vps, n_d), pa.int64())
    share = with_break[present] / g_vps
    columns["share_with_break"] = pa.array(np.repeat(share, n_d), pa.float64())
    g_observed = observed_s[present]
    seen = g_observed > 0
    per_day = np.full(len(present), math.nan)
    per_day[seen] = break_sum[present][seen] / (g_observed[seen] / SECONDS_PER_DAY)
    columns["breaks_per_vp_day"] = _nulled(np.repeat(per_day, n_d), np.repeat(~seen, n_d))
    columns["vps_defined"] = pa.array(p_counts, pa.int64())
    empty = p_counts == 0
    for k, name in enumerate(("mean_p", "median_p", "p90_p", "p99_p")):
        columns[name] = _nulled(figures_p[k], empty)
    columns["ci_low"] = _nulled(figures_p[4], np.isnan(figures_p[4]))
    columns["ci_high"] = _nulled(figures_p[5], np.isnan(figures_p[5]))
    columns["poisson_mean_p"] = _nulled(poisson_mean, poisson_counts == 0)
    return columns


def build_estimates(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
) -> pd.DataFrame:
    """The ESTIMATES table: per scope ('all', then each collector), target and session length.

    :func:`estimate_columns` of :func:`vp_figures`, with the figures kept in arrays: each VP_STATS row's
    target and collector looked up once per distinct value, not a tuple per row and session length."""
    sessions = params.sessions_s
    p, poisson = _vp_figure_arrays(timeline, events, vp_stats, params, window)
    target_of = {t.text: k for k, t in enumerate(params.targets)}
    codes, names = pd.factorize(vp_stats["target"], use_na_sentinel=True)
    target_codes = np.array([target_of.get(t, -1) for t in names.tolist()] + [-1], dtype=np.int64)
    target = target_codes[codes]
    counted = np.flatnonzero(target >= 0)
    if not len(counted) or not sessions:
        return make_frame("estimates", {name: [] for name in ESTIMATE_COLUMNS})
    codes, names = pd.factorize(vp_stats["collector"].iloc[counted], use_na_sentinel=False)
    collectors = sorted(names.tolist())
    scope_of = {c: k + 1 for k, c in enumerate(collectors)}
    collector = np.array([scope_of[c] for c in names.tolist()], dtype=np.int64)[codes]
    breaks = (vp_stats["switches"] + vp_stats["withdraws"]).to_numpy(dtype=np.int64)[counted]
    observed = vp_stats["observed_s"].to_numpy(dtype=float)[counted]
    distinct = list(dict.fromkeys(sessions))
    n_d = len(sessions)
    figure_columns = (
        np.repeat(target[counted], n_d),
        np.repeat(collector, n_d),
        np.tile(np.array([distinct.index(d) for d in sessions], dtype=np.int64), len(counted)),
        p[counted].ravel(),
        poisson[counted].ravel(),
    )
    stat_columns = (target[counted], collector, breaks, observed)
    return make_frame(
        "estimates", _estimate_columns(collectors, stat_columns, figure_columns, params, sessions)
    )
