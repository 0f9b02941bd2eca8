"""Per-collector view: change counts, origin disagreement (MOAS) and each site's share of VPs over time.

Steps:

1. Counts per collector and target: VPs observed (VP_STATS rows), distinct sites on routed timeline
   intervals, origin and path changes (EVENTS rows of those kinds), site switches after the filter
   (VP_STATS ``switches``).
2. Sweep: turn a set of intervals, each labelled (an origin, a site), into elementary intervals between
   consecutive interval ends, each with the count of intervals per label covering it. Only routed
   (hence observed) timeline intervals take part.
3. MOAS: per collector and target, the elementary intervals with at least :data:`MOAS_MIN_ORIGINS`
   distinct origins, joined into maximal touching runs; each run lists every origin seen during it
   (sorted). Its count and total seconds go to the collector table.
4. Site share: per scope (each collector and ``all``) and target, the elementary intervals with their
   per-site counts, neighbours with identical counts joined; one row per (interval, site) with the site's
   VPs and share of all routed VPs then. A scope whose routed rows all have zero length (a snapshot: RIB
   dumps alone) gets one zero-length row per instant instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pandas as pd

from anystab.timeline import ROUTED, records_frame, to_seconds

MOAS_MIN_ORIGINS = 2
Piece = tuple[float, float, dict[str, int]]


def sweep(intervals: Iterable[tuple[float, float, str]]) -> list[Piece]:
    """Elementary intervals with, per label, how many input intervals cover them (empty ones left out)."""
    changes: list[tuple[float, int, str]] = []
    for start, end, label in intervals:
        if end > start:
            changes += [(start, 1, label), (end, -1, label)]
    changes.sort(key=lambda c: c[0])
    counts: Counter[str] = Counter()
    pieces: list[Piece] = []
    i = 0
    while i < len(changes):
        t = changes[i][0]
        while i < len(changes) and changes[i][0] == t:
            counts[changes[i][2]] += changes[i][1]
            i += 1
        current = {k: v for k, v in counts.items() if v > 0}
        if i < len(changes) and current:
            pieces.append((t, changes[i][0], current))
    return pieces


def join_equal(pieces: list[Piece]) -> list[Piece]:
    """Join touching pieces with identical counts."""
    out: list[Piece] = []
    for start, end, counts in pieces:
        if out and out[-1][1] == start and out[-1][2] == counts:
            out[-1] = (out[-1][0], end, counts)
        else:
            out.append((start, end, counts))
    return out


def moas_intervals(pieces: list[Piece]) -> list[tuple[float, float, list[str]]]:
    """Maximal runs of pieces with >= MOAS_MIN_ORIGINS origins, with every origin seen in the run."""
    runs: list[tuple[float, float, list[str]]] = []
    for start, end, counts in pieces:
        if len(counts) < MOAS_MIN_ORIGINS:
            continue
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end, sorted(set(runs[-1][2]) | set(counts)))
        else:
            runs.append((start, end, sorted(counts)))
    return runs


def _routed(timeline: pd.DataFrame) -> pd.DataFrame:
    routed = timeline[timeline["state"] == ROUTED]
    return routed.assign(_start=to_seconds(routed["start"]), _end=to_seconds(routed["end"]))


def _labelled(rows: pd.DataFrame, label: str) -> list[tuple[float, float, str]]:
    return [
        (float(s), float(e), str(v))
        for s, e, v in zip(rows["_start"], rows["_end"], rows[label], strict=True)
    ]


def _pieces(rows: pd.DataFrame, label: str) -> list[Piece]:
    """Step 4's pieces; a snapshot (only zero-length rows: a RIB dump alone) gives one piece per instant."""
    if rows.empty or (rows["_end"] > rows["_start"]).any():
        return join_equal(sweep(_labelled(rows, label)))
    return [
        (float(t), float(t), dict(Counter(map(str, g[label])))) for t, g in rows.groupby("_start", sort=True)
    ]


def _share_rows(scope: str, target: str, rows: pd.DataFrame) -> list[dict]:
    records = []
    for start, end, counts in _pieces(rows, "site"):
        total = sum(counts.values())
        for site in sorted(counts):
            share = {"site": site, "vps": counts[site], "share": counts[site] / total}
            records.append({"scope": scope, "target": target, "start": start, "end": end, **share})
    return records


def site_share(timeline: pd.DataFrame) -> pd.DataFrame:
    """The SITE_SHARE table: per scope ('all', then each collector) and target."""
    routed = _routed(timeline)
    records: list[dict] = []
    for target, rows in routed.groupby("target", sort=True):
        records += _share_rows("all", str(target), rows)
    for (collector, target), rows in routed.groupby(["collector", "target"], sort=True):
        records += _share_rows(str(collector), str(target), rows)
    return records_frame("site_share", records)


def _kind_counts(events: pd.DataFrame, kind: str) -> pd.Series:
    return events[events["kind"] == kind].groupby(["collector", "target"]).size()


def collector_view(
    timeline: pd.DataFrame, events: pd.DataFrame, vp_stats: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(COLLECTOR_STATS, MOAS, SITE_SHARE) from the timeline, events and per-VP statistics."""
    routed = _routed(timeline)
    origin_changes, path_changes = _kind_counts(events, "origin_change"), _kind_counts(events, "path_change")
    stats: list[dict] = []
    moas: list[dict] = []
    by_pair = dict(iter(routed.groupby(["collector", "target"], sort=False)))
    for (collector, target), group in vp_stats.groupby(["collector", "target"], sort=True):
        rows = by_pair.get((collector, target), routed.iloc[:0])
        runs = moas_intervals(sweep(_labelled(rows.dropna(subset=["origin"]), "origin")))
        moas += [
            {"collector": collector, "target": target, "start": s, "end": e, "origins": origins}
            for s, e, origins in runs
        ]
        stats.append(
            {
                "collector": collector,
                "target": target,
                "vps": len(group),
                "sites": int(rows["site"].nunique()),
                "origin_changes": int(origin_changes.get((collector, target), 0)),
                "path_changes": int(path_changes.get((collector, target), 0)),
                "switches": int(group["switches"].sum()),
                "moas_intervals": len(runs),
                "moas_s": float(sum(e - s for s, e, _ in runs)),
            }
        )
    return records_frame("collector_stats", stats), records_frame("moas", moas), site_share(timeline)
