"""Many matching elements: whole-process ``anystab analyze`` of a file whose every record matches.

Steps:

1. Write the file under ``--workdir`` (default /tmp/anystab-bench-elements, never the repository): one
   valid BGP4MP_ET UPDATE announcing the target 192.0.2.0/24, repeated ``--records`` times (default one
   million; 87 bytes each, about 295 KB of gzip), named as the RIS update file of the 5-minute slot its
   time falls in. The reader stops at the decompression limit (64 MiB before the ratio check), so about
   776,000 records are read.
2. Run ``anystab analyze FOLDER --prefix 192.0.2.0/24 --json --jobs 1`` in a child process, ``--runs``
   times: wall time of the whole process, the peak RSS of the child (ru_maxrss), the elements read (from
   the JSON summary), and the same command on a file of one such record for the start-up cost (time
   and RSS of the interpreter, the libraries and an analysis of nothing much).
   With ``--before DIR`` an earlier source tree of anystab runs the same command in the same rounds.
3. Print elements/s end to end and peak RSS per element (whole RSS, and less the start-up's), and write
   everything as JSON under ``benchmarks/results/`` with the load average before and after.

Run: ``python benchmarks/bench_elements.py`` (under a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from bench_targets import (  # the same measuring and saving (benchmarks/ is on sys.path)
    measured,
    report_head,
    save,
)

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900.0
TARGET = "192.0.2.0/24"
TIME_US = 1_700_000_000_000_000  # 2023-11-14 22:13:20 UTC
FILE = Path("rrc99") / "2023.11" / "updates.20231114.2210.gz"


def write_file(folder: Path, records: int) -> Path:
    from anystab.generate.mrtwrite import Route, Update, write_repeated_update

    path = folder / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    route = Route(TARGET, (64500, 64496), "198.51.100.1")
    write_repeated_update(path, Update(TIME_US, 64500, "198.51.100.1", announce=(route,)), records, et=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/anystab-bench-elements"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--before", type=Path, help="a source tree of an earlier anystab, run side by side")
    args = ap.parse_args()
    load_before = os.getloadavg()
    path = write_file(args.workdir / "many", args.records)
    write_file(args.workdir / "one", 1)
    exe = str(Path(sys.executable).parent / "anystab")
    argv = [exe, "analyze", str(args.workdir / "many"), "--prefix", TARGET, "--json", "--jobs", "1"]
    runs, starts, befores = [], [], []
    for _ in range(args.runs):
        if args.before is not None:
            befores.append(measured(argv, TIMEOUT, before=args.before))
        starts.append(
            measured([exe, "analyze", str(args.workdir / "one"), "--prefix", TARGET, "--json"], TIMEOUT)
        )
        run = measured(argv, TIMEOUT, stdout=True)
        if run["rc"] != 0:
            sys.exit(f"anystab failed: {run['stderr']}")
        run["elements"] = json.loads(run.pop("stdout"))["read"]["elements"]
        runs.append(run)
        print(f"  {run['seconds']:.2f} s, peak RSS {run['rss'] / 1e6:.0f} MB", file=sys.stderr, flush=True)
    elements = runs[0]["elements"]
    seconds = statistics.median(r["seconds"] for r in runs)
    rss = max(r["rss"] for r in runs)
    start_rss = max(r["rss"] for r in starts)
    row = {
        "file_bytes": path.stat().st_size,
        "records_written": args.records,
        "elements": elements,
        "seconds": seconds,
        "elements_per_s": elements / seconds,
        "peak_rss": rss,
        "rss_per_element": rss / elements,
        "startup_rss": start_rss,
        "rss_per_element_less_startup": (rss - start_rss) / elements,
        "startup_s": statistics.median(r["seconds"] for r in starts),
        "runs": runs,
    }
    if befores and all(b["seconds"] is not None for b in befores):
        row["before"] = {
            "seconds": statistics.median(b["seconds"] for b in befores),
            "peak_rss": max(b["rss"] for b in befores),
            "rss_per_element": max(b["rss"] for b in befores) / elements,
            "runs": befores,
        }
        b = row["before"]
        rss_mb, per = b["peak_rss"] / 1e6, b["rss_per_element"]
        print(f"before: {b['seconds']:.2f} s, peak RSS {rss_mb:.0f} MB, {per:.0f} bytes per element")
    print(f"{elements:,} elements in {seconds:.2f} s: {row['elements_per_s']:,.0f} elements/s end to end")
    print(
        f"peak RSS {rss / 1e6:.0f} MB: {row['rss_per_element']:.0f} bytes per element "
        f"({row['rss_per_element_less_startup']:.0f} less the {start_rss / 1e6:.0f} MB of start-up)"
    )
    report = {
        **report_head(load_before),
        **row,
    }
    if not args.no_save:
        save("bench_elements", report)


if __name__ == "__main__":
    main()
