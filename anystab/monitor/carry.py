"""Carrying each vantage point's route state from one monitor run to the next.

Steps:

1. The cut T_c of a run: its window's end less :data:`SNAPSHOT_LAG_S`, aligned down to the interval, never
   before the window's start.
2. Per service, the timeline is the walk of :mod:`anystab.timeline` (same state machine, same rows). At T_c
   the walk of every VP is saved: observation start, routes held (prefix, path id, AS path, next hop,
   communities), session down and resync end, each target's state, the targets its elements concern, and
   the timeline rows of its pairs before T_c (clipped at T_c). All elements before T_c are walked first
   (pending snapshots before T_c flushed), so the saved walk is the walk's state at T_c exactly.
3. A later run resumes from the saved walks when the settings and the window's start are the same and
   T_c is before the change horizon H (nothing at or before T_c can differ). Only the elements at or after
   T_c are walked; the rows from T_c on are clipped to [T_c, W1], collector gaps overlaid, and stitched to
   the saved rows (equal neighbours at T_c merged): the rows of one walk of the whole period.
4. A VP element concerning a target the VP's elements did not concern before T_c, or a VP that had
   elements but no observation start: :class:`CarryMiss`, the caller recomputes from every element.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anystab.params import AnalysisParams
from anystab.schemas import TABLES
from anystab.timeline import (
    UNOBSERVED,
    UNOBSERVED_STATE,
    VP_KEYS,
    State,
    VpWalk,
    WalkColumns,
    WalkContext,
    add_rows,
    append_interval,
    collector_gaps,
    make_frame,
    observation_start,
    series_intervals,
)

SNAPSHOT_LAG_S = 2 * 3600.0
Span = tuple[float, float, State]


class CarryMiss(Exception):
    """The saved walks cannot give the exact timeline: recompute from every element."""


@dataclass
class Snapshot:
    """Every VP's walk at the cut of one run (step 2)."""

    cut: float
    w0: float
    vps: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        doc = {"cut": self.cut, "w0": self.w0, "vps": [[list(k), v] for k, v in self.vps.items()]}
        return gzip.compress(json.dumps(doc, sort_keys=True).encode(), mtime=0)

    @staticmethod
    def from_bytes(data: bytes) -> Snapshot:
        doc = json.loads(gzip.decompress(data))
        return Snapshot(doc["cut"], doc["w0"], {tuple(k): v for k, v in doc["vps"]})

    def digest(self, data: bytes) -> str:
        return hashlib.sha1(data).hexdigest()[:16]

    def prefixes(self) -> set[str]:
        return {r[0] for v in self.vps.values() for r in v["routes"]}


def cut_time(window: tuple[float, float], interval_s: float) -> float:
    """Step 1."""
    cut = math.floor((window[1] - SNAPSHOT_LAG_S) / interval_s) * interval_s
    return max(cut, window[0])


def _state(value: list[Any]) -> State:
    return (*value[:7], tuple(value[7]))


def _restore(ctx: WalkContext, saved: dict[str, Any]) -> VpWalk:
    walk = VpWalk(ctx, saved["obs_start"])
    walk.start_due, walk.down, walk.resume_at = saved["start_due"], saved["down"], saved["resume_at"]
    for prefix, path_id, as_path, next_hop, communities in saved["routes"]:
        key = ctx.prefixes[prefix].key
        walk.routes.setdefault(key, {})[path_id] = (prefix, (as_path, next_hop, tuple(communities)))  # type: ignore[arg-type]  # saved routes have keys
    walk.series = [([-math.inf], [_state(s)]) for s in saved["states"]]
    return walk


def _save(walk: VpWalk, relevant: set[int], head: dict[int, list[Span]]) -> dict[str, Any]:
    routes = [
        [prefix, path_id, *route[:2], list(route[2])]
        for entries in walk.routes.values()
        for path_id, (prefix, route) in entries.items()
    ]
    routes.sort(key=lambda r: (r[0], -1 if r[1] is None else r[1]))
    return {
        "obs_start": walk.obs_start,
        "start_due": walk.start_due,
        "down": walk.down,
        "resume_at": walk.resume_at,
        "routes": routes,
        "states": [list(states[-1]) for _, states in walk.series],
        "relevant": sorted(relevant),
        "head": {str(i): [[a, b, list(s)] for a, b, s in spans] for i, spans in head.items()},
    }


