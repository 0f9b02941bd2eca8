"""The scenario simulator: archive layout, records, and expected events that follow from the script."""

from __future__ import annotations

from pathlib import Path

import mrtparse
import pytest
from support.scenario import START, A, B, C, D, E, F, bgpdump_lines, replay_archive, small_scenario

from anystab.generate.scenario import (
    MAX_DELAY_MS,
    MIN_DELAY_MS,
    ExpectedEvent,
    Scenario,
    expected_events,
    rib_path,
    simulate,
    site_label,
    slots,
    update_path,
    write_archive,
)
from anystab.units import US_PER_S

BREAKS = ("switch", "withdraw", "restore")
LEAK = "64510 64511"  # the more-specific's site: its signature, as no site map names it


def _by_vp(events: list[ExpectedEvent], target: str) -> dict[tuple[str, int, str], list]:
    out: dict[tuple[str, int, str], list] = {}
    for e in events:
        if e.target == target and not e.kind.startswith("gap"):
            out.setdefault((e.collector, e.peer_asn, e.peer_ip), []).append(
                (e.time_us, e.kind, e.old_site, e.new_site, e.across_gap)
            )
    return out


def _sites(events: list[ExpectedEvent], vp: tuple[str, int, str]) -> list[tuple[str | None, str | None]]:
    return [
        (e.old_site, e.new_site)
        for e in events
        if (e.collector, e.peer_asn, e.peer_ip) == vp and e.kind in BREAKS
    ]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, small: Scenario) -> Path:
    root = tmp_path_factory.mktemp("archive")
    write_archive(small, root)
    return root


def test_archive_layouts(archive: Path, small: Scenario) -> None:
    ris, rv = small.collectors
    assert rib_path(ris, START) == "rrc01/2025.06/bview.20250602.0000.gz"
    assert rib_path(rv, START) == "route-views3/bgpdata/2025.06/RIBS/rib.20250602.0000.bz2"
    assert update_path(ris, START + 300) == "rrc01/2025.06/updates.20250602.0005.gz"
    assert update_path(rv, START + 900) == "route-views3/bgpdata/2025.06/UPDATES/updates.20250602.0015.bz2"
    assert (len(slots(small, ris)), len(slots(small, rv))) == (12, 4)
    written = sorted(str(p.relative_to(archive)) for p in archive.rglob("*") if p.is_file())
    expected = [rib_path(c, START) for c in small.collectors]
    expected += [update_path(c, s) for c in small.collectors for s in slots(small, c)]
    assert written == sorted(expected)


def test_each_update_file_holds_its_slot(archive: Path, small: Scenario) -> None:
    for coll in small.collectors:
        for slot in slots(small, coll):
            for fields in bgpdump_lines(archive / update_path(coll, slot)):
                assert slot * US_PER_S <= float(fields[1]) * US_PER_S < (slot + coll.cadence_s) * US_PER_S
                assert fields[0] == ("BGP4MP_ET" if coll.et else "BGP4MP")


def test_rib_dump_holds_every_vp_at_the_window_start(archive: Path, small: Scenario) -> None:
    for coll in small.collectors:
        lines = bgpdump_lines(archive / rib_path(coll, START))
        assert {int(f[1]) for f in lines} == {START}
        peers = {(int(f[4]), f[3]) for f in lines}
        assert peers == {(v.peer_asn, v.peer_ip) for v in small.vps if v.collector == coll.name}
        assert any(f[5] in ("0.0.0.0/0", "::/0") for f in lines)  # a default route the filter must ignore


def test_expected_events_match_an_independent_replay_of_the_files(archive: Path, small: Scenario) -> None:
    events = expected_events(small)
    for target in small.targets:
        replayed = {k: v for k, v in replay_archive(small, archive, target).items() if v}
        assert replayed == _by_vp(events, target.prefix)


def test_expected_site_sequence_follows_the_script(small: Scenario) -> None:
    events = expected_events(small)
    assert _sites(events, A) == [
        ("ams", "sin"),
        ("sin", "ams"),
        ("ams", LEAK),
        (LEAK, "ams"),
    ]
    assert _sites(events, B) == [
        ("sin", "iad"),
        ("iad", "sin"),
        ("sin", LEAK),
        (LEAK, "sin"),
    ]
    assert _sites(events, C) == [("sin", "ams"), ("ams", "sin")]
    assert _sites(events, D) == [
        ("iad", "sin"),
        ("sin", "iad"),
        ("iad", LEAK),
        (LEAK, "iad"),
    ]
    assert _sites(events, E) == [("sin", None), (None, "sin")]
    assert _sites(events, F) == []
    kinds = {(e.peer_ip, e.kind) for e in events}
    assert {(F[2], "path_change"), (A[2], "path_change"), (A[2], "origin_change")} <= kinds
    assert (B[2], "path_change") not in kinds  # B is on sin when ams prepends


