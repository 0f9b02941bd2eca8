"""Many targets: whole-process ``anystab analyze`` of one MRT file with 20 and with thousands of targets.

Steps:

1. Read the file once with no target filter and rank its prefixes by how many elements carry them
   (ties in order of first appearance); keep those that are valid target prefixes (no host bits set)
   no shorter than the shortest cover the analysis counts (/8, /16: a default route as a target would
   make every element relevant).
2. For each count N of ``--counts`` (default 20, 1000, 10000), write a service file with the N busiest
   prefixes as targets.
3. Run ``anystab analyze FILE --collector rrc99 --resync 0 --service S --json -q`` in a child process for
   every N, round robin over ``--runs`` runs (so that a slower spell of a shared machine hits every count
   alike); wall time of the whole process, and that less ``anystab --help`` (interpreter start and
   imports), peak RSS and CPU seconds (user + system) of the child. ``--timeout`` stops a run that
   takes longer (reported as such).
   ``--before DIR`` also runs an earlier source tree of anystab (on PYTHONPATH) for the counts up to
   ``--before-max``, in the same rounds. anystab's bytecode (and the earlier tree's) is written first, as
   ``pip install`` writes it.
4. Print, per N, the median whole-process time and that less the start-up, their ratios to the smallest
   N's, and the peak RSS, and write everything as JSON under ``benchmarks/results/`` with the load
   average before and after.

Run: ``python benchmarks/bench_targets.py [MRT_FILE]`` (default: the repository's copy of the et-header
file, tests/data/mrt/ris.updates.et-header.2015.gz).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_read import write_bytecode

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO / "tests" / "data" / "mrt" / "ris.updates.et-header.2015.gz"
RESULTS = REPO / "benchmarks" / "results"
COLLECTOR = "rrc99"
COUNTS = (20, 1000, 10000)


def ranked_prefixes(path: Path) -> list[str]:
    """The file's valid target prefixes, busiest first (step 1)."""
    import ipaddress

    from anystab.sources.mrt import read_mrt_file
    from anystab.targets import MIN_COVER_V4, MIN_COVER_V6

    elements = read_mrt_file(path, None, COLLECTOR).elements
    counts = Counter(p for p in elements.column("prefix").to_pylist() if p)
    ranked = []
    for prefix, _n in counts.most_common():
        try:
            net = ipaddress.ip_network(prefix, strict=True)
        except ValueError:
            continue
        if net.prefixlen >= (MIN_COVER_V4 if net.version == 4 else MIN_COVER_V6):
            ranked.append(prefix)
    return ranked


def write_service(path: Path, prefixes: list[str]) -> None:
    lines = [f'name = "bench-{len(prefixes)}"', ""]
    for p in prefixes:
        lines += ["[[targets]]", f'prefix = "{p}"', ""]
    path.write_text("\n".join(lines))


