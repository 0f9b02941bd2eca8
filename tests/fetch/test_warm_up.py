"""Exact state at the window start: fetching a window also fetches the update files from the RIB dump to the
window start (the warm-up), and the analysis replays them. Served by a real HTTP mirror of the sample
archive, whose site sin withdraws at 00:20 (between the 00:00 RIB dumps and a 00:25 window start)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support.fetch_server import ArchiveServer

from anystab.cli.main import cli
from anystab.generate import sample_scenario
from anystab.generate.scenario import expected_segments, simulate

COLLECTORS = "rrc00,route-views.linx"
W0, W1 = "2025-06-02T00:25:00Z", "2025-06-02T00:40:00Z"
W0_US = int(pd.Timestamp(W0).value // 1000)


def invoke(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def expected_sites() -> dict[tuple[str, str, str], str | None]:
    """(collector, peer_ip, target) -> the site at the window start, from the scenario's own replay."""
    scenario = sample_scenario()
    out = {}
    for run in simulate(scenario):
        for target in scenario.targets:
            if target.version == run.vp.version:
                segs = [s for s in expected_segments(scenario, run, target, 300.0) if s.start <= W0_US]
                out[(run.vp.collector, run.vp.peer_ip, target.prefix)] = segs[-1].site
    return out


def sites_at_start(out: Path) -> dict[tuple[str, str, str], str | None]:
    timeline = pq.read_table(out / "timeline.parquet").to_pandas()
    at = timeline[(timeline["start"] <= pd.Timestamp(W0)) & (timeline["end"] > pd.Timestamp(W0))]
    return {
        (r.collector, r.peer_ip, r.target): (None if pd.isna(r.site) else r.site) for r in at.itertuples()
    }


def analyze(*args: str, out: Path) -> dict:
    code, stdout, err = invoke(
        "analyze", *args, "--service", "data/service.toml", "--start", W0, "--end", W1,
        "--json", "-q", "--jobs", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    return json.loads(stdout)


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])


