"""Session-break probability: the SPEC worked example, interval measure, aggregates, bootstrap, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support.analysis import elem, params, run

from anystab.estimates import (
    _defined_figures,
    bootstrap_ci,
    break_probability,
    build_estimates,
    estimate_columns,
    estimate_records,
    merge_intervals,
    poisson_probability,
    session_break_probability,
    vp_figures,
)
from anystab.events import pair_states
from anystab.params import AnalysisParams
from anystab.targets import make_target, target_set
from anystab.timeline import PAIR_KEYS, make_frame, to_seconds

T = "192.0.2.0/24"
W = (0.0, 100.0)
EXAMPLE = [elem(-1, "R", T, "1 2 10"), elem(40, "A", T, "1 3 10")]


def _row(r, scope: str = "all", d: float = 10.0) -> pd.Series:
    e = r.estimates
    return e[(e["scope"] == scope) & (e["session_s"] == d)].iloc[0]


def test_spec_worked_example_end_to_end():
    r = run(EXAMPLE, params(T, sessions_s=(10.0, 60.0)), W)
    assert _row(r, d=10.0)["mean_p"] == pytest.approx(10 / 90)
    assert _row(r, d=60.0)["mean_p"] == pytest.approx(1.0)
    assert _row(r, "rrc00", 10.0)["mean_p"] == pytest.approx(10 / 90)
    row = _row(r, d=60.0)
    assert (row["vps"], row["vps_defined"], row["share_with_break"]) == (1, 1, 1.0)
    assert row["poisson_mean_p"] == pytest.approx(1 - math.exp(-60 / 100))
    assert row["breaks_per_vp_day"] == pytest.approx(864.0)


def test_session_break_probability_on_timeline_rows():
    r = run(EXAMPLE, params(T), W)
    assert session_break_probability(r.timeline, [40.0], W, 10.0) == pytest.approx(10 / 90)
    assert session_break_probability(r.timeline, [], W, 10.0) == 0.0
    assert session_break_probability(r.timeline, [40.0], W, 99.0) == pytest.approx(1.0)
    assert session_break_probability(r.timeline, [40.0], W, 100.0) is None  # one start: measure 0
    assert session_break_probability(r.timeline, [40.0], W, 150.0) is None


def test_unrouted_time_is_not_a_valid_start_and_withdraw_breaks():
    # routed [0, 50), unrouted from 50: T = [0, 50) for D = 10, B = [40, 50)
    r = run([elem(-1, "R", T, "1 2 10"), elem(50, "W", T)], params(T, sessions_s=(10.0,)), W)
    assert _row(r)["mean_p"] == pytest.approx(10 / 50)
    # a restore is not a break
    back = run([elem(-1, "R", T, "1 2 10"), elem(50, "W", T), elem(60, "A", T, "1 2 10")], params(T), W)
    assert _row(back)["mean_p"] == pytest.approx(10 / 80)


def test_gaps_remove_starts_that_would_overlap_them():
    # observed [0, 40) and [60, 100): starts [0, 30] and [60, 90] for D = 10, no breaks
    assert break_probability([(0, 40), (60, 100)], [(0, 100)], [], W, 10.0) == 0.0
    assert break_probability([(0, 40), (60, 100)], [(0, 100)], [95.0], W, 10.0) == pytest.approx(5 / 60)
    assert break_probability([(0, 5)], [(0, 5)], [], W, 10.0) is None


def test_min_dwell_changes_the_estimate():
    rows = [elem(-1, "R", T, "1 2 10"), elem(40, "A", T, "1 3 10"), elem(42, "A", T, "1 2 10")]
    raw = run(rows, params(T, sessions_s=(10.0,)), W)
    assert _row(raw)["mean_p"] == pytest.approx(12 / 90)
    filtered = run(rows, params(T, sessions_s=(10.0,), min_dwell_s=5), W)
    assert _row(filtered)["mean_p"] == 0.0
    assert filtered.vp_stats.iloc[0]["switches_raw"] == 2


def _many_vps(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        vp = (f"rrc0{i % 3}", 64500 + i, f"192.0.2.{i + 1}")
        rows.append(elem(-1, "R", T, "1 2 10", vp=vp))
        for k in range(i % 4):
            rows.append(elem(10 + 20 * k + i, "A", T, f"1 {3 + k} 10", vp=vp))
    return sorted(rows, key=lambda r: r["time"])


def test_aggregates_per_scope_percentiles_and_unobserved_vps():
    rows = _many_vps(9) + [elem(-1, "R", "198.51.100.0/24", "5 6", vp=("rrc00", 65000, "10.0.0.1"))]
    r = run(rows, params(T, "198.51.100.0/24", sessions_s=(10.0,)), W)
    row = _row(r)
    per_vp = []
    for i in range(9):
        breaks = [10.0 + 20 * k + i for k in range(i % 4)]
        per_vp.append(break_probability([W], [W], breaks, W, 10.0))
    assert row["vps"] == 9 and row["vps_defined"] == 9
    assert row["mean_p"] == pytest.approx(np.mean(per_vp))
    assert row["p90_p"] == pytest.approx(np.percentile(per_vp, 90))
    assert row["share_with_break"] == pytest.approx(6 / 9)
    assert row["breaks_per_vp_day"] == pytest.approx(sum(i % 4 for i in range(9)) / (900 / 86400))
    assert sorted(r.estimates["scope"].unique()) == ["all", "rrc00", "rrc01", "rrc02"]
    other = r.estimates[r.estimates["target"] == "198.51.100.0/24"]
    assert sorted(other["scope"]) == ["all", "rrc00"]
    # a VP never routed is counted but not averaged
    lonely = run([elem(10, "A", "192.0.2.128/25", "1 2 10")], params(T, sessions_s=(10.0,)), W)
    assert (_row(lonely)["vps"], _row(lonely)["vps_defined"]) == (1, 0)
    assert math.isnan(_row(lonely)["mean_p"]) and math.isnan(_row(lonely)["poisson_mean_p"])


def test_bootstrap_is_deterministic_and_brackets_the_mean():
    rows = _many_vps(12)
    first = run(rows, params(T, seed=7), W).estimates
    second = run(rows, params(T, seed=7), W).estimates
    pd.testing.assert_frame_equal(first, second)
    other_seed = run(rows, params(T, seed=8), W).estimates
    assert not np.allclose(first["ci_low"], other_seed["ci_low"], equal_nan=True)
    defined = first.dropna(subset=["ci_low"])
    assert ((defined["ci_low"] <= defined["mean_p"]) & (defined["mean_p"] <= defined["ci_high"])).all()
    assert bootstrap_ci(np.array([]), 100, 1) != bootstrap_ci(np.array([0.5]), 100, 1)
    assert bootstrap_ci(np.array([0.5, 0.5]), 100, 1) == (0.5, 0.5)


intervals = st.lists(st.tuples(st.floats(0, 100), st.floats(0, 40)), max_size=5)


@settings(max_examples=150, deadline=None)
@given(
    observed=intervals,
    routed=intervals,
    breaks=st.lists(st.floats(0, 100), max_size=6),
    d=st.floats(0.001, 150),
)
def test_probability_is_a_probability(observed, routed, breaks, d):
    obs = [(a, a + w) for a, w in observed]
    rou = [(a, a + w) for a, w in routed]
    p = break_probability(obs, rou, breaks, W, d)
    assert p is None or 0.0 <= p <= 1.0 + 1e-12
    if p is not None:
        longer = break_probability(obs, rou, breaks, W, d / 2)
        assert longer is not None


@settings(max_examples=100, deadline=None)
@given(breaks=st.lists(st.integers(1, 99), min_size=1, max_size=5, unique=True))
def test_short_sessions_break_rarely(breaks):
    """For D -> 0, P ~ breaks * D / |T|: it goes to zero linearly."""
    d = 1e-3
    p = break_probability([W], [W], [float(b) for b in breaks], W, d)
    assert p == pytest.approx(len(breaks) * d / (100 - d), rel=1e-6)


def _one_row_reference(p: np.ndarray, resamples: int, seed: int) -> tuple:
    """The figures of one ESTIMATES row computed alone, with a fresh generator, as the stage once did."""
    p = p[~np.isnan(p)]
    if not len(p):
        return (None, None, None, None, None, None)
    rng = np.random.default_rng(seed)
    low = high = math.nan
    if resamples > 0:
        means = p[rng.integers(0, len(p), size=(resamples, len(p)))].mean(axis=1)
        low, high = (float(x) for x in np.percentile(means, [2.5000000000000022, 97.5]))
    median, p90, p99 = (float(q) for q in np.percentile(p, [50, 90, 99]))
    ci = (None if math.isnan(low) else low, None if math.isnan(high) else high)
    return (float(p.mean()), median, p90, p99, *ci)


@pytest.mark.parametrize("resamples", [0, 1, 200])
def test_rows_computed_together_equal_rows_computed_alone(resamples: int) -> None:
    """Rows of one size are stacked and computed at once; every number equals the row's own, bit for bit."""
    rng = np.random.default_rng(5)
    targets = target_set([make_target(f"10.{i}.0.0/16") for i in range(40)])
    params = AnalysisParams(targets=targets, bootstrap=resamples, seed=11)
    stats, figures = [], []
    for i, t in enumerate(targets):
        for vp in range(int(rng.integers(1, 30)) if i % 7 else 0):
            stats.append(("rrc00", 64500 + vp, f"192.0.2.{vp}", t.text, int(rng.integers(0, 3)), 3600.0))
            p = float(rng.random()) if rng.random() > 0.2 else None
            figures.append(("rrc00", 64500 + vp, f"192.0.2.{vp}", t.text, 60.0, p, float(rng.random())))
    rows = estimate_records(stats, figures, params, (60.0,))
    by_target: dict[str, list] = {}
    for f in figures:
        by_target.setdefault(f[3], []).append(np.nan if f[5] is None else f[5])
    keys = ["mean_p", "median_p", "p90_p", "p99_p", "ci_low", "ci_high"]
    for row in rows:
        expected = _one_row_reference(np.array(by_target[row["target"]], dtype=float), resamples, 11)
        assert tuple(row[k] for k in keys) == expected, row


