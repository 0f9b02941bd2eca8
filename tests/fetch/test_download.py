"""Fetching into the cache from a real HTTP server on 127.0.0.1, with faults."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from support.fetch_server import END, SAMPLE, START, ArchiveServer, build_archive

from anystab.cli.options import parse_time
from anystab.errors import ConfigError
from anystab.sources.fetch import (
    MISSING_FILE,
    FetchProgress,
    FetchRequest,
    check_whole,
    fetch,
    load_missing,
    planned_files,
)

RRC00 = "rrc00/2025.06/"
UPDATES_0005 = RRC00 + "updates.20250602.0005.gz"
UPDATES_0010 = RRC00 + "updates.20250602.0010.gz"
LINX_0015 = "route-views.linx/bgpdata/2025.06/UPDATES/updates.20250602.0015.bz2"


def _request(archive: ArchiveServer, cache: Path, *collectors: str, **kw: object) -> FetchRequest:
    opts: dict[str, object] = {"jobs": 3, "retries": 3, "timeout_s": 5.0, "backoff_s": 0.0} | kw
    return FetchRequest(
        collectors=collectors or ("rrc00", "route-views.linx"),
        start=parse_time(START),
        end=parse_time(END),
        cache=cache,
        mirrors={"ris": archive.url, "routeviews": archive.url},
        **opts,  # type: ignore[arg-type]
    )


def _expected_paths() -> list[str]:
    ris = [RRC00 + "bview.20250602.0000.gz"] + [
        RRC00 + f"updates.20250602.00{m:02d}.gz" for m in range(0, 20, 5)
    ]
    linx = "route-views.linx/bgpdata/2025.06/"
    rv = [linx + "RIBS/rib.20250602.0000.bz2"] + [
        linx + f"UPDATES/updates.20250602.00{m:02d}.bz2" for m in (0, 15)
    ]
    return ris + rv


def _assert_cache_matches_sample(cache: Path, paths: list[str]) -> None:
    for rel in paths:
        assert (cache / rel).read_bytes() == (SAMPLE / rel).read_bytes(), rel
    leftovers = [p for p in cache.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert leftovers == []


def test_clean_fetch_then_second_fetch_downloads_nothing(archive: ArchiveServer, cache: Path) -> None:
    seen: list[FetchProgress] = []
    report = fetch(_request(archive, cache), progress=seen.append)
    assert [o.status for o in report.outcomes] == ["downloaded"] * 8
    assert sorted(o.file.path for o in report.outcomes) == sorted(_expected_paths())
    _assert_cache_matches_sample(cache, _expected_paths())
    assert report.bytes_downloaded == sum((SAMPLE / p).stat().st_size for p in _expected_paths())
    assert seen[-1] == FetchProgress(8, 8, report.bytes_downloaded)
    served = len(archive.requests())
    again = fetch(_request(archive, cache))
    assert [o.status for o in again.outcomes] == ["cached"] * 8
    assert again.bytes_downloaded == 0
    assert len(archive.requests()) == served
    assert again.paths() == report.paths()


def test_faults_end_in_a_complete_cache_and_a_silent_second_fetch(
    archive: ArchiveServer, cache: Path
) -> None:
    archive.fault(UPDATES_0005, "500", "500")
    archive.fault(UPDATES_0010, "drop")
    archive.fault(LINX_0015, "truncate")
    archive.fault(RRC00 + "updates.20250602.0015.gz", "slow")
    archive.fault(RRC00 + "updates.20250602.0000.gz", "404")
    report = fetch(_request(archive, cache, timeout_s=0.4))
    by_path = {o.file.path: o for o in report.outcomes}
    assert by_path[UPDATES_0005].attempts == 3 and by_path[UPDATES_0005].status == "downloaded"
    assert by_path[LINX_0015].attempts == 2 and by_path[LINX_0015].status == "downloaded"
    assert by_path[RRC00 + "updates.20250602.0015.gz"].attempts == 2
    assert by_path[RRC00 + "updates.20250602.0000.gz"].status == "missing"
    # the dropped transfer was resumed where it stopped, not started over
    ranges = [r.range for r in archive.requests(UPDATES_0010)]
    size = (SAMPLE / UPDATES_0010).stat().st_size
    assert ranges == [None, f"bytes={size // 2}-"]
    assert by_path[UPDATES_0010].bytes == size
    whole = [p for p in _expected_paths() if not p.endswith("updates.20250602.0000.gz")]
    _assert_cache_matches_sample(cache, whole)
    assert not (cache / RRC00 / "updates.20250602.0000.gz").exists()
    missing = load_missing(cache)
    assert list(missing) == [RRC00 + "updates.20250602.0000.gz"]
    assert missing[RRC00 + "updates.20250602.0000.gz"]["status"] == 404
    served = len(archive.requests())
    again = fetch(_request(archive, cache))
    assert sorted(o.status for o in again.outcomes) == ["cached"] * 7 + ["known_missing"]
    assert len(archive.requests()) == served


def test_a_file_that_keeps_failing_is_reported_and_leaves_nothing_in_place(
    archive: ArchiveServer, cache: Path
) -> None:
    archive.fault(UPDATES_0005, *["500"] * 4)
    report = fetch(_request(archive, cache, "rrc00", retries=3))
    [failed] = report.failed
    assert failed.file.path == UPDATES_0005 and failed.attempts == 4 and failed.error == "HTTP 500"
    assert not (cache / UPDATES_0005).exists()
    assert load_missing(cache) == {}


def test_a_forbidden_file_fails_without_retries(archive: ArchiveServer, cache: Path) -> None:
    archive.fault(UPDATES_0005, "403")
    report = fetch(_request(archive, cache, "rrc00"))
    [failed] = report.failed
    assert (failed.file.path, failed.attempts, failed.error) == (UPDATES_0005, 1, "HTTP 403 Forbidden")
    assert len(archive.requests(UPDATES_0005)) == 1


def test_a_partial_file_from_an_interrupted_run_is_resumed(archive: ArchiveServer, cache: Path) -> None:
    data = (SAMPLE / UPDATES_0005).read_bytes()
    part = cache / RRC00 / ".updates.20250602.0005.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:100])
    report = fetch(_request(archive, cache, "rrc00"))
    outcome = next(o for o in report.outcomes if o.file.path == UPDATES_0005)
    assert outcome.status == "downloaded" and outcome.bytes == len(data) - 100
    assert [r.range for r in archive.requests(UPDATES_0005)] == ["bytes=100-"]
    assert (cache / UPDATES_0005).read_bytes() == data and not part.exists()


@pytest.mark.parametrize("fault", ["norange", "416"])
def test_a_refused_range_starts_over(archive: ArchiveServer, cache: Path, fault: str) -> None:
    data = (SAMPLE / UPDATES_0005).read_bytes()
    part = cache / RRC00 / ".updates.20250602.0005.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"junk that is not the start of the file")
    archive.fault(UPDATES_0005, fault)
    fetch(_request(archive, cache, "rrc00"))
    assert (cache / UPDATES_0005).read_bytes() == data
    assert not part.exists()


def test_a_damaged_partial_file_is_dropped_and_fetched_again(archive: ArchiveServer, cache: Path) -> None:
    part = cache / RRC00 / ".updates.20250602.0005.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\x1f\x8b garbage")  # resumed onto: the result cannot decompress
    report = fetch(_request(archive, cache, "rrc00"))
    outcome = next(o for o in report.outcomes if o.file.path == UPDATES_0005)
    assert outcome.status == "downloaded" and outcome.attempts == 2
    assert (cache / UPDATES_0005).read_bytes() == (SAMPLE / UPDATES_0005).read_bytes()


def test_verify_refetches_a_damaged_cached_file(archive: ArchiveServer, cache: Path) -> None:
    fetch(_request(archive, cache, "rrc00"))
    target = cache / UPDATES_0005
    target.write_bytes(target.read_bytes()[:-20])
    assert fetch(_request(archive, cache, "rrc00")).count("downloaded") == 0
    report = fetch(_request(archive, cache, "rrc00", verify=True))
    assert [o.file.path for o in report.outcomes if o.status == "downloaded"] == [UPDATES_0005]
    assert target.read_bytes() == (SAMPLE / UPDATES_0005).read_bytes()


def test_a_missing_rib_dump_falls_back_to_an_earlier_one(archive: ArchiveServer, cache: Path) -> None:
    bview = archive.root / RRC00 / "bview.20250602.0000.gz"
    earlier = archive.root / "rrc00/2025.06/bview.20250601.1600.gz"
    earlier.parent.mkdir(parents=True, exist_ok=True)
    bview.rename(earlier)
    report = fetch(_request(archive, cache, "rrc00"))
    ribs = [(o.file.path, o.status) for o in report.outcomes if o.file.kind == "rib"]
    assert ribs == [
        (RRC00 + "bview.20250602.0000.gz", "missing"),
        ("rrc00/2025.06/bview.20250601.1600.gz", "downloaded"),
    ]


def test_a_file_that_appears_later_leaves_the_missing_record(archive: ArchiveServer, cache: Path) -> None:
    hidden = archive.root / UPDATES_0005
    kept = hidden.read_bytes()
    hidden.unlink()
    fetch(_request(archive, cache, "rrc00", ribs=False))
    record = json.loads((cache / MISSING_FILE).read_text())
    assert list(record["files"]) == [UPDATES_0005]
    # a recent check: the archive may still publish it, so it is asked for again
    record["files"][UPDATES_0005]["checked"] = record["files"][UPDATES_0005]["time"] + 60
    (cache / MISSING_FILE).write_text(json.dumps(record))
    hidden.write_bytes(kept)
    report = fetch(_request(archive, cache, "rrc00", ribs=False))
    assert report.count("downloaded") == 1
    assert load_missing(cache) == {}


def test_plan_names_the_archive_layouts() -> None:
    request = FetchRequest(
        ("rrc15", "route-views2", "route-views.jinx"),
        parse_time("2014-05-30T23:50:00Z"),
        parse_time("2014-05-31T00:01:00Z"),
        Path("cache"),
        warm_up=False,
    )
    urls = [(f.url, f.path) for f in planned_files(request)]
    ris, rv = "https://data.ris.ripe.net/", "https://archive.routeviews.org/"
    assert urls == [
        (ris + "rrc15/2014.05/bview.20140530.1600.gz", "rrc15/2014.05/bview.20140530.1600.gz"),
        (ris + "rrc15/2014.05/updates.20140530.2350.gz", "rrc15/2014.05/updates.20140530.2350.gz"),
        (ris + "rrc15/2014.05/updates.20140530.2355.gz", "rrc15/2014.05/updates.20140530.2355.gz"),
        (ris + "rrc15/2014.05/updates.20140531.0000.gz", "rrc15/2014.05/updates.20140531.0000.gz"),
        (
            rv + "bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
            "route-views2/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
        ),
        (
            rv + "bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2",
            "route-views2/bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2",
        ),
        (
            rv + "bgpdata/2014.05/UPDATES/updates.20140531.0000.bz2",
            "route-views2/bgpdata/2014.05/UPDATES/updates.20140531.0000.bz2",
        ),
        (
            rv + "route-views.jinx/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
            "route-views.jinx/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
        ),
        (
            rv + "route-views.jinx/bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2",
            "route-views.jinx/bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2",
        ),
        (
            rv + "route-views.jinx/bgpdata/2014.05/UPDATES/updates.20140531.0000.bz2",
            "route-views.jinx/bgpdata/2014.05/UPDATES/updates.20140531.0000.bz2",
        ),
    ]
    # with the warm-up: RIS 16:00 .. 23:45 (94 files of 5 min), RouteViews 22:00 .. 23:30 (7 of 15 min) each
    warm = [f for f in planned_files(replace(request, warm_up=True)) if f.role == "warm_up"]
    assert [sum(f.collector == c for f in warm) for c in request.collectors] == [94, 7, 7]
    assert warm[0].path == "rrc15/2014.05/updates.20140530.1600.gz"
    assert warm[93].path == "rrc15/2014.05/updates.20140530.2345.gz"


def test_route_views2_in_the_cache_is_read_as_route_views2(archive: ArchiveServer, cache: Path) -> None:
    from anystab.sources.archive import discover

    fetch(_request(archive, cache, "route-views2"))
    files = discover([cache])
    assert len(files) == 3
    assert {f.collector for f in files} == {"route-views2"}


def test_a_file_mirror_works_like_http(cache: Path, tmp_path: Path) -> None:
    root = build_archive(tmp_path / "mirror")
    request = FetchRequest(
        ("rrc00",), parse_time(START), parse_time(END), cache, mirrors={"ris": root.as_uri()}, backoff_s=0
    )
    (root / UPDATES_0010).unlink()
    report = fetch(request)
    assert {o.file.path: o.status for o in report.outcomes}[UPDATES_0010] == "missing"
    assert report.count("downloaded") == 4


def test_check_whole_tells_damage_and_wrong_compression(tmp_path: Path) -> None:
    good = SAMPLE / UPDATES_0005
    assert check_whole(good) is None
    cut = tmp_path / "updates.gz"
    cut.write_bytes(good.read_bytes()[:-10])
    assert "truncated gzip" in (check_whole(cut) or "")
    html = tmp_path / "updates.bz2"
    html.write_bytes(b"<html>not found</html>")
    assert check_whole(html) == "not bzip2 data (plain bytes)"


@pytest.mark.parametrize(
    "kw",
    [{"end": 0.0}, {"jobs": 0}, {"retries": -1}, {"timeout_s": 0.0}, {"collectors": ()}],
)
def test_bad_requests_are_config_errors(kw: dict[str, object]) -> None:
    args: dict[str, object] = {
        "collectors": ("rrc00",),
        "start": 100.0,
        "end": 200.0,
        "cache": Path("c"),
    } | kw
    with pytest.raises(ConfigError):
        planned_files(FetchRequest(**args))  # type: ignore[arg-type]
