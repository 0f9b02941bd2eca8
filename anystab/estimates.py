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
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anystab.events import BREAK_KINDS, SiteState, pair_states
from anystab.params import AnalysisParams
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


def _break_times(events: pd.DataFrame) -> dict[tuple[Any, ...], list[float]]:
    breaks = events[events["kind"].isin(BREAK_KINDS)]
    if breaks.empty:
        return {}
    times = to_seconds(breaks["time"])
    return {key: [float(times[i]) for i in idx] for key, idx in breaks.groupby(PAIR_KEYS).indices.items()}


def vp_figures(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
) -> list[tuple[Any, ...]]:
    """Per VP_STATS row and session length: (collector, peer_asn, peer_ip, target, session_s, P_v(D), the
    Poisson figure), as :func:`estimate_records` takes them (None: undefined)."""
    states = pair_states(timeline, params.min_dwell_s)
    breaks = _break_times(events)
    records = []
    for key in vp_stats[PAIR_KEYS].itertuples(index=False, name=None):
        observed, routed = (merge_intervals(i) for i in _state_intervals(states.get(key, [])))
        times = breaks.get(key, [])
        routed_s = measure(routed)
        for d in params.sessions_s:
            p = _merged_break_probability(observed, routed, times, window, d)
            records.append((*key, d, p, poisson_probability(len(times), routed_s, d)))
    return records


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