@pytest.mark.parametrize("resamples", [0, 100])
def test_equal_rows_computed_once_give_each_row_its_own_figures(resamples: int) -> None:
    """Rows of equal values are computed once: every row still gets its own figures, bit for bit (rows
    that differ only in the sign of a zero are not equal)."""
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 5, size=400)
    values = rng.choice([0.0, -0.0, 0.25, 1.0, 0.5], size=int(counts.sum()))
    params = AnalysisParams(targets=target_set([make_target(T)]), bootstrap=resamples, seed=7)
    got = _defined_figures(values, counts, params)
    first = np.cumsum(counts) - counts
    for r, n in enumerate(counts.tolist()):
        expected = _one_row_reference(values[first[r] : first[r] + n], resamples, 7)
        row = tuple(None if math.isnan(x[r]) else float(x[r]) for x in got)
        assert repr(row) == repr(expected), (r, values[first[r] : first[r] + n])


def _rows_one_at_a_time(stats, figures, params, sessions) -> list[dict]:
    """ESTIMATES rows computed one (scope, target, D) at a time from the rows' own VPs, as the stage once
    did."""
    known = {row[:4] for row in stats}
    out = []
    for scope in [None, *sorted({row[0] for row in stats})]:
        for target in [t.text for t in params.targets]:
            vps = [row for row in stats if row[3] == target and scope in (None, row[0])]
            if not vps:
                continue
            breaks = np.array([row[4] for row in vps])
            seen = float(np.array([row[5] for row in vps], dtype=float).sum()) if len(vps) > 1 else vps[0][5]
            for d in sessions:
                own = [f for f in figures if f[:4] in known and f[3] == target and scope in (None, f[0])]
                own = [f for f in own if f[4] == d]
                p = np.array([np.nan if f[5] is None else f[5] for f in own], dtype=float)
                q = np.array([np.nan if f[6] is None else f[6] for f in own], dtype=float)
                q = q[~np.isnan(q)]
                figures_p = _one_row_reference(p, params.bootstrap, params.seed)
                out.append(
                    {
                        "scope": "all" if scope is None else scope,
                        "target": target,
                        "session_s": d,
                        "vps": len(vps),
                        "vps_defined": int((~np.isnan(p)).sum()),
                        **dict(zip(["mean_p", "median_p", "p90_p", "p99_p"], figures_p[:4], strict=True)),
                        "share_with_break": float((breaks > 0).mean()),
                        "ci_low": figures_p[4],
                        "ci_high": figures_p[5],
                        "poisson_mean_p": float(q.mean()) if len(q) else None,
                        "breaks_per_vp_day": float(breaks.sum()) / (seen / 86400.0) if seen > 0 else None,
                    }
                )
    return out


