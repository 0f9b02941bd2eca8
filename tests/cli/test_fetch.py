"""``anystab fetch`` and ``anystab analyze --collector`` (which fetches first) against the real server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.fetch_server import END, SAMPLE, START, ArchiveServer
from support.fetch_server import archive as archive
from support.fetch_server import cache as cache
from support.fetch_server import isolated as isolated  # autouse: no user config, SIGPIPE ignored

from anystab.cli.main import cli
from anystab.sources.fetch import MISSING_FILE

UPDATES_0005 = "rrc00/2025.06/updates.20250602.0005.gz"


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _fetch_args(archive: ArchiveServer, cache: Path, *extra: str) -> list[str]:
    window = ["--start", START, "--end", END]
    return [
        "fetch",
        "--collector",
        "rrc00,route-views.linx",
        *window,
        "--cache",
        str(cache),
        "--mirror",
        archive.url,
        *extra,
    ]


def test_fetch_then_nothing_more(archive: ArchiveServer, cache: Path) -> None:
    code, out, _ = _invoke(*_fetch_args(archive, cache, "--retries", "0"))
    assert code == 0
    assert out.startswith("8 downloaded (") and "0 already cached, 0 missing in the archive, 0 failed" in out
    served = len(archive.requests())
    code, out, _ = _invoke(*_fetch_args(archive, cache, "--json"))
    assert code == 0
    summary = json.loads(out)
    assert summary["counts"] == {"cached": 8, "downloaded": 0, "missing": 0, "known_missing": 0, "failed": 0}
    assert len(archive.requests()) == served


def test_fetch_reports_missing_files_and_exits_1_on_failures(archive: ArchiveServer, cache: Path) -> None:
    (archive.root / UPDATES_0005).unlink()
    archive.fault("rrc00/2025.06/updates.20250602.0010.gz", "500", "500")
    code, out, err = _invoke(*_fetch_args(archive, cache, "--retries", "1"))
    assert code == 1
    assert "1 missing in the archive, 1 failed" in out
    assert f"missing: {archive.url}{UPDATES_0005} (HTTP 404)" in out
    assert "Error: 1 file could not be fetched" in err and "run again to resume" in err
    assert UPDATES_0005 in json.loads((cache / MISSING_FILE).read_text())["files"]
    code, out, _ = _invoke(*_fetch_args(archive, cache))
    assert code == 0 and "1 downloaded" in out


def test_dry_run_prints_urls_and_fetches_nothing(archive: ArchiveServer, cache: Path) -> None:
    code, out, err = _invoke(*_fetch_args(archive, cache, "--dry-run", "--no-ribs"))
    assert code == 0
    assert out.splitlines() == [
        *(f"{archive.url}rrc00/2025.06/updates.20250602.00{m:02d}.gz" for m in (0, 5, 10, 15)),
        *(
            f"{archive.url}route-views.linx/bgpdata/2025.06/UPDATES/updates.20250602.00{m}.bz2"
            for m in ("00", "15")
        ),
    ]
    assert "6 files: 0 RIB dumps, 0 warm-up files" in err and "6 for the window; 0 already in" in err
    assert archive.requests() == [] and not cache.exists()


def test_mirror_and_cache_from_the_config_file(
    archive: ArchiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'cache = "{tmp_path / "configured"}"\n[mirrors]\nris = "{archive.url}"\n')
    monkeypatch.setenv("ANYSTAB_CONFIG", str(config))
    code, out, _ = _invoke("fetch", "--collector", "rrc00", "--start", START, "--end", END)
    assert code == 0 and "5 downloaded" in out
    assert (tmp_path / "configured" / UPDATES_0005).read_bytes() == (SAMPLE / UPDATES_0005).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mirror", "ftp://x/"], "not an http(s) or file URL"),
        (["--mirror", "bgpkit=http://x/"], "unknown project 'bgpkit'"),
        (["--start", "yesterday"], "not a time"),
    ],
)
def test_fetch_usage_errors_exit_2(cache: Path, args: list[str], message: str) -> None:
    base = ["fetch", "--collector", "rrc00", "--start", START, "--end", END, "--cache", str(cache)]
    code, _, err = _invoke(*base, *args)
    assert code == 2 and message in err


def test_an_unknown_collector_is_one_line_and_exit_1(cache: Path) -> None:
    code, _, err = _invoke(
        "fetch", "--collector", "nope", "--start", START, "--end", END, "--cache", str(cache)
    )
    assert code == 1 and "unknown collector 'nope'" in err


def _close(a: object, b: object) -> bool:
    """Equal, numbers to 1e-9 (summation order may differ in the last bit)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _analysis(*args: str) -> dict[str, object]:
    code, out, err = _invoke(
        "analyze", "--prefix", "192.0.2.0/24", "--prefix", "2001:db8:53::/48", "--json", *args
    )
    assert code == 0, err
    return json.loads(out)


def test_analyze_fetches_into_the_cache_first(archive: ArchiveServer, cache: Path) -> None:
    window = ["--start", START, "--end", END]
    fetched = _analysis(
        "--collector",
        "rrc00",
        "--collector",
        "route-views.linx",
        *window,
        "--cache",
        str(cache),
        "--mirror",
        archive.url,
    )
    assert fetched["read"]["files"] == 8  # type: ignore[index]
    assert _analysis(str(cache), *window) == fetched  # the cache reads as an archive folder
    direct = _analysis(str(SAMPLE), *window)
    assert fetched["window"] == direct["window"]
    means = [
        [(e["scope"], e["target"], e["session_s"], e["mean_p"]) for e in r["estimates"]]
        for r in (fetched, direct)
    ]
    assert _close(*means)
    served = len(archive.requests())
    again = _analysis(
        "--collector", "rrc00,route-views.linx", *window, "--cache", str(cache), "--mirror", archive.url
    )
    assert len(archive.requests()) == served
    assert again == fetched


def test_analyze_without_sources_needs_collector_and_window() -> None:
    code, _, err = _invoke("analyze", "--prefix", "192.0.2.0/24", "--collector", "rrc00")
    assert code == 2 and "--collector with --start and --end" in err
    code, _, err = _invoke("analyze", str(SAMPLE), "--prefix", "192.0.2.0/24", "--collector", "rrc00,rrc01")
    assert code == 2 and "one collector" in err
