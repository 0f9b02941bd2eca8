"""The summary of one analysis: what the terminal report and ``--json`` show.

Built from the tables only (never from the stages' internals), so that a report from stored parquet
tables says the same as the run that wrote them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from anystab.collect import fewer_collections
from anystab.coverage import explain, target_shortfall
from anystab.params import AnalysisParams
from anystab.sources.archive import WARM_UP_MISSING
from anystab.sums import group_sums
from anystab.targets import address_text
from anystab.text import human_duration, iso_utc
from anystab.timeline import VP_KEYS


class ResultTables(Protocol):
    """What a summary is built from (:class:`anystab.pipeline.AnalysisResult` is one): a protocol, so that
    this module does not import the pipeline that calls it."""

    window: tuple[float, float]
    params: AnalysisParams
    tables: dict[str, pd.DataFrame]


LEAST_STABLE_ROWS = 10
PROBLEM_ROWS = 20
NOTED_TARGETS = 10


def json_scalar(value: Any) -> Any:
    """JSON-ready scalars: NaN -> None, timestamps -> ISO text, numpy -> Python."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else iso_utc(value)
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(df: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts."""
    cols = columns or list(df.columns)
    frame = df[cols]
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):  # rows would share one numeric type
        return [{c: json_scalar(row[c]) for c in cols} for _, row in frame.iterrows()]
    values = [clean_column(frame[c]) for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


@dataclass(frozen=True)
class RecordFrame:
    """The records of a frame (:func:`records`) kept as its columns until they are written: a summary of many
    targets holds hundreds of thousands of values, and a dict per row costs more than writing them.
    :func:`anystab.output.dumps_indented` writes it as the list :meth:`to_list` gives."""

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    def to_list(self) -> list[dict[str, Any]]:
        return records(self.frame)


def frame_records(df: pd.DataFrame, columns: list[str] | None = None) -> RecordFrame | list[dict[str, Any]]:
    """:func:`records`, as a :class:`RecordFrame` where each column's values are those of its own type (a
    frame of numbers alone is given as dicts: its rows share one numeric type)."""
    frame = df[columns or list(df.columns)]
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        return records(frame)
    return RecordFrame(frame)


def clean_column(column: pd.Series) -> list[Any]:
    """``[json_scalar(v) for v in column.tolist()]``, by the column's type: ints and bools come out of
    ``tolist`` as Python ints and bools (left as they are), floats as Python floats (NaN, inf -> None)."""
    values: list[Any] = column.tolist()
    if isinstance(column.dtype, pd.StringDtype):  # text, or a missing value
        if column.hasnans:
            for i in np.flatnonzero(column.isna().to_numpy()).tolist():
                values[i] = None
        return values
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None  # numpy types only
    if kind in ("i", "u", "b"):
        return values
    if kind == "f":
        return [v if math.isfinite(v) else None for v in values]
    return [json_scalar(v) for v in values]


def _iso(seconds: float) -> str:
    return iso_utc(seconds)


def read_summary(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    files, problems, gaps = tables["files"], tables["problems"], tables["gaps"]
    missing = gaps[gaps["reason"] == "missing_file"]
    missing_s = float((missing["end"] - missing["start"]).dt.total_seconds().sum()) if len(missing) else 0.0
    return {
        "files": int(len(files)),
        "files_by_kind": {str(k): int(v) for k, v in files["kind"].value_counts().sort_index().items()},
        "collectors": sorted(str(c) for c in files["collector"].unique()),
        "records": int(files["records"].sum()) if len(files) else 0,
        "elements": int(len(tables["elements"])),
        "skipped": int(problems["count"].sum()) if len(problems) else 0,
        "problems": records(problems.head(PROBLEM_ROWS)),
        "problems_total": int(len(problems)),
        "missing_intervals": int(len(missing)),
        "missing_s": missing_s,
    }


def site_shares(
    site_share: pd.DataFrame, listed: Callable[[pd.DataFrame], Any] = records
) -> list[dict[str, Any]] | RecordFrame:
    """Time-weighted mean catchment share of each site, per scope and target (the mean over instants for a
    snapshot): every (scope, target, site) at once, sums of one size computed together; ordered ``all``
    first, then by scope, target and share (largest first), as a list of records or as ``listed`` gives
    the frame of them."""
    if site_share.empty:
        return []
    dur = (site_share["end"] - site_share["start"]).dt.total_seconds().to_numpy()
    share = site_share["share"].to_numpy()
    group = site_share.groupby(["scope", "target"], sort=True).ngroup().to_numpy()
    part = site_share.groupby(["scope", "target", "site"], sort=True).ngroup().to_numpy()
    groups, parts = int(group.max()) + 1, int(part.max()) + 1
    first = ~site_share.duplicated(["scope", "target", "start", "end"]).to_numpy()  # each span once
    total = group_sums(dur[first], group[first], groups)
    spans = np.bincount(group[first], minlength=groups)
    part_group = np.zeros(parts, dtype=np.int64)
    part_group[part] = group
    with np.errstate(divide="ignore", invalid="ignore"):
        weighted = group_sums(share * dur, part, parts) / total[part_group]
    # a snapshot (instants only, a RIB dump alone) weighs each instant the same
    alone = group_sums(share, part, parts) / spans[part_group]
    share = np.where(total[part_group] > 0, weighted, alone)
    at = np.zeros(parts, dtype=np.int64)
    at[part] = np.arange(len(part))
    names = {c: site_share[c].to_numpy()[at] for c in ("scope", "target", "site")}
    scope = pd.factorize(names["scope"], sort=True)[0]  # text in Python's order (code points)
    target = pd.factorize(names["target"], sort=True)[0]
    order = np.lexsort(  # stable, as sorted(): ties keep the (scope, target, site) order
        (-np.where(np.isfinite(share), share, 0.0), target, scope, names["scope"] != "all")
    )
    frame = pd.DataFrame({**{c: v[order] for c, v in names.items()}, "share": share[order]})
    shares: list[dict[str, Any]] | RecordFrame = listed(frame)  # a share that is not a number: null
    return shares


def least_stable(vp_stats: pd.DataFrame, n: int = LEAST_STABLE_ROWS) -> list[dict[str, Any]]:
    if vp_stats.empty:
        return []
    df = vp_stats.assign(breaks=vp_stats["switches"] + vp_stats["withdraws"])
    df = df.sort_values(
        ["breaks", "switches_raw", "collector", "peer_asn", "peer_ip"],
        ascending=[False, False, True, True, True],
        kind="stable",
    )
    cols = [
        "collector",
        "peer_asn",
        "peer_ip",
        "target",
        "breaks",
        "switches",
        "withdraws",
        "switches_raw",
        "path_changes",
        "sites",
        "mean_dwell_s",
        "observed_s",
    ]
    return records(df.head(n), cols)


def coverage_summary(result: ResultTables) -> dict[str, Any]:
    """Which VPs the numbers stand on: VPs that sent elements, VPs counted, the others with their reasons,
    and per target the VPs counted and those that sent nothing about it (:mod:`anystab.coverage`)."""
    t = result.tables
    elements, vp = t["elements"], t["vp_stats"]
    coverage = t.get("coverage", pd.DataFrame(columns=["collector", "peer_asn", "peer_ip", "reason"]))
    return {
        "vps_with_elements": int(len(elements.drop_duplicates(VP_KEYS))) if len(elements) else 0,
        "vps_counted": int(len(vp.drop_duplicates(VP_KEYS))) if len(vp) else 0,
        "left_out": explain(coverage, t["gaps"], result.params.resync_s),
        "targets": target_shortfall(vp, [tg.text for tg in result.params.targets]),
        "snapshots": snapshots(t["timeline"]),
        "stale": stale_states(t["files"], t["gaps"], result.window[0]),
    }


def stale_states(files: pd.DataFrame, gaps: pd.DataFrame, w0: float) -> list[dict[str, Any]]:
    """Collectors whose state at the window start is stale: their RIB dump, how long before the window start
    the replay of update files stops (the state's age), and how much time between no update file covers."""
    holes = gaps[gaps["reason"] == WARM_UP_MISSING] if len(gaps) else gaps
    if holes.empty:
        return []
    start = pd.Timestamp(w0, unit="s", tz="UTC")
    ribs = files[(files["kind"] == "rib") & (files["first_time"] <= start)]
    out = []
    for collector, part in holes.groupby("collector", sort=True):
        dumps = ribs[ribs["collector"] == collector]["first_time"]
        exact_until = part["start"].min()
        out.append(
            {
                "collector": str(collector),
                "rib_time": json_scalar(dumps.max()) if len(dumps) else None,
                "exact_until": json_scalar(exact_until),
                "age_s": float((start - exact_until).total_seconds()),
                "invisible_s": float((part["end"] - part["start"]).dt.total_seconds().sum()),
            }
        )
    return out


def _stale_note(st: dict[str, Any]) -> str:
    age, invisible = human_duration(st["age_s"]), human_duration(st["invisible_s"])
    return (
        f"{st['collector']}: the state at the window start is {age} old: it comes from the RIB dump of "
        f"{st['rib_time']} with update files replayed up to {st['exact_until']}; no update file covers "
        f"{invisible} between the dump and the window, so route changes there are invisible (fetch "
        "without --no-warm-up to replay them)"
    )


def snapshots(timeline: pd.DataFrame) -> list[dict[str, Any]]:
    """Collectors seen only at instants (zero-length timeline rows: a RIB dump and no update file), with the
    first such instant."""
    if timeline.empty:
        return []
    instants = timeline[timeline["start"] == timeline["end"]]
    first = instants.groupby("collector", sort=True)["start"].min()
    return [{"collector": str(c), "time": json_scalar(t)} for c, t in first.items()]


def notes(summary: dict[str, Any]) -> list[str]:
    """Why a result is empty or thin, one sentence each, for the reports (from the summary alone)."""
    cov = summary.get("coverage")
    if not cov:
        return []
    out = [
        f"{snap['collector']}: a RIB dump alone, so sites and catchment are those at {snap['time']} (one "
        "instant); no update file covers the window, so no session can be measured (P(break) undefined)"
        for snap in cov.get("snapshots", [])
    ]
    out += [_stale_note(st) for st in cov.get("stale", [])]
    out += [e["why"] + (f"; {e['hint']}" if e["hint"] else "") for e in cov["left_out"]]
    counted = cov["vps_counted"]
    if cov["vps_with_elements"] == 0:
        out.append("no element of the sources concerns the targets: no VP sent a route for them")
    short = [t for t in cov["targets"] if t["partial_feed"] > 0 or (t["vps"] == 0 and counted > 0)]
    for t in short[:NOTED_TARGETS]:
        if t["vps"] == 0:
            out.append(f"{t['target']}: no VP counted; none of the {counted} VPs counted sent a route for it")
        else:
            same = t["vps"] + t["partial_feed"]
            out.append(
                f"{t['target']}: {t['vps']} of the {same} VPs of its address family; {t['partial_feed']} "
                "sent no route for it (partial feeds)"
            )
    if len(short) > NOTED_TARGETS:
        out.append(f"... and {len(short) - NOTED_TARGETS} more targets with VPs that sent no route for them")
    return out


def build_summary(result: ResultTables, frames: bool = False) -> dict[str, Any]:
    """The summary; ``frames``: its longest lists of records (estimates, collectors) as
    :class:`RecordFrame` objects, for writing as JSON (:func:`anystab.output.dumps_indented`)."""
    with fewer_collections():
        return _summary(result, frame_records if frames else records)


def _summary(result: ResultTables, listed: Callable[[pd.DataFrame], Any]) -> dict[str, Any]:
    t = result.tables
    vp = t["vp_stats"]
    targets = result.params.targets
    summary = {
        "window": {
            "start": _iso(result.window[0]),
            "end": _iso(result.window[1]),
            "seconds": result.window[1] - result.window[0],
        },
        "parameters": {
            "targets": [{"prefix": tg.text, "address": address_text(tg.address)} for tg in targets],
            "site_by": result.params.site_by,
            "min_dwell_s": result.params.min_dwell_s,
            "sessions_s": list(result.params.sessions_s),
            "resync_s": result.params.resync_s,
        },
        "read": read_summary(t),
        "vantage_points": int(len(vp.drop_duplicates(["collector", "peer_asn", "peer_ip"])))
        if len(vp)
        else 0,
        "events": {
            "switches": int(vp["switches"].sum()) if len(vp) else 0,
            "withdraws": int(vp["withdraws"].sum()) if len(vp) else 0,
            "switches_before_filter": int(vp["switches_raw"].sum()) if len(vp) else 0,
            "withdraws_before_filter": int(vp["withdraws_raw"].sum()) if len(vp) else 0,
        },
        "estimates": listed(t["estimates"]),
        "sites": site_shares(t["site_share"], listed),
        "least_stable": least_stable(vp),
        "collectors": listed(t["collector_stats"]),
        "coverage": coverage_summary(result),
    }
    summary["notes"] = notes(summary)
    return summary
