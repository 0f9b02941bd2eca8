"""Coverage: the VPs that sent elements but count for no target, each with its reason."""

from __future__ import annotations

from support.analysis import elem, elements, gaps_frame, params, run

from anystab.coverage import build_coverage, explain, target_shortfall

T = "192.0.2.0/24"
U = "198.51.100.0/24"
W = (0.0, 100.0)
COUNTED = ("rrc00", 64500, "192.0.2.1")
RESYNC = ("rrc00", 64501, "192.0.2.2")
STATES = ("rrc00", 64502, "192.0.2.3")
LATE = ("rrc00", 64503, "192.0.2.4")
OTHER = ("rrc01", 64504, "192.0.2.5")


def _rows() -> list[dict]:
    return [
        elem(-5, "R", T, "1 2 10", vp=COUNTED),
        elem(-5, "R", T, "1 2 10", vp=RESYNC),
        elem(-5, "R", T, "1 2 10", vp=OTHER),
        elem(-3, "S", vp=RESYNC, new_state=1),  # down before the window, up at -2, re-sync until 298
        elem(-2, "S", vp=RESYNC, new_state=6),
        elem(30, "S", vp=STATES, new_state=1),
        elem(150, "A", T, "1 2 10", vp=LATE),  # after the window, no RIB entry before it
    ]


def _coverage(resync_s: float = 300.0, gaps=None):
    frame = elements(_rows())
    p = params(T, resync_s=resync_s)
    r = run(frame, p, W, gaps)
    return build_coverage(frame, gaps if gaps is not None else gaps_frame(), r.vp_stats, W), r


def test_every_left_out_vp_has_exactly_one_reason():
    gaps = gaps_frame(("rrc01", 0.0, 100.0))
    coverage, r = _coverage(gaps=gaps)
    reasons = {(c, ip): why for c, _, ip, why in coverage.itertuples(index=False)}
    assert reasons == {
        ("rrc00", "192.0.2.2"): "session",
        ("rrc00", "192.0.2.3"): "no_route",
        ("rrc00", "192.0.2.4"): "not_in_window",
        ("rrc01", "192.0.2.5"): "collector_unobserved",
    }
    assert list(r.vp_stats["peer_ip"]) == ["192.0.2.1"]


def test_a_shorter_resync_brings_the_vp_back():
    coverage, r = _coverage(resync_s=0.0)
    assert "192.0.2.2" in set(r.vp_stats["peer_ip"])
    assert "session" not in set(coverage["reason"])


def test_explanations_name_counts_collectors_and_the_option_that_changes_them():
    coverage, _ = _coverage()
    notes = {e["reason"]: e for e in explain(coverage, gaps_frame(), 300.0)}
    assert notes["session"]["vps"] == 1
    assert "--resync 300 s" in notes["session"]["why"]
    assert notes["session"]["hint"] == "try --resync 0 for a short window"
    assert notes["no_route"]["why"].startswith("1 VP sent only session state changes")
    assert "--start/--end" in notes["not_in_window"]["hint"]
    assert explain(coverage, gaps_frame(), 0.0)[-1]["hint"] is None


def test_a_collector_with_a_rib_dump_alone_is_explained_as_such():
    gaps = gaps_frame(("rrc01", 0.0, 100.0)).assign(reason="outside_data")
    coverage, _ = _coverage(gaps=gaps)
    (entry,) = [e for e in explain(coverage, gaps, 300.0) if e["reason"] == "collector_unobserved"]
    assert entry["collectors"] == ["rrc01"]
    assert "a RIB dump alone shows one instant" in entry["why"]
    missing = gaps_frame(("rrc01", 0.0, 100.0))
    (entry,) = [e for e in explain(coverage, missing, 300.0) if e["reason"] == "collector_unobserved"]
    assert "update files are missing" in entry["why"]


def test_shortfall_per_target_tells_partial_feeds_from_the_other_address_family():
    v6 = ("rrc01", 64505, "2001:db8::5")
    rows = [
        elem(-5, "R", T, "1 2 10", vp=COUNTED),
        elem(-5, "R", T, "1 2 10", vp=OTHER),
        elem(-5, "R", U, "1 2 20", vp=OTHER),
        elem(-5, "R", "2001:db8:53::/48", "1 2 30", vp=v6),
    ]
    r = run(rows, params(T, U, "2001:db8:53::/48"), W)
    assert target_shortfall(r.vp_stats, [T, U, "203.0.113.0/24", "2001:db8:53::/48"]) == [
        {"target": T, "vps": 2, "partial_feed": 0, "other_family": 1},
        {"target": U, "vps": 1, "partial_feed": 1, "other_family": 1},
        {"target": "203.0.113.0/24", "vps": 0, "partial_feed": 2, "other_family": 1},
        {"target": "2001:db8:53::/48", "vps": 1, "partial_feed": 0, "other_family": 2},
    ]
