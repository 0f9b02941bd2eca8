"""The elements DataFrame that select_elements builds equals the plain conversion of the files' tables.

The frame shares one communities array per distinct value, keeps the few-valued string columns as
categoricals (sorted categories) and copies rows only when some are left out or reordered (the files'
tables joined into one chunk first when they average few rows); the reference here is
``Table.to_pandas`` with the filter and sort as pandas does them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from anystab.elements import CODED, select_elements
from anystab.schemas import ELEMENTS
from anystab.sources import FileResult, SourceFile, mrt

T0 = 1_700_000_000.0
COMMUNITIES = [None, [], ["64500:1"], ["64500:1", "64500:2"], [""], ["64500:1"], [], ["a\x1fb"]]
# coded columns whose values first appear out of their sorted order, one of them with missing values
PEER_IPS = ["198.51.100.9", "10.0.0.1", "2001:db8::1", "198.51.100.10", "é"]
ORIGINS = ["INCOMPLETE", None, "IGP", "EGP"]


def _result(path: str, kind: str, times: list[float], comms: list[list[str] | None]) -> FileResult:
    rows = []
    for i, (t, c) in enumerate(zip(times, comms, strict=True)):
        row = dict.fromkeys(ELEMENTS.names)
        row.update(
            time=pd.Timestamp(t, unit="s", tz="UTC"),
            elem_type="R" if kind == "rib" else "A",
            collector="rrc00",
            peer_asn=64500 + i % 3,
            peer_ip=PEER_IPS[i % len(PEER_IPS)],
            prefix="192.0.2.0/24",
            as_path="64500 64496",
            bgp_origin=ORIGINS[i % len(ORIGINS)],
            communities=c,
            source=path,
        )
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=ELEMENTS)
    return FileResult(path, "rrc00", kind, len(rows), table, first_time=min(times), last_time=max(times))


def _reference(results: list[FileResult], floor: float) -> pd.DataFrame:
    parts = [r for r in sorted(results, key=lambda r: r.path) if r.elements.num_rows]
    df = pa.concat_tables([r.elements for r in parts]).to_pandas()
    counts = [r.elements.num_rows for r in parts]
    rank = np.repeat([0 if r.kind == "rib" else 1 for r in parts], counts)
    low = np.repeat([-np.inf if r.kind == "rib" else floor for r in parts], counts)
    keep = df["time"].map(lambda t: t.timestamp()).to_numpy() >= low
    df = df.assign(_rank=rank)[keep]
    return df.sort_values(["time", "_rank"], kind="stable").drop(columns="_rank").reset_index(drop=True)


def _lists(frame: pd.DataFrame) -> list[list[str] | None]:
    return [None if c is None else list(c) for c in frame["communities"]]


def _check(results: list[FileResult], floor: float, window: tuple[float, float]) -> pd.DataFrame:
    files = [SourceFile(r.path, r.collector) for r in results]
    got, expected = select_elements(files, results, window), _reference(results, floor)
    for name in CODED:
        categories = got[name].cat.categories.tolist()
        assert categories == sorted(categories)
    plain = got.assign(**{name: got[name].astype("str") for name in CODED})
    pd.testing.assert_frame_equal(plain.drop(columns="communities"), expected.drop(columns="communities"))
    assert list(got.columns) == list(expected.columns)
    assert got["communities"].dtype == expected["communities"].dtype
    assert _lists(got) == _lists(expected)
    return got


def test_updates_in_order_share_communities() -> None:
    comms = [c for c in COMMUNITIES if c != ["a\x1fb"]]
    times = [T0 + i for i in range(len(comms))]
    got = _check([_result("u1.gz", "updates", times, comms)], -np.inf, (T0, T0 + 100))
    same = [i for i, c in enumerate(comms) if c == ["64500:1"]]
    assert got["communities"][same[0]] is got["communities"][same[1]]  # one array for equal values
    assert got["communities"][0] is None and list(got["communities"][1]) == []


@pytest.mark.parametrize("small", [0, mrt.FEW_ROWS_PER_FILE])  # files' tables kept as chunks or joined
def test_rib_first_at_equal_times_and_late_updates_dropped(
    small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mrt, "FEW_ROWS_PER_FILE", small)
    rib = _result("bview.gz", "rib", [T0 + 5] * 3, [["64500:1"], [], None])
    early = _result("u0.gz", "updates", [T0 + 1, T0 + 5, T0 + 9], [[""], ["64500:1"], []])
    late = _result("u1.gz", "updates", [T0 + 7, T0 + 5, T0 + 6], [[], ["64500:2"], None])
    _check([rib, late, early], T0 + 5, (T0 + 5, T0 + 100))


def test_separator_inside_a_community_converts_plainly() -> None:
    times = [T0 + 3 - i % 4 for i in range(len(COMMUNITIES))]
    _check([_result("u.gz", "updates", times, COMMUNITIES)], -np.inf, (T0, T0 + 100))
