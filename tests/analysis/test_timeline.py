"""The route timeline: longest match, covers, gaps, ADD-PATH, same-timestamp elements, real data."""

from __future__ import annotations

import ipaddress
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from support.analysis import VP, bgpdump_elements, elem, elements, gaps_frame, intervals, kinds, params, run

from anystab.params import SiteMap
from anystab.timeline import (
    UNOBSERVED_STATE,
    UNROUTED_STATE,
    WalkContext,
    _Spans,
    build_timeline,
    series_intervals,
    snapshot,
    timeline_frame,
)

T = "192.0.2.0/24"
W = (0.0, 100.0)


def test_more_specific_appearing_and_disappearing_wins_while_present():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(30, "A", "192.0.2.0/25", "1 3 10"),
        elem(60, "W", "192.0.2.0/25"),
    ]
    r = run(rows, params(T), W)
    assert intervals(r.timeline) == [
        (0.0, 30.0, "routed", "2 10"),
        (30.0, 60.0, "routed", "3 10"),
        (60.0, 100.0, "routed", "2 10"),
    ]
    assert list(r.timeline["prefix"]) == [T, "192.0.2.0/25", T]


def test_more_specific_not_containing_the_address_is_ignored_but_counts_for_the_pair():
    rows = [elem(10, "A", "192.0.2.128/25", "1 3 10")]
    r = run(rows, params(T), W)
    assert intervals(r.timeline) == [(0.0, 10.0, "unobserved", None), (10.0, 100.0, "unrouted", None)]


def test_service_address_picks_its_more_specific():
    rows = [elem(-1, "R", T, "1 2 10"), elem(20, "A", "192.0.2.128/25", "1 3 10")]
    r = run(rows, params(T + "@192.0.2.200"), W)
    assert [i[3] for i in intervals(r.timeline)] == ["2 10", "3 10"]


def test_covering_slash8_routes_and_shorter_covers_are_ignored():
    rows = [
        elem(-5, "R", "0.0.0.0/0", "1 99"),
        elem(-5, "R", "192.0.0.0/8", "1 7"),
        elem(20, "A", T, "1 2 10"),
        elem(50, "W", T),
        elem(70, "W", "192.0.0.0/8"),
    ]
    r = run(rows, params(T), W)
    assert intervals(r.timeline) == [
        (0.0, 20.0, "routed", "1 7"),
        (20.0, 50.0, "routed", "2 10"),
        (50.0, 70.0, "routed", "1 7"),
        (70.0, 100.0, "unrouted", None),
    ]


def test_observation_starts_at_rib_before_window_or_first_element_in_window():
    before = run([elem(-50, "A", T, "1 2 10"), elem(30, "A", T, "1 3 10")], params(T), W)
    assert intervals(before.timeline)[0] == (0.0, 30.0, "unobserved", None)
    assert intervals(before.timeline)[1] == (30.0, 100.0, "routed", "3 10")
    rib = run([elem(-50, "R", T, "1 2 10")], params(T), W)
    assert intervals(rib.timeline) == [(0.0, 100.0, "routed", "2 10")]
    never = run([elem(-50, "A", T, "1 2 10"), elem(150, "A", T, "1 3 10")], params(T), W)
    assert never.timeline.empty and never.vp_stats.empty


def test_session_down_forgets_routes_and_resyncs():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(20, "S", new_state=1),
        elem(30, "S", new_state=6),
        elem(31, "A", "192.0.2.0/25", "1 3 10"),
    ]
    r = run(rows, params(T, resync_s=10), W)
    assert intervals(r.timeline) == [
        (0.0, 20.0, "routed", "2 10"),
        (20.0, 40.0, "unobserved", None),
        (40.0, 100.0, "routed", "3 10"),
    ]
    assert r.events["kind"].tolist() == ["gap_start", "gap_end", "switch"]
    assert r.events["across_gap"].tolist() == [False, False, True]


