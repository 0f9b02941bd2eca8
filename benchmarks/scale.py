"""Scaling of the Dask executor: one worker against two on a generated multi-collector archive.

Steps:

1. Simulate a base archive with :mod:`anystab.generate` (four collectors, two RIS and two RouteViews,
   many vantage points, tens of thousands of background prefixes and many update files) under
   ``--workdir`` (default /tmp/anystab-scale, never the repository).
2. Copy the base collectors under further collector names until the archive holds at least
   ``--target-gb`` GB of decompressed MRT (measured by decompressing every base file once).
3. Analyse it (``--reuse``: the archive of an earlier run) with a Dask LocalCluster of one worker,
   then of two (cluster start-up timed apart), ``--repeat`` times alternately, the fastest run of each
   size counting; check the two results are identical table for table, and print time, throughput,
   speed-up and efficiency (speed-up per worker), with the machine's load average and the CPU seconds of
   the workers and of the client around each run (other work on the machine lowers the figures).
4. Write everything to ``benchmarks/results/scale.json``.

Run: ``python benchmarks/scale.py`` (about half an hour on two cores), or ``--target-gb 0.05`` to try it.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import math
import os
import platform
import random
import shutil
import time
from pathlib import Path

import pandas as pd

from anystab.executors import make_executor
from anystab.generate.scenario import (
    Collector,
    MoreSpecific,
    Scenario,
    SessionReset,
    Site,
    SiteDown,
    SiteUp,
    TargetSpec,
    Transient,
    Vp,
    write_archive,
)
from anystab.params import AnalysisParams
from anystab.pipeline import AnalysisRequest, AnalysisResult, analyze
from anystab.targets import Target, parse_address, parse_prefix, target_set

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
START = 1_748_822_400  # 2025-06-02 00:00 UTC
SITES = (
    Site("ams", 64497, 64496, community="64496:1"),
    Site("sin", 64498, 64496, prepend=1),
    Site("iad", 64499, 64496),
    Site("gru", 64500, 64496),
)
BASE = (Collector("rrc01"), Collector("rrc03"))
BASE_RV = (
    Collector("route-views3", "routeviews", et=False),
    Collector("route-views4", "routeviews", et=False),
)
TARGETS = (TargetSpec("192.0.2.0/24", "192.0.2.53"), TargetSpec("2001:db8:53::/48", "2001:db8:53::53"))
GB = 1_000_000_000


def scenario(vps_per_collector: int, hours: int, noise: int, updates: int) -> Scenario:
    """The base scenario: every collector's VPs, a script whose events cross RIB-to-RIB slice edges."""
    rng = random.Random(11)
    vps = []
    for ci, coll in enumerate((*BASE, *BASE_RV)):
        for i in range(vps_per_collector):
            prefs = tuple(rng.sample([s.name for s in SITES], 3))
            ip = f"198.51.{100 + ci}.{i + 1}" if i % 4 else f"2001:db8:{100 + ci}::{i + 1}"
            vps.append(Vp(coll.name, 64_600 + ci * 100 + i, ip, prefs))
    duration = hours * 3600
    some = tuple(vp.key for vp in vps[::7])
    script = (
        Transient(duration * 0.1, some, 20.0, via="gru"),
        SiteDown(duration * 0.3, "sin"),
        SessionReset(duration * 0.45, vps[1].key, 120.0),
        SiteUp(duration * 0.6, "sin"),
        MoreSpecific(duration * 0.7, duration * 0.8, "192.0.2.0/25", 64510, 64511, some),
    )
    return Scenario(
        start=START, duration_s=duration, targets=TARGETS, sites=SITES,
        collectors=(*BASE, *BASE_RV), vps=tuple(vps), script=script, noise_v4=noise, noise_v6=noise // 20,
        noise_updates_per_vp=updates, seed=5,
    )  # fmt: skip