@pytest.mark.parametrize("resamples", [0, 50])
def test_rows_of_all_scopes_at_once_equal_rows_one_at_a_time(resamples: int) -> None:
    """Every row (two collectors, VPs sent twice, figures of pairs not counted, a session length given twice,
    undefined figures) equals the row computed alone, bit for bit."""
    rng = np.random.default_rng(8)
    targets = target_set([make_target(f"10.{i}.0.0/16") for i in range(9)])
    params = AnalysisParams(targets=targets, bootstrap=resamples, seed=3)
    sessions = (60.0, 10.0, 60.0)
    stats, figures = [], []
    for _ in range(60):
        collector = str(rng.choice(["rrc00", "rrc01"]))
        vp = int(rng.integers(0, 9))
        target = str(rng.choice([t.text for t in targets] + ["10.99.0.0/16"]))
        key = (collector, 64500 + vp, f"192.0.2.{vp}", target)
        stats.append((*key, int(rng.integers(0, 3)), float(rng.choice([0.0, 3600.0, 1e3 * rng.random()]))))
        for d in (10.0, 60.0, 600.0):
            p = [None, float("nan"), 0.0, float(rng.random()), float(rng.random())][int(rng.integers(0, 5))]
            figures.append((*key, d, p, None if rng.random() < 0.2 else float(rng.random())))
    figures.append(("rrc00", 1, "198.51.100.1", "10.0.0.0/16", 60.0, 0.5, 0.5))  # not a counted pair
    rows = estimate_records(stats, figures, params, sessions)
    assert rows == _rows_one_at_a_time(stats, figures, params, sessions)


