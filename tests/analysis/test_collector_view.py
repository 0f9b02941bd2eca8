"""Per-collector view: counts, MOAS intervals and site shares."""

from __future__ import annotations

import pytest
from support.analysis import elem, params, run, seconds

from anystab.collectors import collector_view, join_equal, moas_intervals, sweep

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