def decompressed_size(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else bz2.open if path.suffix == ".bz2" else open
    total = 0
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            total += len(chunk)
    return total


def clone_name(name: str, copy: int) -> str:
    """Collector name of copy ``copy`` (0: the base name)."""
    if copy == 0:
        return name
    if name.startswith("rrc"):
        return f"rrc{int(name[3:]) + 10 * copy:02d}"
    return f"{name}-{copy}"


def build_archive(workdir: Path, target_bytes: int, args: argparse.Namespace) -> dict:
    base, archive = workdir / "base", workdir / "archive"
    shutil.rmtree(workdir, ignore_errors=True)
    t0 = time.perf_counter()
    files = write_archive(scenario(args.vps, args.hours, args.noise, args.updates), base)
    generated_s = time.perf_counter() - t0
    base_bytes = sum(decompressed_size(f) for f in files)
    copies = max(1, math.ceil(target_bytes / base_bytes))
    for copy in range(copies):
        for coll in (*BASE, *BASE_RV):
            shutil.copytree(base / coll.name, archive / clone_name(coll.name, copy))
    shutil.rmtree(base)
    return {
        "path": str(archive),
        "collectors": copies * (len(BASE) + len(BASE_RV)),
        "files": copies * len(files),
        "compressed_bytes": sum(p.stat().st_size for p in archive.rglob("*") if p.is_file()),
        "decompressed_bytes": copies * base_bytes,
        "base_decompressed_bytes": base_bytes,
        "copies": copies,
        "generate_s": round(generated_s, 1),
    }


def request(path: str) -> AnalysisRequest:
    targets = [Target(parse_prefix(t.prefix), parse_address(t.address)) for t in TARGETS]
    return AnalysisRequest(sources=(path,), params=AnalysisParams(targets=target_set(targets)))


def worker_cpu_s() -> float:
    """CPU seconds used so far by the worker process this runs in."""
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def run(spec: str, req: AnalysisRequest, size: int) -> tuple[dict, AnalysisResult]:
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    with make_executor(spec) as executor:
        client = executor.client  # type: ignore[attr-defined]
        cpu_before, here_before = client.run(worker_cpu_s), time.process_time()
        started = time.perf_counter()
        result = analyze(req, executor=executor)
        done = time.perf_counter()
        cpu_after, here_after = client.run(worker_cpu_s), time.process_time()
    seconds = done - started
    row = {
        "executor": spec,
        "workers": int(spec.split(":")[1]),
        "startup_s": round(started - t0, 2),
        "analysis_s": round(seconds, 2),
        "decompressed_mb_per_s": round(size / 1e6 / seconds, 2),
        "workers_cpu_s": round(sum(cpu_after[w] - cpu_before[w] for w in cpu_after), 1),
        "client_cpu_s": round(here_after - here_before, 1),
        "load_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return row, result


def identical(a: AnalysisResult, b: AnalysisResult) -> bool:
    for name in a.tables:
        try:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        except AssertionError:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/anystab-scale"))
    parser.add_argument("--target-gb", type=float, default=2.0)
    parser.add_argument("--vps", type=int, default=16, help="VPs per base collector")
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--noise", type=int, default=40_000, help="background IPv4 prefixes")
    parser.add_argument("--updates", type=int, default=12_000, help="background updates per VP")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--reuse", action="store_true", help="reuse the archive of an earlier run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each size; the fastest counts")
    args = parser.parse_args()
    saved = args.workdir / "archive.json"
    if args.reuse and saved.exists():
        archive = json.loads(saved.read_text())
    else:
        archive = build_archive(args.workdir, int(args.target_gb * GB), args)
        saved.write_text(json.dumps(archive))
    print(f"archive: {archive['files']} files, {archive['collectors']} collectors, "
          f"{archive['decompressed_bytes'] / GB:.2f} GB decompressed")  # fmt: skip
    req = request(archive["path"])
    runs: dict[str, list[dict]] = {"local:1": [], "local:2": []}
    results: dict[str, AnalysisResult] = {}
    for _ in range(args.repeat):  # alternated, so background load hits both alike
        for spec, rows in runs.items():
            row, results[spec] = run(spec, req, archive["decompressed_bytes"])
            rows.append(row)
            print(f"{spec}: {row['analysis_s']:.1f} s ({row['decompressed_mb_per_s']} MB/s)")
    one = min(runs["local:1"], key=lambda r: r["analysis_s"])
    two = min(runs["local:2"], key=lambda r: r["analysis_s"])
    first, second = results["local:1"], results["local:2"]
    speedup = one["analysis_s"] / two["analysis_s"]
    report = {
        "archive": archive,
        "best": [one, two],
        "runs": runs["local:1"] + runs["local:2"],
        "speedup_2_workers": round(speedup, 3),
        "efficiency_2_workers": round(speedup / 2, 3),
        "identical_tables": identical(first, second),
        "events": len(first.tables["events"]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
    }
    print(f"speed-up {speedup:.2f}x with 2 workers, efficiency {speedup / 2:.2f} per worker; "
          f"identical tables: {report['identical_tables']}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
