"""Builders for analysis tests: hand-made element tables, bgpdump -m reference lines, parameters, runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from anystab.estimates import build_estimates
from anystab.events import build_events
from anystab.params import AnalysisParams
from anystab.schemas import ELEMENTS
from anystab.targets import TargetSet, make_target, target_set
from anystab.timeline import build_timeline, records_frame, to_seconds
from support.mrt_data import ANYCAST_PREFIXES, reference

VP = ("rrc00", 64500, "192.0.2.1")


def elem(
    time: float,
    kind: str,
    prefix: str | None = None,
    path: str | None = None,
    *,
    vp: tuple[str, int, str] = VP,
    next_hop: str | None = "192.0.2.254",
    communities: Sequence[str] = (),
    path_id: int | None = None,
    new_state: int | None = None,
) -> dict:
    """One element row; ``path`` is the AS path of an R/A element."""
    announce = kind in ("A", "R")
    return {
        "time": round(time * 1_000_000),
        "elem_type": kind,
        "collector": vp[0],
        "peer_asn": vp[1],
        "peer_ip": vp[2],
        "prefix": prefix,
        "path_id": path_id,
        "as_path": path if announce else None,
        "bgp_origin": "IGP" if announce else None,
        "next_hop": next_hop if announce else None,
        "local_pref": 0,
        "med": 0,
        "communities": list(communities) if announce else None,
        "atomic_aggregate": False,
        "aggregator": None,
        "old_state": (6 if new_state != 6 else 1) if kind == "S" else None,
        "new_state": new_state if kind == "S" else None,
        "source": "test",
    }


def elements(rows: Sequence[dict]) -> pd.DataFrame:
    """An ELEMENTS DataFrame from rows, in the given (processing) order."""
    columns = {f.name: [r[f.name] for r in rows] for f in ELEMENTS}
    arrays = [pa.array(columns[f.name], type=f.type) for f in ELEMENTS]
    return pa.Table.from_arrays(arrays, schema=ELEMENTS).to_pandas()


def params(*prefixes: str, **kwargs: object) -> AnalysisParams:
    """Analysis parameters for target prefixes (``prefix`` or ``prefix@address``)."""
    targets = []
    for p in prefixes or ("192.0.2.0/24",):
        prefix, _, address = p.partition("@")
        targets.append(make_target(prefix, address or None))
    kwargs.setdefault("bootstrap", 200)
    return AnalysisParams(target_set(targets), **kwargs)  # type: ignore[arg-type]


def bgpdump_elements(name: str, targets: TargetSet, collector: str = "rrc00") -> pd.DataFrame:
    """Elements from a committed ``bgpdump -m`` reference output, kept when the prefix filter matches.

    For the larger files only a sample is committed (tests/mrt_data.py): ``targets`` must be among its
    anycast prefixes and pool.
    """
    ref = reference(name)
    outside = {str(t.prefix) for t in targets} - {*ANYCAST_PREFIXES, *ref.pool}
    assert ref.whole or not outside, f"only a sample of {name}'s output is committed; it lacks {outside}"
    rows = []
    for line in ref.lines:
        f = line.split("|")
        vp = (collector, int(f[4]), f[3])
        if f[2] == "STATE":
            rows.append(elem(float(f[1]), "S", vp=vp, new_state=int(f[6])))
        elif f[2] in ("A", "B", "W") and targets.matches(f[5]):
            kind = "R" if f[2] == "B" else f[2]
            comms = f[11].split() if kind != "W" else ()
            hop = f[8] if kind != "W" else None
            rows.append(elem(float(f[1]), kind, f[5], f[6] if kind != "W" else None, vp=vp, next_hop=hop,
                             communities=comms))  # fmt: skip
    return elements(rows)


@dataclass
class Run:
    timeline: pd.DataFrame
    events: pd.DataFrame
    vp_stats: pd.DataFrame
    estimates: pd.DataFrame


def run(
    rows: Sequence[dict] | pd.DataFrame,
    p: AnalysisParams,
    window: tuple[float, float],
    gaps: pd.DataFrame | None = None,
) -> Run:
    """Timeline, events, VP statistics and estimates of hand-made elements."""
    frame = rows if isinstance(rows, pd.DataFrame) else elements(rows)
    timeline = build_timeline(frame, p, window, gaps)
    events, vp_stats = build_events(timeline, p)
    return Run(timeline, events, vp_stats, build_estimates(timeline, events, vp_stats, p, window))


def gaps_frame(*spans: tuple[str, float, float]) -> pd.DataFrame:
    """A GAPS table of missing archive files."""
    return records_frame(
        "gaps", [{"collector": c, "start": s, "end": e, "reason": "missing_file"} for c, s, e in spans]
    )


def seconds(column: pd.Series) -> list[float]:
    return [float(x) for x in to_seconds(column)]


def intervals(timeline: pd.DataFrame, column: str = "site") -> list[tuple[float, float, str, object]]:
    """(start, end, state, column value) of every timeline row, in order."""
    values = [None if isinstance(v, float) else v for v in timeline[column]]
    return list(
        zip(seconds(timeline["start"]), seconds(timeline["end"]), timeline["state"], values, strict=True)
    )


def kinds(events: pd.DataFrame) -> list[tuple[float, str]]:
    return list(zip(seconds(events["time"]), events["kind"], strict=True))
