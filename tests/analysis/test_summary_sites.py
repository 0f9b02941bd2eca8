"""The summary's site shares (every (scope, target, site) at once, ordered by arrays) against one group at a
time and Python's sort."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from anystab.summary import RecordFrame, records, site_shares

_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["all", "aaa", "Z", "rrc00", "\u00e9"]),
        st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "9.0.0.0/8"]),
        st.sampled_from(["ams", "sin", "None", "Ams"]),
        st.integers(0, 5),
        st.integers(0, 3),
        st.sampled_from([0.0, 0.5, 1.0, 1 / 3, 0.25, float("nan")]),
    ),
    min_size=1,
    max_size=25,
)


def _one_group_at_a_time(df: pd.DataFrame) -> list[dict]:
    out = []
    seconds = (df["end"] - df["start"]).dt.total_seconds()
    for scope, target, site in sorted(set(zip(df["scope"], df["target"], df["site"], strict=True))):
        pair = (df["scope"] == scope) & (df["target"] == target)
        spans = df[pair].drop_duplicates(["start", "end"])
        total = sum((spans["end"] - spans["start"]).dt.total_seconds().tolist())
        rows = pair & (df["site"] == site)
        if total > 0:
            value = sum(s * d for s, d in zip(df["share"][rows], seconds[rows], strict=True)) / total
        else:
            value = sum(df["share"][rows].tolist()) / len(spans)
        out.append(
            {"scope": scope, "target": target, "site": site, "share": value if math.isfinite(value) else None}
        )
    return sorted(out, key=lambda r: (r["scope"] != "all", r["scope"], r["target"], -(r["share"] or 0)))


@settings(max_examples=150, deadline=None)
@given(_ROWS)
def test_site_shares_are_those_of_one_group_at_a_time_in_pythons_order(rows) -> None:
    """Shares weighted by time (by instants for a snapshot), not-a-number as None, ``all`` first, then
    scope, target and share (largest first), ties in (scope, target, site) order; as records or a frame."""
    scope, target, site, start, length, share = (list(c) for c in zip(*rows, strict=True))
    start_s = pd.to_datetime(start, unit="s", utc=True).as_unit("us")
    df = pd.DataFrame(
        {
            "scope": pd.array(scope, dtype="str"),
            "target": pd.array(target, dtype="str"),
            "start": start_s,
            "end": start_s + pd.to_timedelta(length, unit="s"),
            "site": pd.array(site, dtype="str"),
            "vps": [1] * len(rows),
            "share": share,
        }
    )
    expected = _one_group_at_a_time(df)
    assert site_shares(df) == expected
    framed = site_shares(df, RecordFrame)
    assert isinstance(framed, RecordFrame) and records(framed.frame) == expected