def test_each_event_follows_its_happening_within_the_delay(small: Scenario) -> None:
    times = sorted(h.at for h in small.script) + [2700.0, 305.0, 403.0]
    for e in expected_events(small):
        if e.kind.startswith("gap") or e.across_gap:
            continue
        offset = e.time_us / US_PER_S - START
        assert any(0 <= offset - t <= MAX_DELAY_MS / 1000 + 0.001 for t in times), e
        coll = small.collector(e.collector)
        assert coll.et or e.time_us % US_PER_S == 0


def test_session_reset_gives_a_gap_and_judges_changes_at_its_end(small: Scenario) -> None:
    events = [e for e in expected_events(small) if (e.collector, e.peer_asn, e.peer_ip) == A]
    gaps = [(e.kind, e.time_us) for e in events if e.kind.startswith("gap")]
    runs = {r.vp.key: r for r in simulate(small)}
    down, up = runs[A].gaps[0]
    assert gaps == [("gap_start", down), ("gap_end", up + 300 * US_PER_S)]
    assert down == (START + 1000) * US_PER_S and up - down == 30 * US_PER_S + 60_000
    assert not any(e.across_gap for e in events)  # A's site did not change across the reset


def test_min_dwell_removes_short_transients(small: Scenario) -> None:
    filtered = expected_events(small, min_dwell_s=60)
    # the 5-s path exploration via sin at 300 s (A and D) leaves no event of any kind
    assert not [e for e in filtered if 300 <= e.time_us // 1_000_000 - small.start < 320]
    assert [e for e in expected_events(small) if 300 <= e.time_us // 1_000_000 - small.start < 320]
    assert _sites(filtered, A) == [("ams", LEAK), (LEAK, "ams")]
    assert _sites(filtered, D) == [("iad", LEAK), (LEAK, "iad")]
    assert _sites(filtered, E) == [("sin", None), (None, "sin")]
    assert _sites(expected_events(small, min_dwell_s=400), A) == []


def test_simulation_is_deterministic(small: Scenario) -> None:
    assert expected_events(small) == expected_events(small_scenario())
    first, second = simulate(small), simulate(small_scenario())
    assert [r.records for r in first] == [r.records for r in second]


def test_delays_stay_in_range(small: Scenario) -> None:
    ris_events = [e for e in expected_events(small) if e.collector == "rrc01" and e.kind == "withdraw"]
    for e in ris_events:
        assert MIN_DELAY_MS / 1000 <= e.time_us / US_PER_S - START - 900 <= MAX_DELAY_MS / 1000 + 0.001


def test_missing_update_file_is_not_written_and_hides_its_changes(tmp_path: Path) -> None:
    slot = START + 900  # the RouteViews file holding sin's withdrawal
    scenario = small_scenario(omit=(("route-views3", slot),))
    written = write_archive(scenario, tmp_path)
    assert not (tmp_path / update_path(scenario.collector("route-views3"), slot)).exists()
    assert len(written) == 2 + 12 + 3
    events = expected_events(scenario)
    e_events = [(e.kind, e.time_us) for e in events if e.peer_ip == E[2]]
    # E's withdrawal falls in the missing file: it is never seen, and sin's return changes nothing
    assert e_events == [("gap_start", slot * US_PER_S), ("gap_end", (slot + 900) * US_PER_S)]
    assert _sites(events, D)[:2] == [("iad", "sin"), ("sin", "iad")]


def test_addpath_collector_writes_path_ids(tmp_path: Path) -> None:
    scenario = small_scenario(addpath=True)
    write_archive(scenario, tmp_path)
    rv = scenario.collector("route-views3")
    rib = [r.data for r in mrtparse.Reader(str(tmp_path / rib_path(rv, START)))]
    assert {list(r["subtype"])[0] for r in rib} == {1, 8}
    assert all(e["path_id"] == 1 for r in rib[1:] for e in r["rib_entries"])
    files = [tmp_path / update_path(rv, s) for s in slots(scenario, rv)]
    updates = [r.data for path in files for r in mrtparse.Reader(str(path))]
    assert {list(u["subtype"])[0] for u in updates} == {9}
    assert expected_events(scenario) == expected_events(small_scenario())
    assert (
        replay_archive(scenario, tmp_path, scenario.targets[0])[("route-views3", *E[1:])][:1]
        == [
            (e.time_us, e.kind, e.old_site, e.new_site, False)
            for e in expected_events(scenario)
            if e.peer_ip == E[2]
        ][:1]
    )


def test_site_labels_follow_from_the_as_paths(small: Scenario) -> None:
    changes = [c for run in simulate(small) for c in run.changes if c.route is not None]
    assert changes
    for change in changes:
        assert change.route is not None and site_label(small, change.route) == change.label
