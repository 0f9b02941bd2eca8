"""Builders for hand-made element tables and analysis parameters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from anystab.params import AnalysisParams, SiteMap
from anystab.schemas import ELEMENTS
from anystab.targets import make_target, target_set

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
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


@pytest.fixture
def site_map() -> SiteMap:
    return SiteMap(names={"64501 64511": "AMS"}, communities={"64511:100": "FRA", "64511:200": "LHR"})
