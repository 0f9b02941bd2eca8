"""Scenario steps, the truth derived from them, the topology and the daemons' configurations."""

import ipaddress
import tomllib

import pytest

from anystab.lab.daemons import (
    FrrCollector,
    GobgpCollector,
    gobgp_config,
    gobgp_policies,
    parse_bird_routes,
)
from anystab.lab.scenarios import (
    BASELINE,
    SCENARIOS,
    SITE_NAMES,
    STEPS,
    effective_path,
    site_of,
    steps_of,
)
from anystab.lab.topology import LINK_NET, TOPOLOGY
from anystab.lab.truth import site_events


def test_every_scenario_starts_with_the_baseline():
    for scenario in SCENARIOS:
        names = [s.name for s in steps_of(scenario)]
        assert names[:2] == ["site-b-announces", "site-a-announces"]
    assert [s.name for s in steps_of("all")] == [s.name for s in STEPS]
    assert {s.scenario for s in steps_of("reset")} == {"baseline", "reset", "end"}


def test_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        steps_of("nope")


def test_scenarios_end_with_the_non_covering_more_specific():
    for scenario in SCENARIOS:
        *steps, last = steps_of(scenario)
        assert steps[-1].expected == BASELINE
        assert last.name == "non-covering-more-specific"
        assert {vp: effective_path(r) for vp, r in last.expected.items()} == {
            vp: effective_path(r) for vp, r in BASELINE.items()
        }


@pytest.mark.parametrize(
    ("path", "site"),
    [
        ("64511 64501 64600", "site-a"),
        ("64511 64520 64501 64600", "site-a"),
        ("64512 64502 64600", "site-b"),
        ("64511 64502 64666", "other-origin"),
        ("64999", "64999 64999"),
        (None, None),
        ("", None),
    ],
)
def test_site_of_lab_paths(path, site):
    assert site_of(path) == site


def test_effective_path_is_the_longest_prefix():
    assert effective_path({"203.0.113.0/24": "1 2", "203.0.113.0/25": "3 4"}) == "3 4"
    assert effective_path({}) is None
    assert effective_path({"203.0.113.0/24": "1 2", "203.0.113.128/25": "3 4"}) == "1 2"
    assert effective_path({"203.0.113.128/25": "3 4"}) is None


def _truth_events(scenario):
    states = [({"name": "start", "scenario": "baseline", "time": 0.0, "converged": 0.0}, {})]
    for i, step in enumerate(steps_of(scenario), 1):
        fields = {"name": step.name, "scenario": step.scenario, "time": float(i), "converged": i + 0.5}
        states.append((fields, step.expected))
    return site_events(states, ["v1", "v2"])


def test_truth_of_the_full_run():
    events = [(e["step"], e["vp"], e["kind"]) for e in _truth_events("all")]
    assert events == [
        ("site-b-announces", "v1", "restore"),
        ("site-b-announces", "v2", "restore"),
        ("site-a-announces", "v1", "switch"),
        ("site-a-withdraws", "v1", "switch"),
        ("site-a-returns", "v1", "switch"),
        ("more-specific-announced", "v1", "switch"),
        ("more-specific-announced", "v2", "switch"),
        ("more-specific-withdrawn", "v1", "switch"),
        ("more-specific-withdrawn", "v2", "switch"),
    ]


@pytest.mark.parametrize("scenario", ["reset", "explore"])
def test_reset_and_path_exploration_script_no_switch(scenario):
    assert not [e for e in _truth_events(scenario) if e["scenario"] == scenario]


def test_events_carry_their_step_times():
    event = next(e for e in _truth_events("withdraw") if e["step"] == "site-a-withdraws")
    assert (event["time"], event["converged"], event["old_site"], event["new_site"]) == (
        3.0,
        3.5,
        "site-a",
        "site-b",
    )


def test_topology_addresses_are_unique_and_inside_the_lab_net():
    addresses = [link.address(node) for link in TOPOLOGY.links for node in (link.a, link.b)]
    assert len(addresses) == len(set(addresses))
    assert all(ipaddress.ip_address(a) in LINK_NET for a in addresses)
    assert all(
        len(link.ifname(n)) <= 15 and "-" in link.ifname(n)
        for link in TOPOLOGY.links
        for n in (link.a, link.b)
    )


def test_every_vantage_point_peers_with_every_collector():
    for c in TOPOLOGY.collectors:
        assert sorted(link.peer(c.name) for link in TOPOLOGY.links_of(c.name)) == sorted(
            TOPOLOGY.vantage_points
        )
    assert {c.kind for c in TOPOLOGY.collectors} == {"frr", "bird", "gobgp"}


