"""Names from outside never become paths: collector names are checked, downloads and outputs stay in
their folders, and temporary files are gone on every exit path."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import bounded, fuzz

from anystab.cli.main import cli
from anystab.errors import ConfigError
from anystab.output import write_tables
from anystab.sources.fetch import FetchRequest, fetch
from anystab.sources.registry import archive_path, cache_path, get_collector

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["../../x", "/etc/passwd", "rrc00/../../x", "..", ".hidden", "rrc00\x00", "route-views\n2",
           "route-views..", "ｒｒｃ00", "a" * 65, "rrc 00", "C:\\x", "%2e%2e"]  # fmt: skip
WINDOW = ["--start", "2025-06-02T00:00:00Z", "--end", "2025-06-02T00:10:00Z"]


@fuzz(300)
@given(name=st.text(max_size=40) | st.sampled_from(HOSTILE) | st.from_regex(r"route-views[a-z.\-_/]{0,12}"))
def test_any_collector_name_is_refused_or_stays_in_the_cache(name: str) -> None:
    cache = Path("/cache/root")
    with bounded("names"):
        try:
            collector = get_collector(name)
        except ConfigError:
            return
    for kind in ("rib", "updates"):
        for relative in (
            archive_path(collector, kind, 1_748_822_400),
            cache_path(collector, kind, 1_748_822_400),
        ):
            assert not relative.startswith("/") and ".." not in relative.split("/")
            assert os.path.normpath(cache / relative).startswith(str(cache) + "/")


@pytest.mark.parametrize("name", HOSTILE)
def test_fetch_refuses_a_hostile_collector_name(name: str, tmp_path: Path) -> None:
    args = ["fetch", "--collector", name, *WINDOW, "--cache", str(tmp_path / "cache"), "--dry-run"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "not a collector name" in result.output or "unknown collector" in result.output
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert {p.name for p in tmp_path.iterdir()} <= {"cache"}


@pytest.mark.parametrize("name", ["../../x", "/abs", "a b", "x\ny"])
def test_analyze_refuses_a_hostile_collector_label(name: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["analyze", str(ROOT / "data"), "--collector", name, "--prefix", "192.0.2.0/24"]
    )
    assert result.exit_code == 1 and "not a collector name" in result.output


def _mirror(tmp_path: Path, damaged: bool) -> Path:
    """A file:// mirror with the sample's rrc00 files (one of them torn when ``damaged``)."""
    mirror = tmp_path / "mirror"
    for src in sorted((ROOT / "data" / "rrc00" / "2025.06").glob("updates.20250602.000[05].gz")):
        dest = mirror / "rrc00" / "2025.06" / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes()
        dest.write_bytes(data[: len(data) // 2] if damaged else data)
    return mirror


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("damaged", [False, True], ids=["whole", "torn"])
def test_downloads_stay_in_the_cache_and_leave_no_temporary_files(tmp_path: Path, damaged: bool) -> None:
    mirror = _mirror(tmp_path, damaged)
    before = _files(tmp_path)
    cache = tmp_path / "cache"
    request = FetchRequest(("rrc00",), 1_748_822_400, 1_748_823_000, cache, ribs=False,
                           mirrors={"ris": mirror.as_uri() + "/"}, retries=1, backoff_s=0)  # fmt: skip
    report = fetch(request)
    new = _files(tmp_path) - before
    assert all(p.is_relative_to(cache) for p in new)
    assert not [p for p in new if p.name.endswith((".part", ".tmp")) or ".tmp-" in p.name]
    assert report.count("failed" if damaged else "downloaded") == 2
    if not damaged:
        for p in new - {cache / ".anystab-missing.json"}:
            gzip.decompress(p.read_bytes())


class _InterruptedResult:
    """A fake analysis result whose third table write is interrupted (Ctrl-C while writing)."""

    def __init__(self) -> None:
        self.calls = 0

    def table(self, name: str) -> pa.Table:
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt
        return pa.table({"x": [1]})

    def summary(self) -> dict[str, Any]:
        return {}


def test_an_interrupted_output_write_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "results"
    with pytest.raises(KeyboardInterrupt):
        write_tables(_InterruptedResult(), out)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_output_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an anystab output folder"):
        write_tables(_InterruptedResult(), tmp_path)  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