def test_announcement_ends_the_down_state_and_elements_at_resync_end_count():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(20, "S", new_state=3),
        elem(25, "A", T, "1 3 10"),
        elem(35, "A", T, "1 4 10"),
    ]
    r = run(rows, params(T, resync_s=10), W)
    assert intervals(r.timeline)[1:] == [(20.0, 35.0, "unobserved", None), (35.0, 100.0, "routed", "4 10")]


def test_session_reset_back_to_same_site_is_no_switch():
    rows = [elem(-5, "R", T, "1 2 10"), elem(20, "S", new_state=2), elem(22, "A", T, "1 2 10")]
    r = run(rows, params(T, resync_s=5), W)
    assert r.events["kind"].tolist() == ["gap_start", "gap_end"]
    stats = r.vp_stats.iloc[0]
    assert (stats["switches"], stats["gaps"], stats["observed_s"]) == (0, 1, 93.0)


def test_default_route_then_specific_during_resync_is_no_switch():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(20, "S", new_state=1),
        elem(30, "S", new_state=6),
        elem(30.5, "A", "0.0.0.0/0", "1 99"),
        elem(30.5005, "A", T, "1 2 10"),
    ]
    r = run(rows, params(T, resync_s=300.0), (0.0, 1000.0))
    assert r.events["kind"].tolist() == ["gap_start", "gap_end"]
    assert r.timeline["site"].dropna().unique().tolist() == ["2 10"]
    # without a resync delay the empty table after the reset shows, but the default route never does
    bare = run(rows, params(T, resync_s=0.0), (0.0, 1000.0))
    assert kinds(bare.events) == [
        (20.0, "gap_start"),
        (30.0, "gap_end"),
        (30.0, "withdraw"),
        (30.5005, "restore"),
    ]


def test_real_session_coming_up_and_resending_its_table():
    """ris.updates.et-header.2015: a peer comes up and announces 0.0.0.0/0 just before 8.8.8.0/24."""
    p = params("8.8.8.0/24", "199.7.91.0/24", resync_s=30)
    frame = bgpdump_elements("ris.updates.et-header.2015.gz", p.targets)
    window = (1445565678.0, 1445565800.0)
    r = run(frame, p, window)
    routed = r.timeline[r.timeline["state"] == "routed"]
    assert dict(zip(routed["target"], routed["site"], strict=True)) == {
        "8.8.8.0/24": "15169 15169",
        "199.7.91.0/24": "42 27",
    }
    assert set(r.events["kind"]) == set()
    up = 1445565686.357655 + 30
    assert abs(r.vp_stats["observed_s"].iloc[0] - (window[1] - up)) < 1e-5
    no_resync = run(frame, params("8.8.8.0/24", resync_s=0), window)
    assert no_resync.events["kind"].tolist() == ["restore"]
    assert abs(no_resync.events["time"].iloc[0].timestamp() - 1445565695.585328) < 1e-6


def test_real_ipv6_root_server_prefixes_two_peers():
    p = params("2001:500:6::/48", "2001:500:e::/48")
    frame = bgpdump_elements("ris.updates.20070211.0141.gz", p.targets)
    r = run(frame, p, (1171158306.0, 1171159200.0))
    assert len(r.vp_stats) == 4
    sites = r.timeline[r.timeline["state"] == "routed"].groupby("target")["site"].unique()
    assert {t: list(s) for t, s in sites.items()} == {
        "2001:500:6::/48": ["3257 12287"],
        "2001:500:e::/48": ["3257 12041"],
    }
    assert r.events.empty


def test_collector_gap_keeps_routes_and_is_not_counted():
    rows = [elem(-5, "R", T, "1 2 10"), elem(50, "A", T, "1 3 10")]
    r = run(rows, params(T), W, gaps_frame(("rrc00", 40.0, 60.0), ("rrc01", 0.0, 100.0)))
    assert intervals(r.timeline) == [
        (0.0, 40.0, "routed", "2 10"),
        (40.0, 60.0, "unobserved", None),
        (60.0, 100.0, "routed", "3 10"),
    ]
    stats = r.vp_stats.iloc[0]
    assert (stats["observed_s"], stats["routed_s"], stats["switches"]) == (80.0, 80.0, 1)
    assert r.events[r.events["kind"] == "switch"]["across_gap"].tolist() == [True]