def _defined_figures(values: list[list[float]], params: AnalysisParams) -> list[tuple[Any, ...]]:
    """Per array of defined P figures: (mean, median, p90, p99, CI low, CI high), None or NaN when empty.

    Arrays of one size are stacked and computed together, row by row the same numbers as one at a time
    (numpy reduces and interpolates each row alike), so that thousands of targets cost little more than
    their values."""
    out: list[tuple[Any, ...]] = [()] * len(values)
    by_size: dict[int, list[int]] = defaultdict(list)
    for k, v in enumerate(values):
        by_size[len(v)].append(k)
    tail = (1 - CI_LEVEL) / 2 * 100
    for n, rows in by_size.items():
        if n == 0:
            for k in rows:
                out[k] = (None, None, None, None, math.nan, math.nan)
            continue
        if n == 1:  # one value x >= 0: its mean, percentiles and every resample's mean are x itself
            alone = [k for k in rows if _plain(float(values[k][0]))]
            for k in alone:
                x = float(values[k][0])
                out[k] = (x, x, x, x, *((x, x) if params.bootstrap > 0 else (math.nan, math.nan)))
            rows = [k for k in rows if not _plain(float(values[k][0]))]
        step = max(1, BATCH_VALUES // (n * max(1, params.bootstrap)))
        for first in range(0, len(rows), step):
            chunk = rows[first : first + step]
            stack = np.array([values[k] for k in chunk], dtype=float)
            means = stack.mean(axis=1)
            median, p90, p99 = np.percentile(stack, [50, 90, 99], axis=1)
            if params.bootstrap > 0:
                draws = _resample_indices(n, params.bootstrap, params.seed)
                boot = np.ascontiguousarray(stack[:, draws]).mean(axis=2)  # each row reduced as alone
                low, high = np.percentile(boot, [tail, 100 - tail], axis=1)
            else:
                low = high = np.full(len(chunk), math.nan)
            for j, k in enumerate(chunk):
                figures = (means[j], median[j], p90[j], p99[j], low[j], high[j])
                out[k] = tuple(float(x) for x in figures)
    return out


def _plain(x: float) -> bool:
    """A finite value that is not negative (nor -0.0): numpy's mean and percentiles of it alone are it."""
    return math.isfinite(x) and math.copysign(1.0, x) > 0


def _row_means(values: list[list[float]]) -> list[float | None]:
    """``float(np.mean(v))`` of each list (None when empty), lists of one size computed together."""
    out: list[float | None] = [None] * len(values)
    by_size: dict[int, list[int]] = defaultdict(list)
    for k, v in enumerate(values):
        if len(v) == 1 and _plain(v[0]):
            out[k] = v[0]  # numpy's mean of one such value is the value
        elif v:
            by_size[len(v)].append(k)
    for rows in by_size.values():
        means = np.array([values[k] for k in rows], dtype=float).mean(axis=1)
        for j, k in enumerate(rows):
            out[k] = float(means[j])
    return out


def _scope_figures(rows: list[tuple[int, float]]) -> dict[str, Any]:
    """The numbers of an ESTIMATES row that do not depend on the session length, from the scope's VPs'
    (breaks, observed seconds). One VP's sums are its own numbers (numpy adds nothing to them)."""
    if len(rows) == 1:
        ((count, seen),) = rows
        observed_s = float(seen)
        return {
            "vps": 1,
            "share_with_break": 1.0 if count > 0 else 0.0,
            "breaks_per_vp_day": float(count) / (observed_s / SECONDS_PER_DAY) if observed_s > 0 else None,
        }
    breaks = np.array([b for b, _ in rows], dtype=np.int64)
    observed_s = float(np.array([o for _, o in rows], dtype=float).sum())
    return {
        "vps": len(breaks),
        "share_with_break": float((breaks > 0).mean()) if len(breaks) else None,
        "breaks_per_vp_day": float(breaks.sum()) / (observed_s / SECONDS_PER_DAY) if observed_s > 0 else None,
    }


def _defined(column: list[float | None]) -> list[float]:
    """The values that are neither None nor NaN, in order, as floats."""
    return [float(v) for v in column if v is not None and v == v]


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


def estimate_columns(
    stats: Sequence[tuple[Any, ...]],
    figures: Sequence[tuple[Any, ...]],
    params: AnalysisParams,
    sessions: Sequence[float],
) -> dict[str, list[Any]]:
    """:func:`estimate_records` as columns (:data:`ESTIMATE_COLUMNS`, in that order)."""
    known = {row[:4] for row in stats}
    # (collector or None, target)
    per_scope: dict[tuple[str | None, str], list[tuple[int, float]]] = defaultdict(list)
    for collector, _asn, _ip, target, breaks, observed_s in stats:
        per_scope[None, target].append((breaks, observed_s))
        per_scope[collector, target].append((breaks, observed_s))
    per_d: dict[tuple[str | None, str, float], list[tuple[float | None, float | None]]] = defaultdict(list)
    for collector, asn, ip, target, d, p, poisson in figures:
        if (collector, asn, ip, target) in known:
            per_d[None, target, d].append((p, poisson))
            per_d[collector, target, d].append((p, poisson))
    columns: dict[str, list[Any]] = {name: [] for name in ESTIMATE_COLUMNS}
    p_values: list[list[float]] = []
    poisson_values: list[list[float]] = []
    for scope in [None, *sorted({row[0] for row in stats})]:
        for target in [t.text for t in params.targets]:
            rows = per_scope.get((scope, target))
            if not rows:
                continue
            common = {"scope": "all" if scope is None else scope, "target": target}
            for name, value in (common | _scope_figures(rows)).items():
                columns[name] += [value] * len(sessions)
            columns["session_s"] += list(sessions)
            for d in sessions:
                vps = per_d.get((scope, target, d), [])
                p_values.append(_defined([v for v, _ in vps]))
                poisson_values.append(_defined([q for _, q in vps]))
    defined = _defined_figures(p_values, params)
    columns["vps_defined"] = [len(p) for p in p_values]
    for k, name in enumerate(("mean_p", "median_p", "p90_p", "p99_p")):
        columns[name] = [row[k] for row in defined]
    columns["ci_low"] = [None if math.isnan(row[4]) else row[4] for row in defined]
    columns["ci_high"] = [None if math.isnan(row[5]) else row[5] for row in defined]
    columns["poisson_mean_p"] = _row_means(poisson_values)
    return columns


def build_estimates(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
) -> pd.DataFrame:
    """The ESTIMATES table: per scope ('all', then each collector), target and session length."""
    figures = vp_figures(timeline, events, vp_stats, params, window)
    stats = zip(
        *(vp_stats[k].tolist() for k in PAIR_KEYS),
        (vp_stats["switches"] + vp_stats["withdraws"]).tolist(),
        vp_stats["observed_s"].tolist(),
        strict=True,
    )
    return make_frame("estimates", estimate_columns(list(stats), figures, params, params.sessions_s))
