"""Helpers for the monitoring tests: a generated archive that grows file by file, configs, dataset reads."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from anystab.generate.scenario import write_archive
from anystab.monitor.dataset import PARTITION_COLUMN, read_dataset
from support.scenario import START, small_scenario

# 30 minutes before midnight: the period spans two UTC days, so the dataset has several partitions
SCENARIO = dataclasses.replace(small_scenario(), start=START - 1800)
ANYSTAB = [sys.executable, "-c", "from anystab.cli.main import main; main()"]
SITE_NAMES = {s.signature: s.name for s in SCENARIO.sites}
SORT_KEYS = {
    "timeline": ["service", "collector", "peer_asn", "peer_ip", "target", "start"],
    "events": ["service", "time", "collector", "peer_asn", "peer_ip", "target", "kind"],
    "vp_stats": ["service", "interval_start", "collector", "peer_asn", "peer_ip", "target"],
    "estimates": ["service", "interval_start", "scope", "target", "session_s"],
}


def make_archive(folder: Path) -> list[Path]:
    """The scenario's archive under ``folder``, files in the order they would appear (time, RIBs first)."""
    files = write_archive(SCENARIO, folder)
    return sorted(files, key=lambda p: (_slot(p), "UPDATES" in str(p) or "updates" in p.name, str(p)))


def _slot(path: Path) -> str:
    return ".".join(path.name.split(".")[1:3])


def grow(files: list[Path], source: Path, archive: Path, count: int) -> None:
    """Make ``archive`` hold the first ``count`` files (same layout; a file appears whole, by rename)."""
    for f in files[:count]:
        dest = archive / f.relative_to(source)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.part"
        shutil.copy2(f, tmp)
        os.replace(tmp, dest)


class Growing(NamedTuple):
    """A scenario's files (in the order they would arrive) under ``source``, and a monitor config over
    ``archive``, which :func:`grow` fills from them."""

    files: list[Path]
    source: Path
    archive: Path
    config: Path


def growing_archive(tmp_path: Path, hours: float, extra: str) -> Growing:
    """The scenario over ``hours`` written whole to ``tmp_path/source``; the config in ``tmp_path/grown``."""
    source = tmp_path / "source"
    scenario = dataclasses.replace(SCENARIO, duration_s=int(hours * 3600))
    files = sorted(write_archive(scenario, source), key=lambda p: (p.name.split(".")[1:3], str(p)))
    archive = tmp_path / "grown" / "archive"
    return Growing(files, source, archive, write_config(tmp_path / "grown", archive, extra=extra))


def write_config(folder: Path, archive: Path, *, alerts: str = "", notify: str = "", extra: str = "") -> Path:
    sites = "\n".join(f'"{sig}" = "{name}"' for sig, name in SITE_NAMES.items())
    targets = ", ".join(f'{{ prefix = "{t.prefix}", address = "{t.address}" }}' for t in SCENARIO.targets)
    text = f"""
state_dir = "state"
output_dir = "dataset"
interval = "10m"
jobs = 1
{extra}
[sources]
archives = ["{archive}"]

[[services]]
name = "dns"
targets = [{targets}]
[services.sites]
{sites}
{alerts}
{notify}
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "monitor.toml"
    path.write_text(text)
    return path


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``anystab ARGS`` as a real subprocess."""
    return subprocess.run([*ANYSTAB, *args], capture_output=True, text=True, timeout=timeout)


def popen_monitor(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ANYSTAB, "monitor", "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def dataset_tables(output: Path) -> dict[str, pd.DataFrame]:
    """Every dataset table, rows in a canonical order (partition order does not matter)."""
    out = {}
    for name in PARTITION_COLUMN:
        frame = read_dataset(output, name)
        out[name] = frame.sort_values(SORT_KEYS[name], kind="stable").reset_index(drop=True)
    return out


def assert_same_dataset(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in PARTITION_COLUMN:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(scope="session")
def full_archive(tmp_path_factory):
    """(folder, files in arrival order) of the generated scenario's whole archive."""
    folder = tmp_path_factory.mktemp("full-archive")
    return folder, make_archive(folder)