def test_collector_gap_over_unchanged_route_gives_no_change():
    rows = [elem(-5, "R", T, "1 2 10")]
    r = run(rows, params(T), W, gaps_frame(("rrc00", 10.0, 20.0), ("rrc00", 15.0, 30.0)))
    assert intervals(r.timeline)[1] == (10.0, 30.0, "unobserved", None)
    assert r.events["kind"].tolist() == ["gap_start", "gap_end"]


def test_elements_at_one_timestamp_collapse_to_the_last_state():
    rows = [
        elem(-5, "R", T, "1 2 10"),
        elem(20, "W", T),
        elem(20, "A", T, "1 3 10"),
        elem(20, "A", T, "1 2 10"),
        elem(40, "A", T, "1 5 10"),
        elem(40, "W", T),
    ]
    r = run(rows, params(T), W)
    assert intervals(r.timeline) == [(0.0, 40.0, "routed", "2 10"), (40.0, 100.0, "unrouted", None)]
    assert r.events["kind"].tolist() == ["withdraw"]


def test_add_path_lowest_path_id_wins_and_withdrawals_match_path_id():
    rows = [
        elem(-5, "R", T, "1 3 10", path_id=7),
        elem(-5, "R", T, "1 2 10", path_id=2),
        elem(20, "W", T),  # no path id: matches neither stored route
        elem(30, "W", T, path_id=2),
        elem(60, "A", T, "1 4 10", path_id=1),
        elem(80, "W", T, path_id=7),
    ]
    r = run(rows, params(T), W)
    assert [i[3] for i in intervals(r.timeline)] == ["2 10", "3 10", "4 10"]
    assert intervals(r.timeline)[1][:2] == (30.0, 60.0)


def test_state_columns_and_site_map_names():
    rows = [elem(-5, "R", T, "7 64501 64511 64511", communities=["64511:1"])]
    p = params(T, site_map=SiteMap(names={"64501 64511": "AMS"}))
    timeline = build_timeline(elements(rows), p, W)
    row = timeline.iloc[0]
    assert (row["site"], row["signature"], row["origin"], row["as_path"]) == (
        "AMS",
        "64501 64511",
        "64511",
        "7 64501 64511 64511",
    )
    assert list(row["communities"]) == ["64511:1"]
    assert tuple(row[["collector", "peer_asn", "peer_ip"]]) == VP
    assert str(timeline["start"].dtype) == "datetime64[us, UTC]"


def test_site_strategies_in_the_timeline(site_map):
    rows = [
        elem(-5, "R", T, "1 2 10", communities=["64511:100"], next_hop="198.51.100.1"),
        elem(50, "A", T, "1 2 10", communities=["64511:200"], next_hop="198.51.100.2"),
    ]
    expected = {
        "upstream": ["2 10"],
        "origin": ["10"],
        "path": ["1 2 10"],
        "nexthop": ["198.51.100.1", "198.51.100.2"],
        "community": ["FRA", "LHR"],
    }
    for strategy, sites in expected.items():
        r = run(rows, params(T, site_by=strategy, site_map=site_map), W)
        seen = [i[3] for i in intervals(r.timeline)]
        assert [s for k, s in enumerate(seen) if k == 0 or seen[k - 1] != s] == sites, strategy


_V4 = st.builds(
    lambda a, n: f"{ipaddress.ip_network((a, n), strict=False)}",
    st.integers(0, 2**32 - 1),
    st.integers(6, 32),
)
_V6 = st.builds(
    lambda a, n: f"{ipaddress.ip_network((a, n), strict=False)}",
    st.integers(0, 2**128 - 1) | st.sampled_from([0x2001_0DB8 << 96, (0x2001_0DB8 << 96) + 1]),
    st.integers(14, 128) | st.sampled_from([62, 63, 64, 65]),
)


