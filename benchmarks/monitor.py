"""Measure `anystab monitor`'s cost per run against the length of the history already processed.

For each history length H (hours of a generated archive): a first run over all files but the last, then a
run that adds the last file (the cron case: one new 5-minute file), then a run with nothing new. The
per-interval tables are recomputed only where the change horizon reaches (up to the longest session
length, 1 day by default, back); the route walk resumes from the state saved at the previous run's cut.

Usage: python benchmarks/monitor.py [HOURS ...]   (default: 1 6 24 48; 10-minute intervals, default sessions)
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' helpers, tests/support

from support.monitor import SCENARIO, grow, write_config  # noqa: E402

from anystab.generate.scenario import write_archive  # noqa: E402
from anystab.monitor import RunReport, load_config, run_monitor  # noqa: E402


def _timed(config: Path) -> tuple[float, RunReport]:
    started = time.perf_counter()
    report = run_monitor(load_config(config))
    return time.perf_counter() - started, report


def measure(hours: int) -> str:
    scenario = dataclasses.replace(SCENARIO, duration_s=hours * 3600)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = sorted(
            write_archive(scenario, folder / "src"), key=lambda p: (p.name.split(".")[1:3], str(p))
        )
        config = write_config(folder / "run", folder / "archive")
        grow(files, folder / "src", folder / "archive", len(files) - 1)
        first, _ = _timed(config)
        grow(files, folder / "src", folder / "archive", len(files))
        one, report = _timed(config)
        idle, _ = _timed(config)
    written = report.partitions_written
    return f"| {hours:>3} h | {len(files):>5} | {first:7.2f} s | {one:7.2f} s | {written} | {idle:.2f} s |"


def main() -> None:
    hours = [int(h) for h in sys.argv[1:]] or [1, 6, 24, 48]
    print("| history | files | first run | +1 file | partitions written | nothing new |")
    print("| --- | --- | --- | --- | --- | --- |")
    for h in hours:
        print(measure(h), flush=True)


if __name__ == "__main__":
    main()
