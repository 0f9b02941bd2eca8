"""The committed sample archive: deterministic, equal to a fresh generation, small, and as documented."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest
from support.scenario import replay_archive

from anystab.generate import sample_scenario, write_sample
from anystab.generate.scenario import rib_path, slots, update_path

DATA = Path(__file__).resolve().parents[2] / "data"
MAX_BYTES = 1_000_000


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("sample")
    write_sample(root)
    return _files(root)


def test_two_runs_give_identical_bytes(fresh: dict[str, bytes], tmp_path: Path) -> None:
    write_sample(tmp_path)
    assert _files(tmp_path) == fresh


def test_committed_data_equals_a_fresh_generation(fresh: dict[str, bytes]) -> None:
    committed = _files(DATA)
    assert sorted(committed) == sorted(fresh)
    changed = [name for name in fresh if committed[name] != fresh[name]]
    assert changed == [], "regenerate with: python -m anystab.generate data/"


def test_sample_is_small_and_has_the_documented_layout(fresh: dict[str, bytes]) -> None:
    assert sum(len(b) for b in fresh.values()) < MAX_BYTES
    scenario = sample_scenario()
    ris, rv = scenario.collectors
    assert (ris.name, ris.layout, ris.et, rv.name, rv.layout, rv.et) == (
        "rrc00", "ris", True, "route-views.linx", "routeviews", False,
    )  # fmt: skip
    assert (len(slots(scenario, ris)), len(slots(scenario, rv))) == (15, 5)
    expected = {rib_path(c, scenario.start) for c in scenario.collectors}
    expected |= {update_path(c, s) for c in scenario.collectors for s in slots(scenario, c)}
    assert {n for n in fresh if n.endswith((".gz", ".bz2"))} == expected
    assert 24 <= len(scenario.vps) <= 60


def test_service_file_names_every_site(fresh: dict[str, bytes]) -> None:
    service = tomllib.loads(fresh["service.toml"].decode())
    scenario = sample_scenario()
    assert service["site_by"] == "upstream"
    assert [t["prefix"] for t in service["targets"]] == [t.prefix for t in scenario.targets]
    assert service["sites"] == {f"{s.upstream_asn} {s.origin_asn}": s.name for s in scenario.sites}
    assert service["sites"]["64500 64496"] == "gru"


def test_expected_events_cover_every_kind_of_dynamics(fresh: dict[str, bytes]) -> None:
    rows = list(csv.DictReader(fresh["expected-events.csv"].decode().splitlines()))
    kinds = {r["kind"] for r in rows}
    assert {"switch", "withdraw", "restore", "path_change", "origin_change", "gap_start", "gap_end"} <= kinds
    assert any(r["across_gap"] == "1" and r["kind"] == "switch" for r in rows)
    assert {r["collector"] for r in rows if r["kind"] == "switch"} == {"rrc00", "route-views.linx"}
    assert any(r["new_site"] == "64510 64511" for r in rows)  # the more-specific from another origin
    dwell = list(csv.DictReader(fresh["expected-events-dwell60.csv"].decode().splitlines()))
    site_kinds = ("switch", "withdraw", "restore")
    assert 0 < sum(r["kind"] in site_kinds for r in dwell) < sum(r["kind"] in site_kinds for r in rows)


def test_readme_documents_the_command_and_the_script(fresh: dict[str, bytes]) -> None:
    text = fresh["README.md"].decode()
    assert "python -m anystab.generate data/" in text
    for word in ("withdraws", "session down", "prepends", "more-specific", "path exploration"):
        assert word in text


def test_committed_expectations_match_a_replay_of_the_committed_files() -> None:
    scenario = sample_scenario()
    rows = list(csv.DictReader((DATA / "expected-events.csv").read_text().splitlines()))
    for target in scenario.targets:
        replayed = {k: v for k, v in replay_archive(scenario, DATA, target).items() if v}
        expected: dict[tuple[str, int, str], list] = {}
        for r in rows:
            if r["target"] == target.prefix and not r["kind"].startswith("gap"):
                key = (r["collector"], int(r["peer_asn"]), r["peer_ip"])
                event = (int(r["time_us"]), r["kind"], r["old_site"] or None, r["new_site"] or None)
                expected.setdefault(key, []).append((*event, r["across_gap"] == "1"))
        assert replayed == expected