def _walk_rows(walk: VpWalk, cols: WalkColumns, rows: np.ndarray, cut: float) -> dict[str, Any]:
    """Walk rows before ``cut``, note the walk there (without head and relevance), walk the rest."""
    times = cols.time[rows]
    k = int(np.searchsorted(times, cut, side="left"))
    for r in rows[:k]:
        walk.step(cols, int(r))
    walk.flush(cut)
    noted = _save(walk, set(), {})
    for r in rows[k:]:
        walk.step(cols, int(r))
    walk.flush(math.inf)
    return noted


def _stitch(head: list[Span], spans: list[Span]) -> list[Span]:
    out = list(head)
    for a, b, s in spans:
        append_interval(out, a, b, s)
    return out


def _clip(spans: list[Span], cut: float) -> list[Span]:
    return [(a, min(b, cut), s) for a, b, s in spans if a < cut]


def carry_timeline(
    elements: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    gaps: pd.DataFrame | None,
    cut: float,
    carried: Snapshot | None = None,
) -> tuple[pd.DataFrame, Snapshot]:
    """(timeline, the walks at ``cut``): with ``carried``, ``elements`` are those at or after its cut."""
    columns: dict[str, list[Any]] = {name: [] for name in TABLES["timeline"].names}
    ctx = WalkContext(tuple(params.targets), params)
    ctx.build(set(elements["prefix"].dropna().unique()) | (carried.prefixes() if carried else set()))
    cols = WalkColumns.of(elements)
    by_collector = collector_gaps(gaps, window)
    groups = {
        k: np.asarray(v) for k, v in elements.groupby(VP_KEYS, sort=False, dropna=False).indices.items()
    }
    saved = carried.vps if carried else {}
    start = carried.cut if carried else window[0]
    cut = max(cut, start)
    snapshot = Snapshot(cut, window[0])
    for vp in sorted({*groups, *saved}, key=str):
        rows = groups.get(vp, np.array([], dtype=np.int64))
        old = saved.get(vp)
        relevant = {
            i for r in rows if cols.prefix[r] is not None for i in ctx.prefixes[cols.prefix[r]].relevant
        }
        if old is None:
            obs = observation_start(cols, rows, window)
            if obs is None:
                if len(rows) and cols.time[rows[0]] < cut:
                    snapshot.vps[vp] = {"miss": True}
                continue
            walk, heads = VpWalk(ctx, obs), {}
            if carried is not None:
                heads = {i: [(window[0], start, UNOBSERVED_STATE)] for i in range(len(ctx.targets))}
        elif old.get("miss"):
            if len(rows):
                raise CarryMiss("a vantage point without observation start")
            snapshot.vps[vp] = old
            continue
        else:
            if not relevant <= set(old["relevant"]):
                raise CarryMiss("a vantage point's elements concern a new target")
            relevant |= set(old["relevant"])
            walk = _restore(ctx, old)
            heads = {int(i): [(a, b, _state(s)) for a, b, s in h] for i, h in old["head"].items()}
        noted = _walk_rows(walk, cols, rows, cut)
        finals = {}
        for i in sorted(relevant):
            spans = series_intervals(*walk.series[i], (start, window[1]), by_collector.get(str(vp[0]), []))
            finals[i] = _stitch(heads.get(i, []), spans)
            if any(s[0] != UNOBSERVED for _, _, s in finals[i]):
                add_rows(columns, vp, ctx.targets[i].text, finals[i])
        noted["relevant"] = sorted(relevant)
        noted["head"] = {str(i): [[a, b, list(s)] for a, b, s in _clip(f, cut)] for i, f in finals.items()}
        snapshot.vps[vp] = noted
    return make_frame("timeline", columns), snapshot