def test_fetch_then_analyze_starts_from_the_exact_state(
    archive: ArchiveServer, cache: Path, tmp_path: Path, expected_sites: dict
) -> None:
    code, out, err = invoke(
        "fetch", "--collector", COLLECTORS, "--start", W0, "--end", W1, "--cache", str(cache),
        "--mirror", archive.url, "--json", "-q",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    roles = [f["role"] for f in report["files"]]
    # RIS: 00:00 .. 00:20 (5 files); RouteViews: 00:00 (its 00:15 file is the window's first)
    assert roles.count("warm_up") == 6 and roles.count("rib") == 2
    assert report["warm_up"] == {
        "files": 6,
        "in_cache": 6,
        "missing": 0,
        "bytes_downloaded": report["warm_up"]["bytes_downloaded"],
    }
    assert report["warm_up"]["bytes_downloaded"] > 0
    summary = analyze(str(cache), out=tmp_path / "out")
    got = sites_at_start(tmp_path / "out")
    assert got == {k: v for k, v in expected_sites.items() if k in got}
    assert len(got) == summary["vantage_points"] == 33
    assert summary["coverage"]["stale"] == []
    assert any(v != "sin" for k, v in got.items() if k[0] == "rrc00")


def test_analyze_fetching_by_itself_warms_up_too(
    archive: ArchiveServer, cache: Path, tmp_path: Path, expected_sites: dict
) -> None:
    summary = analyze(
        "--collector", COLLECTORS, "--cache", str(cache), "--mirror", archive.url, out=tmp_path / "o"
    )
    got = sites_at_start(tmp_path / "o")
    assert got == {k: v for k, v in expected_sites.items() if k in got} and len(got) == 33
    assert summary["coverage"]["stale"] == []


def test_without_the_warm_up_the_stale_state_is_reported(
    archive: ArchiveServer, cache: Path, tmp_path: Path, expected_sites: dict
) -> None:
    summary = analyze(
        "--collector", COLLECTORS, "--cache", str(cache), "--mirror", archive.url, "--no-warm-up",
        out=tmp_path / "o",
    )  # fmt: skip
    stale = {s["collector"]: s for s in summary["coverage"]["stale"]}
    assert set(stale) == {"rrc00", "route-views.linx"}
    assert stale["rrc00"]["rib_time"] == "2025-06-02T00:00:00Z"
    assert stale["rrc00"]["exact_until"] == "2025-06-02T00:00:00Z"
    assert stale["rrc00"]["age_s"] == 25 * 60
    assert stale["route-views.linx"]["invisible_s"] == 15 * 60  # its window file starts at 00:15
    notes = [n for n in summary["notes"] if "the state at the window start is" in n]
    assert len(notes) == 2 and "25 min old" in notes[1] and "route changes there are invisible" in notes[1]
    got = sites_at_start(tmp_path / "o")
    wrong = {k for k, v in got.items() if expected_sites.get(k) != v}
    assert wrong, "the stale table puts some VPs at the site they left before the window"
    assert all(got[k] == "sin" for k in wrong if k in got)


def test_dry_run_lists_the_warm_up_apart(archive: ArchiveServer, cache: Path) -> None:
    code, out, err = invoke(
        "fetch", "--collector", COLLECTORS, "--start", W0, "--end", W1, "--cache", str(cache),
        "--mirror", archive.url, "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0
    files = json.loads(out)["files"]
    assert [f["role"] for f in files] == ["rib"] * 2 + ["warm_up"] * 6 + ["window"] * 5
    assert "6 warm-up files (from the RIB dump to --start" in err
    assert archive.requests() == []
    code, out, err = invoke(
        "fetch", "--collector", COLLECTORS, "--start", W0, "--end", W1, "--cache", str(cache),
        "--mirror", archive.url, "--dry-run", "--no-warm-up",
    )  # fmt: skip
    assert len(out.splitlines()) == 7 and "0 warm-up files" in err


def test_an_earlier_rib_dump_standing_in_for_a_missing_one_is_warmed_up_from_its_own_time(
    archive: ArchiveServer, cache: Path
) -> None:
    # the archive lacks the 00:00 dump (404) and has the day before's 16:00 one: the warm-up runs from 16:00
    older = archive.root / "rrc00" / "2025.06" / "bview.20250601.1600.gz"
    shutil.copy(archive.root / "rrc00" / "2025.06" / "bview.20250602.0000.gz", older)
    archive.fault("rrc00/2025.06/bview.20250602.0000.gz", "404")
    code, out, err = invoke(
        "fetch", "--collector", "rrc00", "--start", W0, "--end", W1, "--cache", str(cache),
        "--mirror", archive.url, "--json", "-q",
    )  # fmt: skip
    report = json.loads(out)
    ribs = [(f["path"], f["status"]) for f in report["files"] if f["kind"] == "rib"]
    assert ribs == [
        ("rrc00/2025.06/bview.20250602.0000.gz", "missing"),
        ("rrc00/2025.06/bview.20250601.1600.gz", "downloaded"),
    ]
    warm = [f for f in report["files"] if f["role"] == "warm_up"]
    assert len(warm) == 5 + 96  # 00:00 .. 00:20, then 16:00 .. 23:55 of the day before
    assert sum(1 for f in warm if f["status"] == "missing") == 96
    assert report["warm_up"]["missing"] == 96


def test_a_warm_up_file_missing_in_the_archive_leaves_a_stale_state_that_is_reported(
    archive: ArchiveServer, cache: Path, tmp_path: Path
) -> None:
    archive.fault("rrc00/2025.06/updates.20250602.0010.gz", "404")
    summary = analyze(
        "--collector", "rrc00", "--cache", str(cache), "--mirror", archive.url, out=tmp_path / "o"
    )
    (stale,) = summary["coverage"]["stale"]
    assert stale == {
        "collector": "rrc00",
        "rib_time": "2025-06-02T00:00:00Z",
        "exact_until": "2025-06-02T00:10:00Z",
        "age_s": 15 * 60.0,
        "invisible_s": 5 * 60.0,
    }
    assert any(n.startswith("rrc00: the state at the window start is 15 min old") for n in summary["notes"])
