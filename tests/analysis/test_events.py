"""Events, the min_dwell transient filter and per-VP statistics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from support.analysis import elem, kinds, params, run

from anystab.events import SiteState, apply_min_dwell, build_events, events_pair_by_pair
from anystab.params import AnalysisParams
from anystab.timeline import make_frame

ROOT = Path(__file__).resolve().parents[2]
T = "192.0.2.0/24"
W = (0.0, 100.0)


def S(start: float, end: float, site: str | None) -> SiteState:
    return SiteState(start, end, site)


def G(start: float, end: float) -> SiteState:
    return SiteState(start, end, None, gap=True)


def test_short_state_between_equal_sites_is_removed():
    states = [S(0, 40, "A"), S(40, 45, "B"), S(45, 100, "A")]
    assert apply_min_dwell(states, 10) == [S(0, 100, "A")]
    assert apply_min_dwell(states, 0) == states


def test_short_state_goes_to_the_state_before():
    assert apply_min_dwell([S(0, 40, "A"), S(40, 45, "B"), S(45, 100, "C")], 10) == [
        S(0, 45, "A"),
        S(45, 100, "C"),
    ]


def test_short_unrouted_state_is_filtered_too():
    assert apply_min_dwell([S(0, 40, "A"), S(40, 42, None), S(42, 100, "A")], 10) == [S(0, 100, "A")]


def test_short_state_after_a_gap_or_observation_start_goes_to_the_next_state():
    after_gap = [S(0, 40, "A"), G(40, 50), S(50, 53, "B"), S(53, 100, "C")]
    assert apply_min_dwell(after_gap, 10) == [S(0, 40, "A"), G(40, 50), S(50, 100, "C")]
    at_start = [S(0, 3, "B"), S(3, 100, "C")]
    assert apply_min_dwell(at_start, 10) == [S(0, 100, "C")]


def test_state_between_two_gaps_stays():
    states = [S(0, 40, "A"), G(40, 50), S(50, 53, "B"), G(53, 60), S(60, 100, "A")]
    assert apply_min_dwell(states, 10) == states


def test_filter_is_iterative_earliest_first():
    # B (3 s) goes to A; then C (4 s) goes to the merged A; D stays long.
    states = [S(0, 20, "A"), S(20, 23, "B"), S(23, 27, "C"), S(27, 100, "D")]
    assert apply_min_dwell(states, 5) == [S(0, 27, "A"), S(27, 100, "D")]
    # a flap A-B-A-B: each short state merges back, leaving one A then the long B
    flaps = [S(0, 50, "A"), S(50, 52, "B"), S(52, 54, "A"), S(54, 100, "B")]
    assert apply_min_dwell(flaps, 5) == [S(0, 54, "A"), S(54, 100, "B")]


def test_raw_and_filtered_counts():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(40, "A", T, "1 3 10"),
        elem(43, "A", T, "1 2 10"),
        elem(60, "W", T),
        elem(61, "A", T, "1 2 10"),
        elem(80, "A", T, "1 4 10"),
    ]
    r = run(rows, params(T, min_dwell_s=5), W)
    s = r.vp_stats.iloc[0]
    assert (s["switches_raw"], s["withdraws_raw"]) == (3, 1)
    assert (s["switches"], s["withdraws"], s["restores"]) == (1, 0, 0)
    assert kinds(r.events) == [(80.0, "switch")]
    assert (s["mean_dwell_s"], s["sites"]) == (50.0, 3)
    unfiltered = run(rows, params(T), W)
    assert kinds(unfiltered.events[unfiltered.events["kind"] != "origin_change"]) == [
        (40.0, "switch"),
        (43.0, "switch"),
        (60.0, "withdraw"),
        (61.0, "restore"),
        (80.0, "switch"),
    ]


def test_filtered_event_carries_the_paths_of_its_sites():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(40, "A", T, "1 3 10"),
        elem(42, "A", T, "1 5 10"),
    ]
    r = run(rows, params(T, min_dwell_s=5), W)
    event = r.events.iloc[0]
    assert (event["kind"], event["old_site"], event["new_site"]) == ("switch", "2 10", "5 10")
    assert (event["old_path"], event["new_path"]) == ("1 2 10", "1 5 10")


def test_path_and_origin_changes():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(20, "A", T, "7 2 10"),  # same site, other path
        elem(30, "A", T, "7 2 10", next_hop="192.0.2.9"),  # next hop only: no event
        elem(50, "A", T, "7 2 10 11"),  # new origin and site
    ]
    r = run(rows, params(T), W)
    assert kinds(r.events) == [(20.0, "path_change"), (50.0, "switch"), (50.0, "origin_change")]
    change = r.events[r.events["kind"] == "origin_change"].iloc[0]
    assert (change["old_origin"], change["new_origin"]) == ("10", "11")
    s = r.vp_stats.iloc[0]
    assert (s["path_changes"], s["origin_changes"], s["switches"]) == (1, 1, 1)


def test_origin_change_without_site_change_under_path_strategy_is_not_a_path_change():
    rows = [elem(-5, "R", T, "1 2 10"), elem(20, "A", T, "1 2 {10,11}")]
    r = run(rows, params(T, site_by="upstream"), W)
    assert kinds(r.events) == [(20.0, "switch"), (20.0, "origin_change")]
    origin = run(rows, params(T, site_by="nexthop"), W)
    assert kinds(origin.events) == [(20.0, "origin_change"), (20.0, "path_change")]


def test_one_stats_row_per_observed_pair_and_targets_kept_apart():
    other = ("rrc01", 64999, "198.51.100.7")
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(-5, "R", "198.51.100.0/24", "1 2 20"),
        elem(10, "A", "198.51.100.0/24", "1 2 20", vp=other),
    ]
    r = run(rows, params(T, "198.51.100.0/24"), W)
    pairs = sorted(zip(r.vp_stats["collector"], r.vp_stats["target"], strict=True))
    assert pairs == [("rrc00", "192.0.2.0/24"), ("rrc00", "198.51.100.0/24"), ("rrc01", "198.51.100.0/24")]
    late = r.vp_stats[r.vp_stats["collector"] == "rrc01"].iloc[0]
    assert (late["observed_s"], late["routed_s"]) == (90.0, 90.0)


def test_window_end_inside_resync_leaves_no_gap_end():
    rows = [elem(-5, "R", T, "1 2 10"), elem(90, "S", new_state=1), elem(95, "S", new_state=6)]
    r = run(rows, params(T, resync_s=300), W)
    assert kinds(r.events) == [(90.0, "gap_start")]
    assert r.vp_stats.iloc[0]["gaps"] == 1


def _paths(events) -> list[tuple]:
    return [(e.kind, e.old_path, e.new_path) for e in events.itertuples()]


def test_path_change_across_a_removed_transient_is_one_event_at_its_end():
    # A(p1) -> B for 5 s -> A(p2), min_dwell 30: one path_change p1 -> p2 at the end of B (SPEC)
    rows = [elem(-5, "R", T, "1 2 10"), elem(40, "A", T, "1 3 10"), elem(45, "A", T, "1 7 2 10")]
    r = run(rows, params(T, min_dwell_s=30), W)
    assert kinds(r.events) == [(45.0, "path_change")]
    assert _paths(r.events) == [("path_change", "1 2 10", "1 7 2 10")]
    s = r.vp_stats.iloc[0]
    assert (s["path_changes"], s["switches"], s["switches_raw"]) == (1, 0, 2)


def test_path_change_inside_a_removed_transient_is_no_event():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(40, "A", T, "1 3 10"),
        elem(42, "A", T, "1 8 3 10"),  # B on another path, inside the transient
        elem(45, "A", T, "1 2 10"),
    ]
    r = run(rows, params(T, min_dwell_s=30), W)
    assert r.events.empty
    assert r.vp_stats.iloc[0]["path_changes"] == 0
    raw = run(rows, params(T), W)
    assert kinds(raw.events) == [(40.0, "switch"), (42.0, "path_change"), (45.0, "switch")]


def test_origin_change_comes_from_the_filtered_timeline_too():
    # a transient to another origin is filtered away, with its two origin changes
    rows = [elem(-5, "R", T, "1 2 10"), elem(40, "A", T, "1 3 11"), elem(45, "A", T, "1 2 10")]
    r = run(rows, params(T, min_dwell_s=30), W)
    assert r.events.empty
    assert r.vp_stats.iloc[0]["origin_changes"] == 0


def test_removed_state_after_observation_start_takes_the_first_route_of_the_state_it_joins():
    # observed from 10 (no RIB): B for 3 s goes to the state after it, A(p2) -> A(p3) stays a path change
    rows = [
        elem(10, "A", T, "1 3 10"),
        elem(13, "A", T, "1 2 10"),
        elem(50, "A", T, "1 9 2 10"),
    ]
    r = run(rows, params(T, min_dwell_s=30), W)
    assert _paths(r.events) == [("path_change", "1 2 10", "1 9 2 10")]


def test_a_cascade_of_removed_states_takes_the_route_of_the_state_finally_joined():
    # after the start: A(p0) 2 s -> B 2 s -> A(p1): A(p0) goes to B, then B (4 s, with A's time) to A(p1),
    # so the whole start is A(p1) and no path change p0 -> p1 is reported
    rows = [
        elem(10, "A", T, "1 2 10"),
        elem(12, "A", T, "1 3 10"),
        elem(14, "A", T, "1 5 2 10"),
        elem(60, "A", T, "1 3 10"),
    ]
    r = run(rows, params(T, min_dwell_s=5), W)
    assert _paths(r.events) == [("switch", "1 5 2 10", "1 3 10")]
    first = r.timeline[r.timeline["state"] != "unobserved"].iloc[0]
    assert first["as_path"] == "1 2 10"  # the timeline table stays the raw one


def test_filtered_states_carry_their_routes():
    from anystab.events import Row, filtered_rows, site_states

    rows = [
        Row(0, 40, True, "A", "p1", "10"),
        Row(40, 45, True, "B", "q", "10"),
        Row(45, 100, True, "A", "p2", "10"),
    ]
    states = apply_min_dwell(site_states(rows), 10)
    assert states == [S(0, 100, "A")]
    assert filtered_rows(states) == [Row(0, 45, True, "A", "p1", "10"), Row(45, 100, True, "A", "p2", "10")]
    assert filtered_rows(apply_min_dwell(site_states(rows), 0)) == rows


_SITES = st.sampled_from(["AMS", "FRA", "LHR"])
_ROW = st.tuples(
    st.sampled_from([0, 1, 2]),  # which pair
    st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0]),  # time since the pair's previous row ends
    st.sampled_from([0.0, 1.0, 3.0, 1e-6, 86400.0]),  # length (0: an instant)
    st.sampled_from(["routed", "routed", "unrouted", "unobserved"]),
    _SITES,
    st.sampled_from(["1 2", "1 3", "1 2 2"]),
    st.sampled_from(["2", "3", None]),
)
_PAIRS = [
    ("rrc00", 64500, "192.0.2.1", T),
    ("rrc00", 64500, "192.0.2.1", "198.51.100.0/24"),
    ("rv", 1, "::1", T),
]
_NAMES = ["collector", "peer_asn", "peer_ip", "target", "start", "end", "state", "site", "as_path", "origin"]


def _timeline(rows: list[tuple], order: list[int]) -> pd.DataFrame:
    """A timeline of the drawn rows: each pair's rows one after the other (touching when the gap is 0),
    given in the drawn ``order``."""
    ends = [0.0] * len(_PAIRS)
    made = []
    for pair, gap, length, state, site, path, origin in rows:
        start = ends[pair] + gap
        ends[pair] = start + length
        routed = state == "routed"
        made.append(
            (*_PAIRS[pair], start, start + length, state, site if routed else None, path if routed else None)
            + ((origin if routed else None),)
        )
    made = [made[i] for i in order]
    columns = {n: [m[k] for m in made] for k, n in enumerate(_NAMES)}
    for name in ("signature", "prefix", "next_hop", "communities"):  # not read by the events stage
        columns[name] = [None] * len(made)
    return make_frame("timeline", columns)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(_ROW, min_size=1, max_size=40),
    order=st.lists(st.integers(0, 39), unique=True, max_size=40),
)
def test_events_of_all_pairs_at_once_equal_one_pair_at_a_time(rows, order) -> None:
    """Without the transient filter, the events and per-VP statistics of every pair at once are those found
    one pair at a time: gaps (also a pair's first rows unobserved), instants, touching and separate rows of
    one site, withdrawals and restores, path and origin changes, pairs' rows interleaved and out of order."""
    order = [i for i in order if i < len(rows)]
    timeline = _timeline(rows, order + [i for i in range(len(rows)) if i not in order])
    for at_once, one_by_one in zip(
        build_events(timeline, params(T)), events_pair_by_pair(timeline, 0.0), strict=True
    ):
        pd.testing.assert_frame_equal(at_once, one_by_one, check_exact=True)


def test_events_of_the_sample_at_once_equal_one_pair_at_a_time() -> None:
    """The same on the sample archive's timeline (two collectors, many VPs, three targets)."""
    from anystab.pipeline import AnalysisRequest, analyze
    from anystab.service import load_service
    from anystab.targets import target_set

    service = load_service(ROOT / "data" / "service.toml")
    p = AnalysisParams(targets=target_set(service.targets), site_map=service.site_map)
    timeline = analyze(AnalysisRequest(sources=(str(ROOT / "data"),), params=p, jobs=1)).tables["timeline"]
    assert len(timeline) >= 100
    one_by_one = events_pair_by_pair(timeline, 0.0)
    for at_once, alone in zip(build_events(timeline, p), one_by_one, strict=True):
        assert len(at_once) > 10
        pd.testing.assert_frame_equal(at_once, alone, check_exact=True)