def measured(argv: list[str], timeout: float, before: Path | None = None, stdout: bool = False) -> dict:
    """Run ``argv`` from a fresh helper process, so that its RUSAGE_CHILDREN is this run's alone: wall
    seconds, peak RSS, exit status (and ``stdout``, if asked). ``before``: a source tree of anystab to
    import instead."""
    env = dict(os.environ, PYTHONPATH=str(before)) if before else None
    code = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[3:], capture_output=True, timeout=float(sys.argv[1]))\n"
        "s = time.perf_counter() - t0\n"
        "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "rss, cpu = used.ru_maxrss * 1024, used.ru_utime + used.ru_stime\n"
        "out = p.stdout.decode() if sys.argv[2] == '1' else ''\n"
        "print(json.dumps({'seconds': s, 'cpu_s': cpu, 'rc': p.returncode, 'rss': rss,"
        " 'stdout_bytes': len(p.stdout),"
        " 'stdout': out, 'stderr': p.stderr.decode()[-300:]}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(timeout), "1" if stdout else "0", *argv],
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timeout": timeout}
    if done.returncode != 0:
        return {"seconds": None, "timeout": timeout, "error": done.stderr[-300:]}
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mrt", nargs="?", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--counts", default=",".join(map(str, COUNTS)))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--before", type=Path, help="a source tree of an earlier anystab, run side by side")
    ap.add_argument("--before-max", type=int, default=1000, help="the most targets to give the earlier one")
    args = ap.parse_args()
    counts = sorted(int(c) for c in args.counts.split(","))
    load_before = os.getloadavg()
    write_bytecode(REPO, args.before)  # as pip install writes it (bench_read.write_bytecode)
    ranked = ranked_prefixes(args.mrt)
    anystab = [str(Path(sys.executable).parent / "anystab")]
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    before: dict[int, list[dict]] = {n: [] for n in counts}
    base: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        services = {}
        for n in counts:
            services[n] = Path(tmp) / f"targets-{n}.toml"
            write_service(services[n], ranked[:n])
        for _ in range(args.runs):
            base.append(measured([*anystab, "--help"], 60)["seconds"])
            for n in counts:
                argv = [*anystab, "analyze", str(args.mrt), "--collector", COLLECTOR, "--resync", "0"]
                argv += ["--service", str(services[n]), "--json", "-q"]
                run = measured(argv, args.timeout)
                runs[n].append(run)
                print(f"  {n:>6} targets: {run.get('seconds')} s", file=sys.stderr, flush=True)
                if args.before and n <= args.before_max:
                    old = measured(argv, args.timeout, args.before)
                    before[n].append(old)
                    print(f"  {n:>6} targets, before: {old.get('seconds')} s", file=sys.stderr, flush=True)
    startup = statistics.median(base)
    rows = []
    for n in counts:
        done = [r["seconds"] for r in runs[n] if r.get("seconds") is not None and r.get("rc") == 0]
        whole = statistics.median(done) if len(done) == len(runs[n]) else None
        cpu = [r["cpu_s"] for r in runs[n] if r.get("seconds") is not None and r.get("rc") == 0]
        old_cpu = [r["cpu_s"] for r in before[n] if r.get("seconds") is not None and r.get("rc") == 0]
        rows.append(
            {
                "targets": n,
                "whole_s": whole,
                "seconds": None if whole is None else whole - startup,
                "cpu_s": statistics.median(cpu) if whole is not None else None,
                "before_cpu_s": statistics.median(old_cpu) if old_cpu else None,
                "runs": runs[n],
                "peak_rss": max((r.get("rss", 0) for r in runs[n]), default=0),
                "before_whole_s": statistics.median(r["seconds"] for r in before[n]) if before[n] else None,
                "before_peak_rss": max((r.get("rss", 0) for r in before[n]), default=0),
                "before_runs": before[n],
            }
        )
    first = rows[0]
    for row in rows:
        for key in ("whole_s", "seconds", "cpu_s", "before_cpu_s"):
            ratio = row[key] / first[key] if row[key] and first[key] else None
            row["ratio_" + key] = ratio
    print(f"start-up (anystab --help): {startup:.2f} s")
    print(
        f"{'targets':>8} {'whole s':>8} {'ratio':>6} {'less start-up s':>16} {'ratio':>6} {'peak RSS MB':>12}"
        f" {'CPU s':>6} {'ratio':>6}"
    )
    for row in rows:
        keys = ("whole_s", "ratio_whole_s", "seconds", "ratio_seconds", "cpu_s", "ratio_cpu_s")
        cells = [f"{row[k]:.2f}" if row[k] is not None else "-" for k in keys]
        print(
            f"{row['targets']:>8} {cells[0]:>8} {cells[1]:>6} {cells[2]:>16} {cells[3]:>6}"
            f" {row['peak_rss'] / 1e6:>12.0f} {cells[4]:>6} {cells[5]:>6}"
        )
        if row["before_whole_s"] is not None:
            old_rss = row["before_peak_rss"] / 1e6
            old = [
                f"{row[k]:.2f}" if row[k] is not None else "-" for k in ("before_cpu_s", "ratio_before_cpu_s")
            ]
            print(f"{'before':>8} {row['before_whole_s']:>8.2f} {'':>30} {old_rss:>12.0f}", end="")
            print(f" {old[0]:>6} {old[1]:>6}")
    report = {
        **report_head(load_before),
        "input": args.mrt.name,
        "startup_s": startup,
        "rows": rows,
    }
    if not args.no_save:
        save("bench_targets", report)


def report_head(load_before: tuple[float, float, float]) -> dict:
    """When, where, and the load average before and now: the head of every benchmark's JSON."""
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def save(name: str, report: dict) -> None:
    """Write ``report`` as ``benchmarks/results/<name>-<UTC time>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"written {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
