"""The lab check on the committed output of a real lab run (no root, no daemons needed)."""

import pytest
from support.lab import COLLECTORS

from anystab.lab import check_lab
from anystab.lab.check import analyse_collector, compare, lab_params
from anystab.lab.truth import load_truth

SCENARIOS = ["baseline", "withdraw", "reset", "explore", "more-specific", "end"]


@pytest.fixture(scope="module")
def checked(lab_data):
    return check_lab(lab_data)


@pytest.fixture(scope="module")
def events(lab_data):
    truth = load_truth(lab_data)
    return {name: analyse_collector(lab_data, truth, name) for name in COLLECTORS}


def test_every_collector_matches_the_truth(checked):
    assert checked.ok
    assert [c.collector for c in checked.collectors] == COLLECTORS
    assert {c.kind: c.tolerance_s for c in checked.collectors} == {"frr": 0.05, "bird": 1.0, "gobgp": 1.0}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("collector", COLLECTORS)
def test_scripted_switches_recovered_exactly(checked, lab_truth, collector, scenario):
    c = next(c for c in checked.collectors if c.collector == collector)
    rows = [s for s in c.steps if s.scenario == scenario]
    assert rows
    found = sum(s.found["switch"] for s in rows)
    expected = sum(1 for e in lab_truth["events"] if e["scenario"] == scenario and e["kind"] == "switch")
    assert found == expected
    assert all(s.ok for s in rows)


def test_truth_of_the_committed_run(lab_truth):
    switches = [(e["step"], e["vp"]) for e in lab_truth["events"] if e["kind"] == "switch"]
    assert len(switches) == 7
    assert not [e for e in lab_truth["events"] if e["scenario"] in ("reset", "explore")]


@pytest.mark.parametrize("collector", ["cfrr", "cbird"])
def test_the_reset_is_in_the_data_but_not_a_switch(events, lab_truth, collector):
    step = next(s for s in lab_truth["steps"] if s["name"] == "collectors-reset-v1")
    v1 = lab_truth["collectors"][collector]["peers"]["v1"]
    ev = events[collector]
    times = ev["time"].map(lambda t: t.timestamp())
    during = ev[(ev["peer_ip"] == v1) & (times >= step["time"] - 1) & (times <= step["converged"] + 3)]
    assert "gap_start" in set(during["kind"]) and "gap_end" in set(during["kind"])
    assert not set(during["kind"]) & {"switch", "withdraw"}


def test_gobgp_collector_shows_no_gap_for_the_reset(events, lab_truth):
    # gobgpd writes no state records: the re-sent routes are the same routes, so nothing happens at all
    step = next(s for s in lab_truth["steps"] if s["name"] == "collectors-reset-v1")
    ev = events["cgo"]
    times = ev["time"].map(lambda t: t.timestamp())
    during = ev[(times >= step["time"] - 1) & (times <= step["converged"] + 1)]
    assert during.empty


def test_path_exploration_is_two_path_changes_at_v1(checked):
    for c in checked.collectors:
        assert c.path_changes["v1"] >= 2
        explore = [s for s in c.steps if s.scenario == "explore"]
        assert all(s.found == {"switch": 0, "withdraw": 0} for s in explore)


def test_bird_zero_peer_state_records_do_not_break(events, lab_truth):
    peers = set(events["cbird"]["peer_ip"])
    assert peers <= set(lab_truth["collectors"]["cbird"]["peers"].values())


def test_an_extra_scripted_switch_is_a_mismatch(lab_data, events):
    truth = load_truth(lab_data)
    truth["events"].append({**truth["events"][-1], "vp": "v1"})
    result = compare(truth, "cfrr", events["cfrr"])
    assert not result.ok
    bad = [s for s in result.steps if not s.ok]
    assert [(s.step, s.vp, s.expected["switch"], s.found["switch"]) for s in bad] == [
        ("more-specific-withdrawn", "v1", 2, 1)
    ]


