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

Scopes whose rows do not overlap (one VP's rows) need no sweep: their pieces are the rows, found for all
such scopes at once; and only a (collector, target) whose rows name two origins is swept for MOAS.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anystab.frames import group_indices
from anystab.timeline import ROUTED, make_frame, nullable, records_frame, to_seconds

MOAS_MIN_ORIGINS = 2
Piece = tuple[float, float, dict[str, int]]


def sweep(intervals: Iterable[tuple[float, float, str]]) -> list[Piece]:
    """Elementary intervals with, per label, how many input intervals cover them (empty ones left out)."""
    given = [i for i in intervals if i[1] > i[0]]
    kept = sorted(given, key=lambda i: i[0])
    if all(kept[k][0] >= kept[k - 1][1] for k in range(1, len(kept))):  # none overlaps: one VP's rows
        return [(a, b, {label: 1}) for a, b, label in kept]
    changes: list[tuple[float, int, str]] = []
    for start, end, label in given:
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


@dataclass
class _Routed:
    """The routed timeline rows as Python lists, and the rows of each (collector, target) and target."""

    start: list[float]
    end: list[float]
    site: list[str | None]
    origin: list[str | None]
    by_pair: dict[tuple[str, str], np.ndarray]
    by_target: dict[str, np.ndarray]

    def labelled(self, rows: np.ndarray, label: str) -> list[tuple[float, float, str]]:
        """The rows' (start, end, label) in timeline order; for origins, rows without one left out."""
        if label == "site":
            return [(self.start[i], self.end[i], str(self.site[i])) for i in rows.tolist()]
        named = [i for i in rows.tolist() if self.origin[i] is not None]
        return [(self.start[i], self.end[i], str(self.origin[i])) for i in named]

    def site_pieces(self, rows: np.ndarray) -> list[Piece]:
        """Step 4's pieces; a snapshot (only zero-length rows: a RIB dump alone) gives a piece per instant."""
        labelled = self.labelled(rows, "site")
        if not labelled or any(end > start for start, end, _ in labelled):
            return join_equal(sweep(labelled))
        at: dict[float, Counter[str]] = {}
        for start, _end, site in labelled:
            at.setdefault(start, Counter())[site] += 1
        return [(t, t, dict(at[t])) for t in sorted(at)]


def _routed(timeline: pd.DataFrame) -> _Routed:
    routed = timeline[timeline["state"] == ROUTED]
    return _Routed(
        to_seconds(routed["start"]).tolist(),
        to_seconds(routed["end"]).tolist(),
        nullable(routed["site"]),
        nullable(routed["origin"]),
        _groups(routed, ["collector", "target"]),
        _groups(routed, "target"),
    )


def _groups(df: pd.DataFrame, keys: str | list[str]) -> dict[Any, np.ndarray]:
    """Key -> positions of its rows in order, keys sorted (as ``groupby(sort=True)`` visits them)."""
    if df.empty:
        return {}
    if isinstance(keys, str):  # one column: factorized (pandas makes each group's key from the column)
        codes, uniques = pd.factorize(df[keys], use_na_sentinel=True)
        order = np.argsort(codes, kind="stable")
        order = order[codes[order] >= 0]  # a missing key: no group, as groupby leaves it out
        heads = np.flatnonzero(np.diff(codes[order], prepend=-1))
        bounds = [*heads.tolist(), len(order)]
        parts = [order[a:b] for a, b in itertools.pairwise(bounds)]  # (np.split: 2-3x the time)
        found = dict(zip(uniques[codes[order[heads]]].tolist(), parts, strict=True))
    else:
        found = group_indices(df, keys)
    return {k: found[k] for k in sorted(found)}


def _share_rows(scope: str, target: str, pieces: list[Piece]) -> list[dict[str, Any]]:
    records = []
    for start, end, counts in pieces:
        total = sum(counts.values())
        for site in sorted(counts):
            share = {"site": site, "vps": counts[site], "share": counts[site] / total}
            records.append({"scope": scope, "target": target, "start": start, "end": end, **share})
    return records


def site_share(timeline: pd.DataFrame, routed: _Routed | None = None) -> pd.DataFrame:
    """The SITE_SHARE table: per scope ('all', then each collector) and target. Scopes whose rows do not
    overlap (one VP's rows: the sweep's pieces are the rows themselves) at once, the others one at a time."""
    routed = routed or _routed(timeline)
    scopes = [("all", str(t), rows) for t, rows in routed.by_target.items()]
    scopes += [(str(c), str(t), rows) for (c, t), rows in routed.by_pair.items()]
    columns, alone = _unshared_pieces(routed, [rows for _, _, rows in scopes])
    records: list[dict[str, Any]] = []
    for k in alone.tolist():
        scope, target, rows = scopes[k]
        records += [{**r, "group": k} for r in _share_rows(scope, target, routed.site_pieces(rows))]
    columns["scope"] = [scopes[k][0] for k in columns["group"]]
    columns["target"] = [scopes[k][1] for k in columns["group"]]
    for name in columns:
        columns[name] += [r[name] for r in records]
    order = np.argsort(np.asarray(columns["group"], dtype=np.int64), kind="stable")
    return make_frame("site_share", columns, order)


def _unshared_pieces(routed: _Routed, groups: list[np.ndarray]) -> tuple[dict[str, list[Any]], np.ndarray]:
    """The SITE_SHARE rows of every group of rows no two of which overlap and one of which lasts (the
    sweep's pieces are then the rows, touching rows of one site joined, each the one site's with one VP and
    a share of 1), as columns with each row's group in ``group``, and the other groups' numbers."""
    group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    row = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    start, end = np.asarray(routed.start)[row], np.asarray(routed.end)[row]
    lasting = np.bincount(group[end > start], minlength=len(groups)) > 0
    keep = end > start  # the sweep leaves out instants
    group, row, start, end = group[keep], row[keep], start[keep], end[keep]
    order = np.lexsort((start, group))  # stable: by start within a group, as the sweep sorts them
    group, row, start, end = group[order], row[order], start[order], end[order]
    same = np.zeros(len(group), dtype=bool)
    same[1:] = group[1:] == group[:-1]
    overlaps = np.zeros(len(groups), dtype=bool)
    overlaps[group[1:][same[1:] & (start[1:] < end[:-1])]] = True
    fast = lasting & ~overlaps
    chosen = fast[group]
    group, row, start, end, same = group[chosen], row[chosen], start[chosen], end[chosen], same[chosen]
    site = np.array([str(s) for s in np.asarray(routed.site, dtype=object)[row].tolist()], dtype=object)
    joins = np.zeros(len(group), dtype=bool)
    joins[1:] = same[1:] & (end[:-1] == start[1:]) & (site[1:] == site[:-1])
    heads = np.flatnonzero(~joins)
    tails = np.append(heads[1:] - 1, len(group) - 1) if len(heads) else heads
    columns: dict[str, list[Any]] = {
        "group": group[heads].tolist(),
        "start": start[heads].tolist(),
        "end": end[tails].tolist(),
        "site": site[heads].tolist(),
        "vps": [1] * len(heads),
        "share": [1.0] * len(heads),
    }
    return columns, np.flatnonzero(~fast)


def _kind_counts(events: pd.DataFrame, kind: str) -> Counter[tuple[str, str]]:
    chosen = np.flatnonzero(events["kind"].to_numpy() == kind)  # rows, not a filtered copy of the frame
    collectors, targets = (events[c].to_numpy()[chosen].tolist() for c in ("collector", "target"))
    return Counter(zip(collectors, targets, strict=True))


def _several_origins(routed: _Routed) -> set[tuple[Any, Any]]:
    """The (collector, target) keys whose routed rows name at least :data:`MOAS_MIN_ORIGINS` origins (only
    they can have MOAS intervals)."""
    keys = list(routed.by_pair)
    counts = _distinct_counts(routed.origin, list(routed.by_pair.values()))
    return {keys[k] for k in np.flatnonzero(counts >= MOAS_MIN_ORIGINS).tolist()}


def _distinct_counts(values: Sequence[Any], groups: list[np.ndarray]) -> np.ndarray:
    """Per group of row numbers, how many distinct values (None left out) ``values`` holds at its rows."""
    group = np.repeat(np.arange(len(groups)), [len(rows) for rows in groups])
    rows = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    codes, _ = pd.factorize(np.asarray(values, dtype=object)[rows], use_na_sentinel=True)
    named = codes >= 0
    distinct = np.unique(np.stack([group[named], codes[named]]), axis=1)[0]
    counts: np.ndarray = np.bincount(distinct, minlength=len(groups))
    return counts


def collector_view(
    timeline: pd.DataFrame, events: pd.DataFrame, vp_stats: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(COLLECTOR_STATS, MOAS, SITE_SHARE) from the timeline, events and per-VP statistics.

    COLLECTOR_STATS has a row per (collector, target) of the VP statistics, its counts made as columns for
    every pair at once; MOAS intervals are swept only for the pairs whose routed rows name several origins."""
    routed = _routed(timeline)
    origin_changes, path_changes = _kind_counts(events, "origin_change"), _kind_counts(events, "path_change")
    moas: list[dict[str, Any]] = []
    pairs = _groups(vp_stats, ["collector", "target"])
    keys = list(pairs)
    none = np.zeros(0, dtype=np.int64)
    several = _several_origins(routed)
    runs_of: dict[tuple[Any, Any], list[tuple[float, float, Any]]] = {}
    for collector, target in keys:
        if (collector, target) not in several:
            continue
        runs = runs_of[collector, target] = moas_intervals(
            sweep(routed.labelled(routed.by_pair.get((collector, target), none), "origin"))
        )
        moas += [
            {"collector": collector, "target": target, "start": s, "end": e, "origins": origins}
            for s, e, origins in runs
        ]
    group = np.repeat(np.arange(len(keys)), [len(rows) for rows in pairs.values()])
    switches = np.zeros(len(keys), dtype=np.int64)
    if keys:
        rows = np.concatenate(list(pairs.values()))
        np.add.at(switches, group, vp_stats["switches"].to_numpy(dtype=np.int64)[rows])
    stats = {
        "collector": [k[0] for k in keys],
        "target": [k[1] for k in keys],
        "vps": [len(rows) for rows in pairs.values()],
        "sites": _site_counts(routed, keys).tolist(),
        "origin_changes": [origin_changes[k] for k in keys],
        "path_changes": [path_changes[k] for k in keys],
        "switches": switches.tolist(),
        "moas_intervals": [len(runs_of.get(k, ())) for k in keys],
        "moas_s": [float(sum(e - s for s, e, _ in runs_of.get(k, ()))) for k in keys],
    }
    return make_frame("collector_stats", stats), records_frame("moas", moas), site_share(timeline, routed)


def _site_counts(routed: _Routed, keys: list[tuple[Any, Any]]) -> np.ndarray:
    """Per (collector, target) key, how many distinct sites its routed rows name."""
    none = np.zeros(0, dtype=np.int64)
    return _distinct_counts(routed.site, [routed.by_pair.get(k, none) for k in keys])
