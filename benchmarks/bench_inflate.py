"""Parallel inflate inside one file: anystab's own inflate against indexed-bzip2 and rapidgzip, 2 threads.

Steps:

1. Write a generated TABLE_DUMP_V2 RIB of at least ``--mb`` MB decompressed (default 320) under
   ``--workdir`` (default /tmp/anystab-bench-inflate, never the repository), as bzip2 and as gzip: 20,000
   distinct prefixes with 24 peers' routes each (random AS paths, communities and MEDs), then the same
   records with new sequence numbers and prefixes until the size is reached.
2. Inflate each file, in its own child process, with anystab's stream (:func:`anystab.sources.decompress.
   open_stream`: indexed-bzip2 on 2 threads for a large bzip2 file, zlib-ng for gzip), with anystab's
   stream on Python's bz2 alone (``ANYSTAB_STDLIB_BZ2=1``: ``anystab-bz2``), and with ``indexed_bzip2`` /
   ``rapidgzip`` themselves with ``--jobs`` threads (default 2), read in 1 MiB pieces; round robin over
   ``--runs`` runs; wall time, peak RSS and a SHA-256 of the bytes (a tool whose bytes differ does not
   count). ``extract`` / ``extract-bz2``: anystab's whole read of the bzip2 RIB for bench_read's 20
   targets (one job), with and without indexed-bzip2. Ratios are to ``anystab-bz2`` (``extract-bz2``) for
   bzip2 and to ``anystab`` (zlib-ng) for gzip.
3. The size threshold: bzip2 files of the first ``--sizes`` MB of the same RIB (default 1 to 48), each
   read by anystab's stream on Python's bz2 and on indexed-bzip2 (its size threshold set to 0).
4. Print the medians and write them as JSON under ``benchmarks/results/``. The two packages are optional:
   a tool that cannot be imported is reported as such.

Run: ``python benchmarks/bench_inflate.py`` (a few minutes, most of it writing the files).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import os
import random
import statistics
import sys
from pathlib import Path

from bench_read import TARGETS
from bench_targets import (  # the same measuring and saving (benchmarks/ is on sys.path)
    measured,
    report_head,
    save,
)

DISTINCT = 20_000
PEERS = 24
READ = 1 << 20
TIMEOUT = 1800.0

_INFLATE = """
import hashlib, sys, time
kind, path, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind.endswith("-bz2"):
    import os
    os.environ["ANYSTAB_STDLIB_BZ2"] = "1"
if kind.startswith("anystab"):
    from anystab.sources import decompress
    if kind == "anystab-parallel":
        decompress.PARALLEL_BZIP2_MIN_BYTES = 0
    chunks = iter(decompress.open_stream(path))
elif kind.startswith("extract"):  # the whole read of 20 targets, as bench_read's extraction
    from anystab.sources import SourceFile, read_files
    from anystab.targets import make_target, target_set
    targets = target_set([make_target(p) for p in sys.argv[4].split(",")], "any")
    rows = read_files([SourceFile(path, "route-views2")], targets, 1)[0].elements.num_rows
    chunks = iter([str(rows).encode()])
elif kind == "indexed_bzip2":
    import indexed_bzip2
    f = indexed_bzip2.open(path, parallelization=jobs)
    chunks = iter(lambda: f.read(1 << 20), b"")
else:
    import rapidgzip
    f = rapidgzip.open(path, parallelization=jobs)
    chunks = iter(lambda: f.read(1 << 20), b"")
digest, total = hashlib.sha256(), 0
for chunk in chunks:
    digest.update(chunk)
    total += len(chunk)
if kind in ("indexed_bzip2", "rapidgzip"):
    f.close()  # rapidgzip aborts the interpreter at exit on a file left open
