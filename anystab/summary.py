"""The summary of one analysis: what the terminal report and ``--json`` show.

Built from the tables only (never from the stages' internals), so that a report from stored parquet
tables says the same as the run that wrote them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from anystab.pipeline import AnalysisResult

LEAST_STABLE_ROWS = 10
PROBLEM_ROWS = 20


def _clean(value: Any) -> Any:
    """JSON-ready scalars: NaN -> None, timestamps -> ISO text, numpy -> Python."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat().replace("+00:00", "Z")
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
        return [{c: _clean(row[c]) for c in cols} for _, row in frame.iterrows()]
    values = [_clean_column(frame[c]) for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


def _clean_column(column: pd.Series) -> list[Any]:
    """``[_clean(v) for v in column.tolist()]``, by the column's type: ints and bools come out of
    ``tolist`` as Python ints and bools (left as they are), floats as Python floats (NaN, inf -> None)."""
    values = column.tolist()
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None  # numpy types only
    if kind in ("i", "u", "b"):
        return values
    if kind == "f":
        return [v if math.isfinite(v) else None for v in values]
    return [_clean(v) for v in values]


def _iso(seconds: float) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat().replace("+00:00", "Z")


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


def site_shares(site_share: pd.DataFrame) -> list[dict[str, Any]]:
    """Time-weighted mean catchment share of each site, per scope and target."""
    if site_share.empty:
        return []
    dur = (site_share["end"] - site_share["start"]).dt.total_seconds().to_numpy()
    share = site_share["share"].to_numpy()
    spans = list(zip(site_share["start"].tolist(), site_share["end"].tolist(), strict=True))
    sites = site_share["site"].tolist()
    out = []
    for (scope, target), rows in site_share.groupby(["scope", "target"], sort=True).indices.items():
        first: dict[tuple, int] = {}  # each (start, end) once, at its first row
        for i in rows.tolist():
            first.setdefault(spans[i], i)
        total = dur[list(first.values())].sum()
        by_site: dict[str, list[int]] = {}
        for i in rows.tolist():
            by_site.setdefault(sites[i], []).append(i)
        for site in sorted(by_site):
            part = by_site[site]
            value = float((share[part] * dur[part]).sum() / total) if total > 0 else float("nan")
            out.append({"scope": scope, "target": target, "site": site, "share": _clean(value)})
    return sorted(out, key=lambda r: (r["scope"] != "all", r["scope"], r["target"], -(r["share"] or 0)))


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


def build_summary(result: AnalysisResult) -> dict[str, Any]:
    t = result.tables
    vp = t["vp_stats"]
    return {
        "window": {
            "start": _iso(result.window[0]),
            "end": _iso(result.window[1]),
            "seconds": result.window[1] - result.window[0],
        },
        "parameters": {
            "targets": [{"prefix": tg.text, "address": str(tg.address)} for tg in result.params.targets],
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
        "estimates": records(t["estimates"]),
        "sites": site_shares(t["site_share"]),
        "least_stable": least_stable(vp),
        "collectors": records(t["collector_stats"]),
    }
