"""Start-up time of the command line: ``--help`` of every command and ``analyze`` of the sample archive.

Each command runs as a whole new process (the installed ``anystab`` console script), ``--runs`` times
(default 10), round robin; the table gives the median and the fastest run beside ``python -c pass``, the
interpreter's own start. Targets: every ``--help`` under 0.25 s, ``analyze`` of the sample under 0.8 s.

    python benchmarks/startup.py [--runs 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELP_TARGET_S = 0.25
ANALYZE_TARGET_S = 0.8


def commands(anystab: str) -> dict[str, tuple[list[str], float | None]]:
    """name -> (argv, target seconds or None)."""
    sub = ["analyze", "collectors", "fetch", "history", "init", "live", "monitor", "report", "sample"]
    table: dict[str, tuple[list[str], float | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "anystab --help": ([anystab, "--help"], HELP_TARGET_S),
    }
    for name in sub:
        table[f"anystab {name} --help"] = ([anystab, name, "--help"], HELP_TARGET_S)
    for name in ("run", "check"):
        table[f"anystab lab {name} --help"] = ([anystab, "lab", name, "--help"], HELP_TARGET_S)
    analyze = [anystab, "analyze", "data/", "--service", "data/service.toml", "-q"]
    table["anystab analyze data/ (sample)"] = (analyze, ANALYZE_TARGET_S)
    return table


def measure(table: dict[str, tuple[list[str], float | None]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(runs):
        for name, (argv, _target) in table.items():
            start = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, help="Also write the timings here.")
    args = parser.parse_args()
    anystab = shutil.which("anystab", path=str(Path(sys.executable).parent)) or shutil.which("anystab")
    if anystab is None:
        sys.exit("anystab is not installed in this environment: pip install -e .")
    table = commands(anystab)
    times = measure(table, args.runs)
    print(f"{'command':<34} {'median':>8} {'fastest':>8} {'target':>8}  ok")
    rows = []
    for name, (_argv, target) in table.items():
        median, fastest = statistics.median(times[name]), min(times[name])
        ok = "" if target is None else ("yes" if median < target else "NO")
        shown = "" if target is None else f"{target:.2f} s"
        print(f"{name:<34} {median:>6.3f} s {fastest:>6.3f} s {shown:>8}  {ok}")
        rows.append({"command": name, "median_s": median, "fastest_s": fastest, "target_s": target})
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
