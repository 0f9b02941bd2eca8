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

import numpy as np
import pandas as pd

from anystab.events import BREAK_KINDS, SiteState, pair_states
from anystab.params import AnalysisParams
from anystab.timeline import PAIR_KEYS, UNOBSERVED, records_frame, to_seconds

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
    w0, w1 = window
    starts = merge_intervals([(a, b - d) for a, b in merge_intervals(observed)])
    valid = intersect(intersect(starts, [(w0, w1 - d)]), merge_intervals(routed))
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
    return column.to_numpy(dtype=float)


def poisson_probability(breaks: int, routed_s: float, d: float) -> float | None:
    """1 - exp(-lambda D) with lambda = breaks / routed seconds; None when never routed."""
    if routed_s <= 0:
        return None
    return 1.0 - math.exp(-breaks / routed_s * d)


def _state_intervals(states: Sequence[SiteState]) -> tuple[list[Interval], list[Interval]]:
    observed = [(s.start, s.end) for s in states if not s.gap]
    routed = [(s.start, s.end) for s in states if not s.gap and s.site is not None]
    return observed, routed


def _break_times(events: pd.DataFrame) -> dict[tuple, list[float]]:
    breaks = events[events["kind"].isin(BREAK_KINDS)]
    if breaks.empty:
        return {}
    times = to_seconds(breaks["time"])
    return {key: [float(times[i]) for i in idx] for key, idx in breaks.groupby(PAIR_KEYS).indices.items()}


def vp_break_probabilities(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
) -> pd.DataFrame:
    """Per VP_STATS row and session length: P_v(D) (``p``), the Poisson figure (``poisson_p``), breaks."""
    states = pair_states(timeline, params.min_dwell_s)
    breaks = _break_times(events)
    records = []
    for key in vp_stats[PAIR_KEYS].itertuples(index=False, name=None):
        observed, routed = _state_intervals(states.get(key, []))
        times = breaks.get(key, [])
        routed_s = measure(merge_intervals(routed))
        for d in params.sessions_s:
            p = break_probability(observed, routed, times, window, d)
            q = poisson_probability(len(times), routed_s, d)
            records.append((*key, d, p, q, len(times)))
    return pd.DataFrame(records, columns=[*PAIR_KEYS, "session_s", "p", "poisson_p", "breaks"])


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval (CI_LEVEL) of the mean; NaN when there is nothing to resample."""
    if len(values) == 0 or resamples <= 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _aggregate(
    p: np.ndarray, poisson: np.ndarray, breaks: np.ndarray, observed: np.ndarray, params: AnalysisParams
) -> dict:
    """One ESTIMATES row's numbers: the defined P and Poisson figures of the scope's VPs for one target and
    D, and the breaks and observed seconds of every VP of the scope (VP_STATS rows)."""
    p, poisson = p[~np.isnan(p)], poisson[~np.isnan(poisson)]
    observed_s = float(observed.sum())
    low, high = bootstrap_ci(p, params.bootstrap, params.seed)
    has_p = len(p) > 0
    median, p90, p99 = (float(q) for q in np.percentile(p, [50, 90, 99])) if has_p else (None, None, None)
    return {
        "vps": len(breaks),
        "vps_defined": len(p),
        "mean_p": float(p.mean()) if has_p else None,
        "median_p": median,
        "p90_p": p90,
        "p99_p": p99,
        "share_with_break": float((breaks > 0).mean()) if len(breaks) else None,
        "ci_low": None if math.isnan(low) else low,
        "ci_high": None if math.isnan(high) else high,
        "poisson_mean_p": float(poisson.mean()) if len(poisson) else None,
        "breaks_per_vp_day": float(breaks.sum()) / (observed_s / SECONDS_PER_DAY) if observed_s > 0 else None,
    }


def _group_rows(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, np.ndarray]:
    """Row positions of each group of ``frame`` (ascending, so the rows keep their order)."""
    if frame.empty:
        return {}
    return {
        k if isinstance(k, tuple) else (k,): v for k, v in frame.groupby(keys, sort=False).indices.items()
    }


def build_estimates(
    timeline: pd.DataFrame,
    events: pd.DataFrame,
    vp_stats: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    per_vp: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ESTIMATES table: per scope ('all', then each collector), target and session length.

    ``per_vp``: the per-VP figures (columns of :func:`vp_break_probabilities`) when the caller computed
    them itself (the monitor restricts them to an interval); ``timeline`` and ``events`` are then unused.
    Only the per-VP rows of pairs in ``vp_stats`` count, in their own order (the bootstrap resamples them).
    """
    if per_vp is None:
        per_vp = vp_break_probabilities(timeline, events, vp_stats, params, window)
    per_vp = per_vp.merge(vp_stats[PAIR_KEYS], on=PAIR_KEYS)
    p = per_vp["p"].to_numpy(dtype=float, na_value=np.nan)
    poisson = per_vp["poisson_p"].to_numpy(dtype=float, na_value=np.nan)
    breaks = (vp_stats["switches"] + vp_stats["withdraws"]).to_numpy()
    observed = vp_stats["observed_s"].to_numpy(dtype=float)
    stats_rows = {
        "all": _group_rows(vp_stats, ["target"]),
        "collector": _group_rows(vp_stats, ["collector", "target"]),
    }
    vp_rows = {
        "all": _group_rows(per_vp, ["target", "session_s"]),
        "collector": _group_rows(per_vp, ["collector", "target", "session_s"]),
    }
    none = np.zeros(0, dtype=np.intp)
    records = []
    for scope in ["all", *sorted(vp_stats["collector"].unique())]:
        kind, prefix = ("all", ()) if scope == "all" else ("collector", (scope,))
        for target in [t.text for t in params.targets]:
            rows = stats_rows[kind].get((*prefix, target))
            if rows is None:
                continue
            for d in params.sessions_s:
                mine = vp_rows[kind].get((*prefix, target, d), none)
                figures = _aggregate(p[mine], poisson[mine], breaks[rows], observed[rows], params)
                records.append({"scope": scope, "target": target, "session_s": d, **figures})
    return records_frame("estimates", records)
