"""``history``: a summary of the stored monitoring dataset (read with pyarrow datasets).

Steps:

1. Read the events, per-interval estimates and per-interval VP statistics of the dataset, keeping rows of
   the chosen service (all by default) at or after ``since`` (event time, interval start).
2. Switches per day: per UTC day, service and target, the switch and withdraw events and the VPs with any.
3. P(break) over time: per day, service, target and session length, the mean and the highest of the
   intervals' mean P(break) (scope ``all``; intervals where it is undefined are left out).
4. Worst VPs: per service, VP and target, break events (switches + withdrawals) summed over intervals,
   with observed time and breaks per observed day; the :data:`WORST_VPS` with most breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from anystab.events import BREAK_KINDS
from anystab.monitor.dataset import read_dataset
from anystab.text import iso_utc
from anystab.timeline import PAIR_KEYS

WORST_VPS = 10
SECONDS_PER_DAY = 86400.0


def _since(frame: pd.DataFrame, column: str, since: float | None, service: str | None) -> pd.DataFrame:
    if service is not None:
        frame = frame[frame["service"] == service]
    if since is not None:
        frame = frame[frame[column] >= pd.Timestamp(since, unit="s", tz="UTC")]
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def switches_per_day(events: pd.DataFrame) -> list[dict[str, Any]]:
    breaks = events[events["kind"].isin(BREAK_KINDS)]
    if breaks.empty:
        return []
    frame = breaks.assign(
        day=breaks["time"].dt.strftime("%Y-%m-%d"), vp=breaks["peer_ip"] + "@" + breaks["collector"]
    )
    grouped = frame.groupby(["day", "service", "target"], sort=True)
    out = grouped.agg(
        switches=("kind", lambda k: int((k == "switch").sum())),
        withdraws=("kind", lambda k: int((k == "withdraw").sum())),
        vps=("vp", "nunique"),
    )
    return _records(out.reset_index())


def p_break_over_time(estimates: pd.DataFrame) -> list[dict[str, Any]]:
    rows = estimates[(estimates["scope"] == "all") & estimates["mean_p"].notna()]
    if rows.empty:
        return []
    frame = rows.assign(day=rows["interval_start"].dt.strftime("%Y-%m-%d"))
    out = frame.groupby(["day", "service", "target", "session_s"], sort=True).agg(
        mean_p=("mean_p", "mean"), max_p=("mean_p", "max"), intervals=("mean_p", "size")
    )
    return _records(out.reset_index())


def worst_vps(stats: pd.DataFrame, limit: int = WORST_VPS) -> list[dict[str, Any]]:
    if stats.empty:
        return []
    keys = ["service", *PAIR_KEYS]
    out = stats.groupby(keys, sort=True)[["switches", "withdraws", "observed_s"]].sum().reset_index()
    out["breaks"] = out["switches"] + out["withdraws"]
    out["breaks_per_day"] = out["breaks"] / (out["observed_s"] / SECONDS_PER_DAY)
    out = out[out["breaks"] > 0].sort_values(["breaks", *keys], ascending=[False, *[True] * len(keys)])
    return _records(out.head(limit))


def summarise(output: Path, since: float | None = None, service: str | None = None) -> dict[str, Any]:
    """The history summary as a JSON-ready dict (see the module docstring)."""
    events = _since(read_dataset(output, "events"), "time", since, service)
    estimates = _since(read_dataset(output, "estimates"), "interval_start", since, service)
    stats = _since(read_dataset(output, "vp_stats"), "interval_start", since, service)
    first = stats["interval_start"].min() if not stats.empty else None
    last = stats["interval_end"].max() if not stats.empty else None
    return {
        "dataset": str(output),
        "services": sorted(stats["service"].unique().tolist()),
        "from": None if first is None else iso_utc(first),
        "until": None if last is None else iso_utc(last),
        "switches_per_day": switches_per_day(events),
        "p_break": p_break_over_time(estimates),
        "worst_vps": worst_vps(stats),
    }