print(digest.hexdigest(), total)
"""


def rib_bytes(megabytes: int) -> bytes:
    from anystab.generate import mrtwrite as mw

    rng = random.Random(19)
    peers = tuple(mw.Peer(64500 + i, f"198.51.100.{i + 1}") for i in range(PEERS))
    parts = [mw.encode_peer_index(mw.RibDump(1_717_200_000, peers))]
    records = []
    for n in range(DISTINCT):
        prefix = f"{(n >> 8) % 200 + 11}.{n & 255}.{rng.randrange(256)}.0/24"
        entries = []
        for p, peer in enumerate(peers):
            path = (peer.asn, *(rng.randrange(1000, 400_000) for _ in range(rng.randrange(1, 6))))
            comms = tuple(f"{peer.asn}:{rng.randrange(1000)}" for _ in range(rng.randrange(4)))
            route = mw.Route(prefix, path, peer.ip, communities=comms, med=rng.randrange(100))
            entries.append(mw.RibEntry(p, route, 1_717_000_000))
        records.append(bytearray(mw.encode_rib_record(1_717_200_000, n, entries)))
    total, sequence, cycle = sum(map(len, parts)), 0, 0
    while total < megabytes * 1_000_000:
        for record in records:  # new sequence number (bytes 12-15) and prefix (first byte at 17)
            record[12:16] = sequence.to_bytes(4, "big")
            record[17] = (record[17] + cycle) % 223 + 1
            parts.append(bytes(record))
            total += len(record)
            sequence += 1
        cycle += 1
    return b"".join(parts)


def write_files(workdir: Path, megabytes: int) -> dict[str, Path]:
    paths = {"bzip2": workdir / f"rib-{megabytes}mb.bz2", "gzip": workdir / f"rib-{megabytes}mb.gz"}
    if all(p.exists() for p in paths.values()):
        return paths
    workdir.mkdir(parents=True, exist_ok=True)
    data = rib_bytes(megabytes)
    paths["bzip2"].write_bytes(bz2.compress(data, 9))
    paths["gzip"].write_bytes(gzip.compress(data, 6, mtime=0))
    return paths


def sweep_files(workdir: Path, sizes: list[int]) -> dict[int, Path]:
    """Step 3: bzip2 files of the first ``size`` MB of the RIB."""
    paths = {mb: workdir / f"rib-first-{mb}mb.bz2" for mb in sizes}
    if not all(p.exists() for p in paths.values()):
        data = rib_bytes(max(sizes))
        for mb, path in paths.items():
            path.write_bytes(bz2.compress(data[: mb * 1_000_000], 9))
    return paths


def run_tool(tool: str, path: Path, jobs: int) -> dict:
    argv = [sys.executable, "-c", _INFLATE, tool, str(path), str(jobs), ",".join(TARGETS)]
    run = measured(argv, TIMEOUT, stdout=True)
    run["digest"] = run.pop("stdout", "").strip()
    print(f"  {path.name} {tool}: {run['seconds']:.2f} s {run['stderr'][-200:]}", file=sys.stderr, flush=True)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=320)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1,2,4,8,16,32,48", help="MB decompressed for step 3")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/anystab-bench-inflate"))
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    load_before = os.getloadavg()
    paths = write_files(args.workdir, args.mb)
    sizes = [int(mb) for mb in args.sizes.split(",") if mb]
    sweep = sweep_files(args.workdir, sizes) if sizes else {}
    tools = {
        "bzip2": ("anystab", "anystab-bz2", "indexed_bzip2", "extract", "extract-bz2"),
        "gzip": ("anystab", "rapidgzip"),
    }
    runs: dict[str, list[dict]] = {f"{fmt}/{tool}": [] for fmt, names in tools.items() for tool in names}
    swept: dict[str, list[dict]] = {f"{mb}/{tool}": [] for mb in sweep for tool in ("bz2", "parallel")}
    for _ in range(args.runs):
        for fmt, names in tools.items():
            for tool in names:
                runs[f"{fmt}/{tool}"].append(run_tool(tool, paths[fmt], args.jobs))
        for mb, path in sweep.items():
            for tool in ("bz2", "parallel"):
                swept[f"{mb}/{tool}"].append(run_tool(f"anystab-{tool}", path, args.jobs))
    rows = []
    for name, done in runs.items():
        fmt = name.split("/")[0]
        ok = [r for r in done if r["rc"] == 0]
        reference = runs[f"{fmt}/{'extract' if 'extract' in name else 'anystab'}"][0]["digest"]
        rows.append(
            {
                "tool": name,
                "seconds": statistics.median(r["seconds"] for r in ok) if ok else None,
                "peak_rss": max((r["rss"] for r in ok), default=None),
                "same_bytes": bool(ok) and all(r["digest"] == reference for r in ok),
                "error": None if ok else done[0]["stderr"],
                "runs": done,
            }
        )
    for row in rows:
        base_tool = row["tool"].split("/")[0] + (
            "/extract-bz2" if "extract" in row["tool"] else "/anystab-bz2"
        )
        base = next((r for r in rows if r["tool"] == base_tool), {"seconds": None})["seconds"]
        base = base or next(r for r in rows if r["tool"] == row["tool"].split("/")[0] + "/anystab")["seconds"]
        row["x_bz2"] = row["seconds"] / base if row["seconds"] and base else None
        sec = f"{row['seconds']:.2f}" if row["seconds"] else "failed"
        ratio = f"{row['x_bz2']:.2f}" if row["x_bz2"] else "-"
        print(f"{row['tool']:>22} {sec:>8} s  x bz2 / zlib-ng {ratio:>5}  same bytes: {row['same_bytes']}")
    threshold = []
    for mb, path in sweep.items():
        bz2_s, par_s = (
            statistics.median(r["seconds"] for r in swept[f"{mb}/{t}"]) for t in ("bz2", "parallel")
        )
        same = {r["digest"] for t in ("bz2", "parallel") for r in swept[f"{mb}/{t}"]}
        size = path.stat().st_size
        row = {"decompressed_mb": mb, "file_bytes": size, "bz2_s": bz2_s, "parallel_s": par_s}
        threshold.append({**row, "x_bz2": par_s / bz2_s, "same_bytes": len(same) == 1})
        print(f"{mb:>4} MB ({size / 1e6:.2f} MB bzip2): bz2 {bz2_s:.2f} s, parallel {par_s:.2f} s")
    report = {
        **report_head(load_before),
        "decompressed_mb": args.mb,
        "file_bytes": {fmt: p.stat().st_size for fmt, p in paths.items()},
        "jobs": args.jobs,
        "rows": rows,
        "threshold": threshold,
        "threshold_runs": swept,
    }
    if not args.no_save:
        save("bench_inflate", report)


if __name__ == "__main__":
    main()