def test_site_names_cover_every_scripted_path():
    for step in STEPS:
        for routes in step.expected.values():
            for path in routes.values():
                assert site_of(path) in SITE_NAMES.values()


def test_gobgp_config_is_toml_with_the_local_preferences():
    v1 = TOPOLOGY.router("v1")
    doc = tomllib.loads(gobgp_config(TOPOLOGY, "v1", gobgp_policies(TOPOLOGY, v1)))
    assert doc["global"]["config"]["as"] == 64511
    assert len(doc["neighbors"]) == len(TOPOLOGY.links_of("v1"))
    prefs = {
        s["name"]: s["actions"]["bgp-actions"]["set-local-pref"]
        for s in doc["policy-definitions"][0]["statements"]
    }
    assert prefs == {"from-u1": 200, "from-x": 150}
    passive = {
        n["config"]["neighbor-address"]: n["transport"]["config"]["passive-mode"] for n in doc["neighbors"]
    }
    # v1 waits for the collectors (which connect every second) and connects to u1, x, u2 itself
    assert passive[TOPOLOGY.link("v1", "cfrr").address("cfrr")] is True
    assert passive[TOPOLOGY.link("u1", "v1").address("u1")] is False


def test_gobgp_collector_dumps_to_a_bare_time_layout_name(tmp_path):
    spec = next(c for c in TOPOLOGY.collectors if c.kind == "gobgp")
    out = tmp_path / "out2026"  # digits in a folder would be read as a Go time layout
    collector = GobgpCollector(TOPOLOGY, spec, tmp_path / "run", out)
    doc = tomllib.loads((tmp_path / "run" / spec.name / "gobgpd.toml").read_text())
    assert doc["mrt-dump"][0]["config"]["file-name"] == "updates.20060102.150405.mrt"
    assert doc["mrt-dump"][0]["config"]["rotation-interval"] == 3600
    assert collector.daemon.cwd == out / spec.name
    assert doc["global"]["apply-policy"]["config"]["default-export-policy"] == "reject-route"


def test_frr_collector_dumps_all_with_extended_times(tmp_path):
    spec = next(c for c in TOPOLOGY.collectors if c.kind == "frr")
    FrrCollector(TOPOLOGY, spec, tmp_path / "run", tmp_path / "out")
    conf = (tmp_path / "run" / spec.name / "bgpd.conf").read_text()
    assert f"dump bgp all-et {tmp_path / 'out' / spec.name}/updates.%Y%m%d.%H%M%S 3600" in conf
    assert conf.count("route-map ALL in") == len(TOPOLOGY.vantage_points)


BIRD_ROUTES = """\
BIRD 2.0.12 ready.
Table master4:
203.0.113.0/24       unicast [p_v1 08:51:54.631] * (100) [AS64600?]
\tvia 192.0.2.41 on cbird-v1
\tType: BGP univ
\tBGP.origin: Incomplete
\tBGP.as_path: 64511 64501 64600
\tBGP.next_hop: 192.0.2.41
\tBGP.local_pref: 100
                     unicast [p_v2 08:51:54.700] (100) [AS64600?]
\tvia 192.0.2.45 on cbird-v2
\tBGP.as_path: 64512 64502 64600
203.0.113.0/25       unicast [p_v2 08:52:00.000] * (100) [AS64666?]
\tBGP.as_path: 64512 64502 64666
"""


def test_bird_route_listing_is_parsed_per_peer():
    routes = parse_bird_routes(BIRD_ROUTES, {"p_v1": "192.0.2.41", "p_v2": "192.0.2.45"})
    assert routes == {
        "192.0.2.41": {"203.0.113.0/24": "64511 64501 64600"},
        "192.0.2.45": {"203.0.113.0/24": "64512 64502 64600", "203.0.113.0/25": "64512 64502 64666"},
    }


def test_vantage_points_send_routes_to_the_collectors_only():
    v2 = TOPOLOGY.router("v2")
    doc = tomllib.loads(gobgp_config(TOPOLOGY, "v2", gobgp_policies(TOPOLOGY, v2)))
    policy = doc["global"]["apply-policy"]["config"]
    assert (policy["export-policy-list"], policy["default-export-policy"]) == (["export"], "reject-route")
    (collectors,) = doc["defined-sets"]["neighbor-sets"]
    expected = sorted(TOPOLOGY.link("v2", c.name).address(c.name) for c in TOPOLOGY.collectors)
    assert sorted(collectors["neighbor-info-list"]) == expected
    assert gobgp_policies(TOPOLOGY, TOPOLOGY.router("u1")) == ""
