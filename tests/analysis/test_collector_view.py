"""Per-collector view: counts, MOAS intervals and site shares."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.analysis import elem, params, run, seconds

from anystab.collectors import collector_view, join_equal, moas_intervals, sweep
from anystab.events import build_events
from anystab.timeline import make_frame

T = "192.0.2.0/24"
W = (0.0, 100.0)
V1, V2, V3 = ("rrc00", 1, "10.0.0.1"), ("rrc00", 2, "10.0.0.2"), ("rrc01", 3, "10.0.0.3")


def _view():
    rows = [
        elem(-1, "R", T, "1 2 10", vp=V1),
        elem(-1, "R", T, "5 6 10", vp=V2),
        elem(-1, "R", T, "7 2 10", vp=V3),
        elem(20, "A", T, "1 2 66", vp=V1),  # origin 66 disagrees with V2 from 20 to 50
        elem(30, "A", T, "5 6 10 77", vp=V2),  # now V2 has 77: origins {66, 77} from 30
        elem(50, "A", T, "1 2 10", vp=V1),
        elem(50, "W", T, vp=V2),
        elem(60, "A", T, "8 2 10", vp=V3),  # path change, same site
    ]
    r = run(sorted(rows, key=lambda x: x["time"]), params(T), W)
    return r, collector_view(r.timeline, r.events, r.vp_stats)


def test_collector_counts():
    r, (stats, _, _) = _view()
    rrc00 = stats[stats["collector"] == "rrc00"].iloc[0]
    assert (rrc00["vps"], rrc00["sites"], rrc00["switches"]) == (2, 4, 3)
    assert (rrc00["origin_changes"], rrc00["path_changes"]) == (3, 0)
    rrc01 = stats[stats["collector"] == "rrc01"].iloc[0]
    assert (rrc01["vps"], rrc01["sites"], rrc01["path_changes"], rrc01["moas_intervals"]) == (1, 1, 1, 0)


def test_moas_intervals():
    _, (stats, moas, _) = _view()
    assert len(moas) == 1
    row = moas.iloc[0]
    assert (seconds(moas["start"]), seconds(moas["end"])) == ([20.0], [50.0])
    assert list(row["origins"]) == ["10", "66", "77"]
    rrc00 = stats[stats["collector"] == "rrc00"].iloc[0]
    assert (rrc00["moas_intervals"], rrc00["moas_s"]) == (1, 30.0)


def test_site_share_over_time():
    _, (_, _, share) = _view()
    alls = share[share["scope"] == "all"]
    at_0 = alls[[s == 0.0 for s in seconds(alls["start"])]]
    assert sorted(zip(at_0["site"], at_0["vps"], strict=True)) == [("2 10", 2), ("6 10", 1)]
    assert at_0["share"].sum() == pytest.approx(1.0)
    after = alls[[s >= 50.0 for s in seconds(alls["start"])]]
    assert list(after["site"]) == ["2 10"]
    assert list(after["vps"]) == [2] and list(after["share"]) == [1.0]
    assert seconds(after["end"]) == [100.0]
    for scope, group in share.groupby(["scope", "start"]):
        assert group["share"].sum() == pytest.approx(1.0), scope


def test_sweep_and_join():
    pieces = sweep([(0, 10, "a"), (5, 10, "b"), (10, 20, "a"), (30, 40, "a")])
    assert pieces == [(0, 5, {"a": 1}), (5, 10, {"a": 1, "b": 1}), (10, 20, {"a": 1}), (30, 40, {"a": 1})]
    assert join_equal([(0, 5, {"a": 1}), (5, 8, {"a": 1}), (9, 10, {"a": 1})]) == [
        (0, 8, {"a": 1}),
        (9, 10, {"a": 1}),
    ]
    assert moas_intervals([(0, 5, {"a": 1, "b": 1}), (5, 7, {"a": 1, "c": 2}), (7, 9, {"a": 2})]) == [
        (0, 7, ["a", "b", "c"])
    ]


def _sweep_reference(intervals: list[tuple[float, float, str]]) -> list:
    """Every stretch between consecutive interval ends, with the intervals covering it, counted per label."""
    kept = [i for i in intervals if i[1] > i[0]]
    ends = sorted({t for a, b, _ in kept for t in (a, b)})
    pieces = []
    for t0, t1 in zip(ends, ends[1:], strict=False):
        covering = [label for a, b, label in kept if a <= t0 and b >= t1]
        if covering:
            pieces.append((t0, t1, {label: covering.count(label) for label in covering}))
    return pieces


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8), st.sampled_from("abc")), max_size=12),
    st.booleans(),
)
def test_sweep_equals_counting_every_stretch(spans, one_after_another):
    """Overlapping intervals, and intervals one after another (one VP's rows, the shortcut), alike."""
    if one_after_another:  # laid end to end or with gaps, in shuffled order
        at, laid = 0.0, []
        for gap, length, label in spans:
            laid.append((at + gap % 3, at + gap % 3 + length, label))
            at = laid[-1][1]
        intervals = laid[::2] + laid[1::2]
    else:
        intervals = [(float(a), float(a + n), label) for a, n, label in spans]
    assert sweep(intervals) == _sweep_reference(intervals)


_VPS = [("rrc00", 1, "10.0.0.1"), ("rrc00", 2, "10.0.0.2"), ("rrc01", 3, "10.0.0.3")]
_TARGETS = [T, "198.51.100.0/24"]


def _one_scope_at_a_time(timeline: pd.DataFrame) -> list[dict]:
    """SITE_SHARE rows by the sweep of each scope's routed rows alone ('all' per target, then each collector
    and target; a scope of instants alone counted per instant)."""
    routed = timeline[timeline["state"] == "routed"]
    scopes = [("all", t, routed[routed["target"] == t]) for t in sorted(set(routed["target"]))]
    pairs = sorted(set(zip(routed["collector"], routed["target"], strict=True)))
    scopes += [(c, t, routed[(routed["collector"] == c) & (routed["target"] == t)]) for c, t in pairs]
    out = []
    for scope, target, rows in scopes:
        spans = list(zip(seconds(rows["start"]), seconds(rows["end"]), rows["site"].astype(str), strict=True))
        if any(b > a for a, b, _ in spans):
            pieces = join_equal(sweep(spans))
        else:
            at = sorted({a for a, _, _ in spans})
            pieces = [(a, a, dict(Counter(s for x, _, s in spans if x == a))) for a in at]
        for a, b, counts in pieces:
            for site in sorted(counts):
                share = counts[site] / sum(counts.values())
                out.append((scope, target, a, b, site, counts[site], share))
    return out


@settings(max_examples=150, deadline=None)
@given(
    spans=st.lists(
        st.tuples(
            st.sampled_from(range(len(_VPS))),
            st.sampled_from(_TARGETS),
            st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0]),  # after the VP's previous row for the target
            st.sampled_from([0.0, 1.0, 3.0, 10.0]),  # length (0: an instant)
            st.sampled_from(["AMS", "FRA", "LHR"]),
            st.sampled_from(["10", "11", None]),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_site_share_and_counts_of_all_scopes_equal_one_scope_at_a_time(spans) -> None:
    """Site shares (scopes of one VP's rows at once, overlapping ones swept) and the MOAS counts (swept
    only where two origins are named) are those of each scope taken alone."""
    ends: dict[tuple[int, str], float] = {}
    rows = []
    for vp, target, gap, length, site, origin in spans:
        start = ends.get((vp, target), 0.0) + gap
        ends[vp, target] = start + length
        rows.append((*_VPS[vp], target, start, start + length, "routed", site, f"1 {origin}", origin))
    names = [
        "collector",
        "peer_asn",
        "peer_ip",
        "target",
        "start",
        "end",
        "state",
        "site",
        "as_path",
        "origin",
    ]
    columns = {n: [r[k] for r in rows] for k, n in enumerate(names)}
    for name in ("signature", "prefix", "next_hop", "communities"):
        columns[name] = [None] * len(rows)
    timeline = make_frame("timeline", columns)
    events, vp_stats = build_events(timeline, params(*_TARGETS))
    stats, moas, share = collector_view(timeline, events, vp_stats)
    got = list(
        zip(
            *(share[c] for c in ("scope", "target")),
            seconds(share["start"]),
            seconds(share["end"]),
            *(share[c] for c in ("site", "vps", "share")),
            strict=True,
        )
    )
    assert got == _one_scope_at_a_time(timeline)
    for _, row in stats.iterrows():
        mine = timeline[(timeline["collector"] == row["collector"]) & (timeline["target"] == row["target"])]
        spans_of = list(zip(seconds(mine["start"]), seconds(mine["end"]), mine["origin"], strict=True))
        runs = moas_intervals(sweep([(a, b, str(o)) for a, b, o in spans_of if pd.notna(o)]))
        assert (row["moas_intervals"], row["moas_s"]) == (len(runs), float(sum(b - a for a, b, _ in runs)))
    assert len(moas) == stats["moas_intervals"].sum()


@pytest.mark.parametrize(
    "values", [["b", None, "a", "b", None, "a"], [None, None], ["x"], ["b", "a", "c", "a", "\u00e9", "B"]]
)
def test_rows_of_each_key_of_one_column_are_pandas_groups(values) -> None:
    """One key column's groups (factorized) are pandas' groups: keys sorted, rows in order, none missing."""
    from anystab.collectors import _groups

    frame = pd.DataFrame({"target": pd.array(values, dtype="str")})
    found = frame.groupby("target", sort=False).indices
    groups = _groups(frame, "target")
    assert list(groups) == sorted(found)
    assert all(groups[k].tolist() == found[k].tolist() for k in found)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["all", "rrc00", "route-views2"]),
            st.sampled_from(["192.0.2.0/24", "2001:db8::/32"]),
            st.integers(0, 10**6).map(lambda s: s / 8),
            st.one_of(st.none(), st.sampled_from(["site-a", "é"])),
            st.integers(0, 5),
            st.floats(allow_nan=True, allow_infinity=False),
        ),
        max_size=30,
    ),
    st.randoms(),
)
def test_a_frame_made_in_an_order_is_the_frame_of_its_rows_in_that_order(rows, random):
    """make_frame's ``order`` takes the made columns in that order, and numpy arrays of numbers are read as
    the lists of them: the same frame as lists reordered value by value."""
    order = list(range(len(rows)))
    random.shuffle(order)
    names = ["scope", "target", "start", "site", "vps", "share"]
    columns = {n: [r[k] for r in rows] for k, n in enumerate(names)}
    columns["end"] = columns["start"]
    arrays = {"vps": np.array(columns["vps"], dtype=np.int64), "share": np.array(columns["share"])}
    given_as = {**columns, **arrays}
    got = make_frame("site_share", given_as, np.array(order, dtype=np.int64))
    expected = make_frame("site_share", {n: [v[i] for i in order] for n, v in columns.items()})
    pd.testing.assert_frame_equal(got, expected)
    assert got["share"].isna().tolist() == expected["share"].isna().tolist()
