"""End to end: archives written by the scenario generator, analysed by the whole pipeline, give exactly the
events the scenario script implies (computed independently of the analysis code)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from support.scenario import REPO, small_scenario

from anystab.generate.scenario import (
    ExpectedEvent,
    Prepend,
    Scenario,
    Transient,
    expected_events,
    expected_segments,
    simulate,
    write_archive,
)
from anystab.params import AnalysisParams, SiteMap
from anystab.pipeline import AnalysisRequest, analyze
from anystab.service import load_service
from anystab.targets import make_target, target_set

KEY = [
    "collector", "peer_asn", "peer_ip", "target", "time_us", "kind",
    "old_site", "new_site", "old_path", "new_path", "across_gap",
]  # fmt: skip


def _rows(events: pd.DataFrame) -> list[tuple]:
    df = events.assign(time_us=events["time"].astype("int64"))
    df = df.astype({"time_us": "int64"})
    out = []
    for r in df.itertuples(index=False):
        out.append(tuple(None if pd.isna(getattr(r, k)) else getattr(r, k) for k in KEY))
    return sorted(out, key=lambda t: tuple("" if v is None else str(v) for v in t))


def _expected(events: list[ExpectedEvent]) -> list[tuple]:
    out = [tuple(getattr(e, k if k != "time_us" else "time_us") for k in KEY) for e in events]
    return sorted(out, key=lambda t: tuple("" if v is None else str(v) for v in t))


def _params(scenario: Scenario, min_dwell: float = 0.0) -> AnalysisParams:
    targets = target_set([make_target(t.prefix, t.address) for t in scenario.targets])
    names = {f"{s.upstream_asn} {s.origin_asn}": s.name for s in scenario.sites}
    return AnalysisParams(targets=targets, site_map=SiteMap(names), min_dwell_s=min_dwell)


@pytest.fixture(scope="module")
def sample_result():
    service = load_service(REPO / "data" / "service.toml")
    params = AnalysisParams(targets=target_set(service.targets), site_map=service.site_map)
    return analyze(AnalysisRequest(sources=(str(REPO / "data"),), params=params, jobs=1))


def _csv(name: str) -> list[tuple]:
    with open(REPO / "data" / name) as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        out.append(
            (
                r["collector"],
                int(r["peer_asn"]),
                r["peer_ip"],
                r["target"],
                int(r["time_us"]),
                r["kind"],
                r["old_site"] or None,
                r["new_site"] or None,
                r["old_path"] or None,
                r["new_path"] or None,
                r["across_gap"] == "1",
            )
        )
    return sorted(out, key=lambda t: tuple("" if v is None else str(v) for v in t))


def test_sample_events_equal_the_scripted_ones(sample_result):
    assert _rows(sample_result.tables["events"]) == _csv("expected-events.csv")


def test_sample_with_min_dwell_equals_the_scripted_filter():
    service = load_service(REPO / "data" / "service.toml")
    params = AnalysisParams(targets=target_set(service.targets), site_map=service.site_map, min_dwell_s=60)
    result = analyze(AnalysisRequest(sources=(str(REPO / "data"),), params=params, jobs=1))
    assert _rows(result.tables["events"]) == _csv("expected-events-dwell60.csv")


@pytest.mark.parametrize(
    "variant",
    [{}, {"addpath": True}, {"omit": (("route-views3", 1_748_822_400 + 900),)}],
    ids=["plain", "addpath", "missing-file"],
)
def test_scenarios_are_recovered_exactly(tmp_path: Path, variant: dict) -> None:
    scenario = small_scenario(**variant)
    write_archive(scenario, tmp_path)
    result = analyze(AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario), jobs=1))
    assert _rows(result.tables["events"]) == _expected(expected_events(scenario))


def test_scenario_min_dwell(tmp_path: Path) -> None:
    scenario = small_scenario()
    write_archive(scenario, tmp_path)
    result = analyze(AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario, 30.0), jobs=1))
    assert _rows(result.tables["events"]) == _expected(expected_events(scenario, min_dwell_s=30.0))


def _transient_scenario() -> Scenario:
    """VP A (prefers ams) sees sin for 20 s; ams prepends during it (A comes back on a new path), and sin
    prepends during it too (a path change inside the transient)."""
    A = ("rrc01", 64501, "198.51.100.1")
    script = (
        Transient(300, (A,), 20.0, via="sin"),
        Prepend(310, "ams", 2),
        Prepend(312, "sin", 3),
    )
    return replace(small_scenario(), script=script, noise_updates_per_vp=0)


def _pair_events(result, peer_ip: str, target: str) -> list[tuple]:
    ev = result.tables["events"]
    ev = ev[(ev["peer_ip"] == peer_ip) & (ev["target"] == target)]
    return [(r.kind, r.old_site, r.new_site, r.old_path, r.new_path) for r in ev.itertuples()]


def test_events_after_the_filter_come_from_the_filtered_timeline(tmp_path: Path) -> None:
    scenario = _transient_scenario()
    write_archive(scenario, tmp_path)
    raw = analyze(AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario), jobs=1))
    filtered = analyze(AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario, 30.0), jobs=1))
    assert _rows(raw.tables["events"]) == _expected(expected_events(scenario))
    assert _rows(filtered.tables["events"]) == _expected(expected_events(scenario, min_dwell_s=30.0))
    target = "192.0.2.0/24"
    p1, p2 = "64501 65546 64497 64496", "64501 65546 64497 64496 64496 64496"
    # raw: ams(p1) -> sin -> sin prepended (a path change inside the transient) -> ams(p2)
    assert [k for k, *_ in _pair_events(raw, "198.51.100.1", target)] == ["switch", "path_change", "switch"]
    # filtered: the transient is gone, and with it the path change inside it; the path change it hid is
    # one path_change p1 -> p2 at the transient's end
    assert _pair_events(filtered, "198.51.100.1", target) == [("path_change", "ams", "ams", p1, p2)]
    stats = filtered.tables["vp_stats"].set_index(["peer_ip", "target"]).loc[("198.51.100.1", target)]
    assert (stats["path_changes"], stats["switches"], stats["switches_raw"]) == (1, 0, 2)


def test_a_collectors_first_rib_dump_counts_when_it_comes_after_the_window_start(tmp_path: Path) -> None:
    # the archives start at the scenario's start; the window starts 10 minutes earlier
    scenario = small_scenario()
    write_archive(scenario, tmp_path)
    early = AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario), start=scenario.start - 600.0)
    result = analyze(early)
    assert _rows(result.tables["events"]) == _expected(expected_events(scenario))
    elements = result.tables["elements"]
    ribs = elements[elements["elem_type"] == "R"]
    assert set(ribs["collector"]) == {"rrc01", "route-views3"}
    # the VPs are observed from the dump's time, with the dump's routes
    stats = result.tables["vp_stats"]
    assert stats["observed_s"].max() == scenario.duration_s
    first = result.tables["timeline"].groupby(["peer_ip", "target"]).first()
    assert set(first["state"]) == {"unobserved"}
    observed = result.tables["timeline"][result.tables["timeline"]["state"] != "unobserved"]
    starts = observed.groupby(["peer_ip", "target"])["start"].min()
    assert set(starts.astype("int64") // 1_000_000) == {scenario.start}


def test_a_rib_dump_alone_is_a_snapshot_of_the_sites(tmp_path: Path) -> None:
    scenario = small_scenario()
    written = write_archive(scenario, tmp_path)
    for path in written:
        if "rib" not in path.name and "bview" not in path.name:
            path.unlink()
    end = scenario.start + 3600.0
    result = analyze(AnalysisRequest(sources=(str(tmp_path),), params=_params(scenario), end=end))
    stats = result.tables["vp_stats"]
    assert len(stats) > 0 and (stats["observed_s"] == 0).all()
    assert result.tables["events"].empty
    estimates = result.tables["estimates"]
    assert estimates["mean_p"].isna().all() and (estimates["vps"] > 0).all()
    # each VP's site is the one the scenario gives it at the dump's time
    runs = simulate(scenario)
    expected = {}
    for run in runs:
        for target in scenario.targets:
            if target.version == run.vp.version:
                site = expected_segments(scenario, run, target, 300.0)[0].site
                expected[(run.vp.collector, run.vp.peer_ip, target.prefix)] = site
    timeline = result.tables["timeline"]
    assert (timeline["start"] == timeline["end"]).all()
    got = {(r.collector, r.peer_ip, r.target): r.site for r in timeline.itertuples()}
    assert got == {k: v for k, v in expected.items() if k in got}
    assert {k for k, v in expected.items() if v is not None} <= set(got)
    # catchment share at that instant, per collector
    share = result.tables["site_share"]
    rrc01 = share[(share["scope"] == "rrc01") & (share["target"] == "192.0.2.0/24")]
    sites = [v for (c, _, t), v in got.items() if c == "rrc01" and t == "192.0.2.0/24" and v is not None]
    assert dict(zip(rrc01["site"], rrc01["vps"], strict=True)) == dict(Counter(sites))
    summary = result.summary()
    assert [s["collector"] for s in summary["coverage"]["snapshots"]] == ["route-views3", "rrc01"]
    assert any("a RIB dump alone" in note for note in summary["notes"])