def test_an_event_outside_its_step_time_is_a_mismatch(lab_data, events):
    truth = load_truth(lab_data)
    step = next(s for s in truth["steps"] if s["name"] == "site-a-withdraws")
    step["time"] -= 2.5  # still after the previous step, but the switch now comes after it converged
    step["converged"] = step["time"] + 0.1
    result = compare(truth, "cbird", events["cbird"])
    row = next(s for s in result.steps if s.step == "site-a-withdraws" and s.vp == "v1")
    assert row.off_time == 1 and not row.ok


def test_a_break_from_an_unknown_peer_is_a_mismatch(lab_data, events):
    truth = load_truth(lab_data)
    del truth["collectors"]["cgo"]["peers"]["v2"]
    result = compare(truth, "cgo", events["cgo"])
    assert not result.ok and len(result.unexpected_peers) == 2


def test_default_resync_hides_the_whole_lab_run(lab_data):
    truth = load_truth(lab_data)
    assert lab_params(truth).resync_s == truth["resync_s"] == 2.0
    truth["resync_s"] = 300.0
    ev = analyse_collector(lab_data, truth, "cfrr")
    # the sessions come up at the start: 300 s of resync cover the whole one-minute window
    assert not set(ev["kind"]) & {"switch", "withdraw"}
    assert not compare(truth, "cfrr", ev).ok


def _vp_stats(lab_data, collector, **changes):
    from dataclasses import replace

    from anystab.pipeline import AnalysisRequest, analyze

    truth = load_truth(lab_data)
    params = replace(lab_params(truth), **changes)
    window = truth["window"]
    request = AnalysisRequest(
        sources=(str(lab_data / collector),),
        params=params,
        start=window["start"],
        end=window["end"],
        collector=collector,
    )
    stats = analyze(request).tables["vp_stats"]
    by_ip = {ip: vp for vp, ip in truth["collectors"][collector]["peers"].items()}
    return {by_ip[row.peer_ip]: row for row in stats.itertuples()}


@pytest.mark.parametrize("collector", COLLECTORS)
def test_docs_claims_on_site_strategies_and_maps(lab_data, collector):
    from anystab.params import SiteMap

    default = _vp_stats(lab_data, collector)
    assert (default["v1"].switches, default["v2"].switches) == (5, 2)
    origin = _vp_stats(lab_data, collector, site_by="origin")
    assert (origin["v1"].switches, origin["v2"].switches) == (2, 2)
    path = _vp_stats(lab_data, collector, site_by="path")
    assert path["v1"].switches == default["v1"].switches + default["v1"].path_changes
    merged = SiteMap(names={"64501 64600": "anycast", "64502 64600": "anycast"})
    assert _vp_stats(lab_data, collector, site_map=merged)["v1"].switches == 2


@pytest.mark.parametrize("collector", COLLECTORS)
def test_docs_claim_on_the_transient_filter(lab_data, collector):
    filtered = _vp_stats(lab_data, collector, min_dwell_s=5.0)
    assert filtered["v1"].switches_raw == 5
    assert filtered["v1"].switches <= 1 and filtered["v2"].switches == 0


def test_docs_claim_on_time_resolution(lab_data):
    frr, bird, gobgp = (_vp_stats(lab_data, c)["v1"].path_changes for c in COLLECTORS)
    assert frr >= bird >= 2 and frr >= gobgp >= 2


def test_frr_shutdown_record_is_a_reported_problem(lab_data, lab_truth):
    from anystab.pipeline import AnalysisRequest, analyze

    request = AnalysisRequest(
        sources=(str(lab_data / "cfrr"),), params=lab_params(lab_truth), collector="cfrr"
    )
    result = analyze(request)
    problems, files = result.tables["problems"], result.tables["files"]
    assert len(problems) == 1
    assert "AFI 8" in problems["reason"].iloc[0]
    assert files["last_time"].iloc[0].timestamp() > lab_truth["window"]["end"]
