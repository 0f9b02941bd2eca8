"""Measure one batch of `anystab live`: the time of LiveAnalysis.step as the elements held grow.

Steps:

1. Make a stream of target elements: ``--vps`` vantage points on four collectors, each announcing one of
   three sites for the target or its more-specific, or withdrawing, every ``--every`` seconds on average.
2. Feed it to a LiveAnalysis (retention ``--retention``) in batches of one second of stream time and time
   every ``step`` (the whole recomputation of timeline and events over the elements held).
3. Print, at each tenth of the stream, the elements held, the median and the largest step time so far.

Run: ``python benchmarks/bench_live.py [--vps 500] [--hours 6] [--every 600] [--retention 3600]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from anystab import schemas
from anystab.live import LiveAnalysis
from anystab.params import AnalysisParams
from anystab.targets import make_target, target_set

T0_US = 1_700_000_000_000_000
PREFIXES = ("192.0.2.0/24", "192.0.2.0/25")


def stream(vps: int, hours: float, every_s: float, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    end = T0_US + int(hours * 3600e6)
    t = T0_US
    while t < end:
        t += int(rng.expovariate(vps / every_s) * 1e6)
        i = rng.randrange(vps)
        row = dict.fromkeys(schemas.ELEMENTS.names)
        row.update(time=t, collector=f"rrc0{i % 4}", peer_asn=64500 + i, peer_ip=f"10.{i // 250}.{i % 250}.1")
        prefix = rng.choice(PREFIXES)
        if rng.random() < 0.1:
            row.update(elem_type="W", prefix=prefix)
        else:
            path = f"{64500 + i} {rng.choice([64496, 64497, 64498])} 64511"
            row.update(elem_type="A", prefix=prefix, as_path=path, next_hop="10.0.0.1", communities=[])
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vps", type=int, default=500)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--every", type=float, default=600.0, help="mean seconds between a VP's elements")
    parser.add_argument("--retention", type=float, default=3600.0)
    args = parser.parse_args()
    rows = stream(args.vps, args.hours, args.every)
    params = AnalysisParams(targets=target_set([make_target("192.0.2.0/24", "192.0.2.53")]))
    live = LiveAnalysis(params, args.retention)
    steps: list[float] = []
    k, second = 0, T0_US + 1_000_000
    print(f"{len(rows)} elements over {args.hours} h from {args.vps} VPs")
    marks = {len(rows) * n // 10 for n in range(1, 11)}
    while k < len(rows):
        start = k
        while k < len(rows) and rows[k]["time"] < second:
            k += 1
        second += 1_000_000
        if k == start:
            continue
        live.add(rows[start:k])
        began = time.perf_counter()
        live.step()
        steps.append(time.perf_counter() - began)
        if any(start < m <= k for m in marks):
            median, worst = statistics.median(steps) * 1e3, max(steps) * 1e3
            held = live.retained()
            print(f"{k:>8} received {held:>7} held  step median {median:7.1f} ms  max {worst:7.1f} ms")


if __name__ == "__main__":
    main()