def _figures_one_pair_at_a_time(r, p: AnalysisParams, window: tuple[float, float]) -> list[tuple]:
    """Per VP_STATS row and session length, P_v(D) and the Poisson figure from the pair's own site states,
    by the public one-pair functions."""
    states = pair_states(r.timeline, p.min_dwell_s)
    breaks = r.events[r.events["kind"].isin(["switch", "withdraw"])]
    out = []
    for key in r.vp_stats[PAIR_KEYS].itertuples(index=False, name=None):
        own = breaks[(breaks[PAIR_KEYS].apply(tuple, axis=1) == key)] if len(breaks) else breaks
        times = [float(t) for t in to_seconds(own["time"])] if len(own) else []
        pair = [s for s in states.get(key, []) if not s.gap]
        observed = [(s.start, s.end) for s in pair]
        routed = merge_intervals([(s.start, s.end) for s in pair if s.site is not None])
        routed_s = sum(b - a for a, b in routed)
        for d in p.sessions_s:
            figure = break_probability(observed, routed, times, window, d)
            out.append((*key, d, figure, poisson_probability(len(times), routed_s, d)))
    return out


VPS = [("rrc00", 64500, "192.0.2.1"), ("rrc00", 64501, "192.0.2.2"), ("rrc01", 64500, "192.0.2.1")]
PREFIXES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]
_EVENT = st.tuples(
    st.floats(-5, 120, allow_nan=False).map(lambda t: round(t, 3)),
    st.sampled_from(["A", "W", "down", "up"]),
    st.sampled_from(PREFIXES),
    st.sampled_from(["1 2 10", "1 3 10", "1 3 11"]),
    st.sampled_from(VPS),
)


def _elements(events: list[tuple]) -> list[dict]:
    """A RIB entry of every prefix for every VP, then the events (announce, withdraw, session down or up)."""
    rows = [elem(-1, "R", t, "1 2 10", vp=vp) for t in PREFIXES for vp in VPS]
    for time, kind, prefix, path, vp in sorted(events, key=lambda e: e[0]):
        if kind in ("down", "up"):
            rows.append(elem(time, "S", vp=vp, new_state=1 if kind == "down" else 6))
        else:
            rows.append(elem(time, kind, prefix, path, vp=vp))
    return rows


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_EVENT, max_size=40),
    st.sampled_from([0.0, 4.0, 25.0]),
    st.lists(st.sampled_from([0.5, 5.0, 10.0, 30.0, 99.0, 150.0]), min_size=1, max_size=4),
)
def test_figures_of_all_pairs_at_once_equal_one_pair_at_a_time(events, min_dwell, sessions):
    """vp_figures lays every pair's intervals out in arrays and computes them together; each number equals
    the pair's own by break_probability and poisson_probability, bit for bit (sums in the same order)."""
    rows = _elements(events)
    p = params(*PREFIXES, sessions_s=tuple(sessions), min_dwell_s=min_dwell, bootstrap=0)
    r = run(rows, p, W)
    assert vp_figures(r.timeline, r.events, r.vp_stats, p, W) == _figures_one_pair_at_a_time(r, p, W)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(_EVENT, max_size=40),
    st.sampled_from([0.0, 4.0]),
    st.lists(st.sampled_from([0.5, 5.0, 10.0, 30.0, 99.0]), min_size=1, max_size=4),
    st.integers(1, len(PREFIXES)),
)
def test_estimates_table_equals_the_figures_as_tuples(events, min_dwell, sessions, counted):
    """build_estimates keeps the figures in arrays; its table equals estimate_columns of vp_figures' tuples
    (a session length given twice, VP rows of targets not in the parameters, several collectors)."""
    rows = _elements(events)
    r = run(rows, params(*PREFIXES, min_dwell_s=min_dwell, bootstrap=50), W)
    p = params(*PREFIXES[-counted:], sessions_s=tuple(sessions), min_dwell_s=min_dwell, bootstrap=50)
    table = build_estimates(r.timeline, r.events, r.vp_stats, p, W)
    stats = zip(
        *(r.vp_stats[k].tolist() for k in PAIR_KEYS),
        (r.vp_stats["switches"] + r.vp_stats["withdraws"]).tolist(),
        r.vp_stats["observed_s"].tolist(),
        strict=True,
    )
    figures = vp_figures(r.timeline, r.events, r.vp_stats, p, W)
    expected = make_frame("estimates", estimate_columns(list(stats), figures, p, p.sessions_s))
    assume(not table.empty)  # events where no VP is ever observed leave nothing to compare
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
