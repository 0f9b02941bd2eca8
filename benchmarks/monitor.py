"""Measure `anystab monitor`: first run, an incremental run after one new file, and a run with nothing new.

Usage: python benchmarks/monitor.py [HOURS]   (a generated archive of HOURS hours, default 6)
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "monitor"))

from monitor_support import SCENARIO, grow, write_config  # noqa: E402

from anystab.generate.scenario import write_archive  # noqa: E402
from anystab.monitor import load_config, run_monitor  # noqa: E402


def _timed(config: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = run_monitor(load_config(config))
    return time.perf_counter() - started, report.partitions_written


def main() -> None:
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    scenario = dataclasses.replace(SCENARIO, duration_s=hours * 3600)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = sorted(
            write_archive(scenario, folder / "src"), key=lambda p: (p.name.split(".")[1:3], str(p))
        )
        config = write_config(folder / "run", folder / "archive")  # 10-minute intervals
        grow(files, folder / "src", folder / "archive", len(files) - 1)
        first = _timed(config)
        grow(files, folder / "src", folder / "archive", len(files))
        incremental = _timed(config)
        idle = _timed(config)
        print(f"{hours} h, {len(files)} files: first run {first[0]:.2f} s ({first[1]} partitions), "
              f"one new file {incremental[0]:.2f} s ({incremental[1]} partitions rewritten), "
              f"nothing new {idle[0]:.2f} s")  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