@settings(max_examples=200, deadline=None)
@given(
    targets=st.lists(_V4 | _V6, min_size=1, max_size=8, unique=True),
    seen=st.lists(_V4 | _V6 | st.sampled_from(["not a prefix", "10.0.0.0/33"]), max_size=12),
    pick=st.lists(st.integers(0, 7), max_size=6),
    longer=st.integers(0, 64),
)
def test_targets_a_prefix_covers_or_concerns_are_found_as_one_pass_over_the_targets_finds_them(
    targets, seen, pick, longer
) -> None:
    """Per prefix of the elements, the targets whose address it holds (down to the shortest cover counted)
    and those it lies inside, as a pass over every target finds them: IPv4 and IPv6, lengths past 64,
    prefixes equal to, inside and around the targets, text that is no prefix."""
    for i in pick:  # a target, and a prefix inside it away from its address, to be found
        net = ipaddress.ip_network(targets[i % len(targets)])
        last = ipaddress.ip_network(
            (int(net.broadcast_address), min(net.max_prefixlen, net.prefixlen + longer)), strict=False
        )
        seen += [str(net), str(last)]
    p = params(*targets)
    ctx = WalkContext(tuple(p.targets), p)
    ctx.build(set(seen))
    for text in set(seen):
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            assert ctx.prefixes[text].key is None
            continue
        counted = net.prefixlen >= p.targets.min_cover(net.version)
        covers = [
            i
            for i, t in enumerate(p.targets)
            if counted and t.prefix.version == net.version and t.address in net
        ]
        inside = [
            i
            for i, t in enumerate(p.targets)
            if counted and net.version == t.prefix.version and net.subnet_of(t.prefix)
        ]
        info = ctx.prefixes[text]
        assert (info.covers, info.relevant) == (covers, sorted(set(covers) | set(inside)))


def _routed(site: str) -> tuple:
    return ("routed", site, site, T, "1 2", "2", None, ("1:2",))


_STATES = st.sampled_from(
    [
        lambda: UNOBSERVED_STATE,
        lambda: UNROUTED_STATE,
        lambda: _SHARED,
        lambda: _routed("ams"),  # equal to the shared one, another object
        lambda: _routed("sin"),
    ]
)
_SHARED = _routed("ams")


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.lists(st.tuples(st.integers(-20, 120), _STATES), max_size=6),
            _STATES,
            st.sampled_from([None, -5.0, 0.0, 40.0, 100.0]),
            st.sampled_from([[], [(10.0, 30.0)], [(0.0, 100.0)]]),
        ),
        max_size=8,
    ),
    window=st.sampled_from([(0.0, 100.0), (25.0, 60.0), (-30.0, 130.0)]),
)
def test_series_made_intervals_all_at_once_are_those_made_one_pair_at_a_time(pairs, window) -> None:
    """The timeline rows of many pairs' series at once (clipped to the window, equal touching states joined
    even when they are other objects, a pair observed nowhere given its snapshot, pairs with collector gaps
    one at a time) are the rows :func:`series_intervals` and :func:`snapshot` make pair by pair."""
    spans = _Spans(window)
    parts = []
    for k, (entries, first, dump, gaps) in enumerate(pairs):
        times = [-math.inf, *sorted({t for t, _ in entries})]
        states = [first(), *(make() for _, make in sorted(dict(entries).items()))]
        vp = ("rrc00", 64500 + k % 3, f"192.0.2.{k}")
        target = f"10.{k}.0.0/16"
        spans.add(vp, target, (times, states), dump, gaps)
        one = series_intervals(times, states, window, gaps)
        if not any(state[0] != "unobserved" for _, _, state in one):
            one = snapshot(times, states, dump)
        parts.append((vp, target, one))
    assert spans.frame().equals(timeline_frame(parts))
