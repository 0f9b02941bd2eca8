"""Coverage: which vantage points sent data but count for no target, and why.

A (VP, target) pair counts when the VP is observed in the window and sent at least one route about the target
(SPEC, "Which (VP, target) pairs count"). A VP that sent elements but counts for no target is left out for
exactly one of these reasons, the first that applies:

1. ``collector_unobserved``: its collector is unobserved for the whole window (no update file covers it: the
   files are missing, or the window lies outside them, or the collector has a RIB dump only).
2. ``no_route``: it sent no route (``R``, ``A`` or ``W``) about any target, only session state changes.
3. ``not_in_window``: it has no RIB entry at or before the window start and no element inside the window,
   so its observation never starts.
4. ``session``: it is observed from some time, but its session is down or re-sending its table (the
   ``resync`` period after the session comes back) for the whole window.

The COVERAGE table has one row per left-out VP. The VPs that count for some target but sent nothing about a
given one are counted per target by the summary, from VP_STATS: a partial feed (the VP counts for another
target of the same address family) or the other address family (it counts only for targets of the other).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anystab.frames import group_indices
from anystab.text import plural
from anystab.timeline import VP_KEYS, collector_gaps, records_frame, to_seconds

COLLECTOR_UNOBSERVED = "collector_unobserved"
NO_ROUTE = "no_route"
NOT_IN_WINDOW = "not_in_window"
SESSION = "session"
REASONS = (COLLECTOR_UNOBSERVED, NO_ROUTE, NOT_IN_WINDOW, SESSION)
WINDOW_GAPS = ("missing_file", "outside_data")


def _unobserved_collectors(gaps: pd.DataFrame, window: tuple[float, float]) -> set[str]:
    """Collectors whose gaps cover the whole window."""
    out = set()
    for collector, spans in collector_gaps(gaps, window).items():
        if spans[0][0] <= window[0] and spans[0][1] >= window[1]:
            out.add(collector)
    return out


def build_coverage(
    elements: pd.DataFrame, gaps: pd.DataFrame, vp_stats: pd.DataFrame, window: tuple[float, float]
) -> pd.DataFrame:
    """The COVERAGE table: each VP with elements that counts for no target, with its reason (module steps)."""
    rows: list[dict[str, Any]] = []
    if elements.empty:
        return records_frame("coverage", rows)
    counted = set(zip(*(vp_stats[k].tolist() for k in VP_KEYS), strict=True)) if len(vp_stats) else set()
    unobserved = _unobserved_collectors(gaps, window)
    times = to_seconds(elements["time"])
    kinds = elements["elem_type"].to_numpy()
    routes = np.isin(kinds, ("R", "A", "W")) & elements["prefix"].notna().to_numpy()
    early_rib = (kinds == "R") & (times <= window[0])
    inside = (times >= window[0]) & (times <= window[1])
    for vp, idx in group_indices(elements, VP_KEYS, sort=True, dropna=False).items():
        if vp in counted:
            continue
        if str(vp[0]) in unobserved:
            reason = COLLECTOR_UNOBSERVED
        elif not routes[idx].any():
            reason = NO_ROUTE
        elif not (early_rib[idx].any() or inside[idx].any()):
            reason = NOT_IN_WINDOW
        else:
            reason = SESSION
        rows.append({"collector": vp[0], "peer_asn": vp[1], "peer_ip": vp[2], "reason": reason})
    return records_frame("coverage", rows)


def explain(coverage: pd.DataFrame, gaps: pd.DataFrame, resync_s: float) -> list[dict[str, Any]]:
    """One entry per reason present: how many VPs, of which collectors, why, and what changes it."""
    out = []
    for reason in REASONS:
        part = coverage[coverage["reason"] == reason] if len(coverage) else coverage
        if part.empty:
            continue
        n = len(part)
        collectors = sorted({str(c) for c in part["collector"]})
        why, hint = _words(reason, n, collectors, gaps, resync_s)
        out.append({"reason": reason, "vps": n, "collectors": collectors, "why": why, "hint": hint})
    return out


def _words(
    reason: str, n: int, collectors: list[str], gaps: pd.DataFrame, resync_s: float
) -> tuple[str, str | None]:
    vps = plural(n, "VP")
    if reason == COLLECTOR_UNOBSERVED:
        inside = (
            gaps[gaps["collector"].isin(collectors) & gaps["reason"].isin(WINDOW_GAPS)] if len(gaps) else gaps
        )
        kinds = set(inside["reason"]) if len(inside) else set()
        what = (
            "their collector's update files are missing"
            if kinds == {"missing_file"}
            else ("no update file of their collector covers the window (a RIB dump alone shows one instant)")
        )
        return (
            f"{vps} unobserved for the whole window ({', '.join(collectors)}): {what}",
            "add the update files of the window, or choose a window inside the data (--start/--end)",
        )
    if reason == NO_ROUTE:
        return f"{vps} sent only session state changes, no route for any target", None
    if reason == NOT_IN_WINDOW:
        return (
            f"{vps} not observed: no RIB entry at or before the window start and no element inside it",
            "add the RIB dump from before the window, or widen the window (--start/--end)",
        )
    hint = "try --resync 0 for a short window" if resync_s > 0 else None
    return (
        f"{vps} unobserved: session down or re-sync for the whole window (--resync {resync_s:g} s)",
        hint,
    )


def _family(target: str) -> int:
    return 6 if ":" in target else 4


def target_shortfall(vp_stats: pd.DataFrame, targets: list[str]) -> list[dict[str, Any]]:
    """Per target: VPs counted; ``partial_feed``, VPs counted for another target of its address family but
    not for it; ``other_family``, VPs counted only for targets of the other address family. Counted for
    all rows and targets at once (a target's family told by a ``:`` in its text)."""
    if vp_stats.empty:
        return [{"target": t, "vps": 0, "partial_feed": 0, "other_family": 0} for t in targets]
    family = np.where(vp_stats["target"].str.contains(":", regex=False).to_numpy(dtype=bool), 6, 4)
    pairs = vp_stats[VP_KEYS].assign(family=family)
    total = len(pairs.drop_duplicates(VP_KEYS))
    per_family = pairs.drop_duplicates([*VP_KEYS, "family"]).groupby("family").size().to_dict()
    n = vp_stats["target"].value_counts(sort=False).reindex(targets, fill_value=0).tolist()
    same = [int(per_family.get(_family(t), 0)) for t in targets]
    return [
        {"target": t, "vps": int(k), "partial_feed": s - int(k), "other_family": total - s}
        for t, k, s in zip(targets, n, same, strict=True)
    ]
