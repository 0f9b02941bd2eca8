"""The per-VP tables' canonical order: a few rows are ordered by a Python sort of their keys, which must
give the rows and order of pandas' stable sort (missing values last, categoricals by their codes, times
with NaT, ties in their own order) and the same frame as before."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from anystab import per_vp
from anystab.per_vp import _ordered, few_rows_order

T0 = 1_700_000_000_000_000  # microseconds

texts = st.one_of(st.none(), st.sampled_from(["rrc00", "rrc01", "route-views2", "", "rrc00 ", "é", "Z"]))
rows = st.lists(
    st.tuples(
        texts,
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(-2, 2)),
        st.sampled_from(["192.0.2.0/24", "2001:db8::/32", "198.51.100.0/24"]),
        st.one_of(st.none(), st.integers(0, 3)),
        st.integers(0, 5),
    ),
    max_size=40,
)


def _frame(data: list[tuple[object, ...]], categorical: bool) -> pd.DataFrame:
    """A frame as the per-VP tables hold them: text (pandas strings or categoricals, categories not in
    sorted order), integers, floats with NaN, times with NaT, and a payload column to tell rows apart."""
    table = pa.table(
        {
            "collector": pa.array([r[0] for r in data], pa.string()),
            "peer_asn": pa.array([r[1] for r in data], pa.int64()),
            "path_id": pa.array([r[2] for r in data], pa.int64()),
            "target": pa.array([r[3] for r in data], pa.string()),
            "start": pa.array([None if r[4] is None else T0 + r[4] for r in data], pa.timestamp("us", "UTC")),
            "row": pa.array([r[5] for r in data], pa.int64()),
        }
    )
    df = table.to_pandas()
    if categorical:
        categories = sorted({r[0] for r in data if r[0] is not None}, reverse=True)
        df["collector"] = pd.Categorical(df["collector"], categories=categories)
    return df


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans(), st.permutations(["collector", "peer_asn", "path_id", "target", "start"]))
def test_few_rows_are_ordered_as_pandas_sorts_them(data, categorical, keys):
    df = _frame(data, categorical)
    for k in range(1, len(keys) + 1):
        expected = df.sort_values(keys[:k], kind="stable").reset_index(drop=True)
        assert_frame_equal(_ordered(df, keys[:k]), expected)


def test_a_frame_in_order_is_handed_back_and_others_get_a_range_index():
    df = _frame([("rrc00", 1, None, "192.0.2.0/24", 0, 0), ("rrc01", 0, 1, "192.0.2.0/24", 1, 1)], False)
    assert _ordered(df, ["collector"]) is df
    shifted = df.set_axis([5, 6])
    assert_frame_equal(_ordered(shifted, ["collector"]), df)
    assert_frame_equal(_ordered(df, ["peer_asn"]), df.iloc[::-1].reset_index(drop=True))


def test_values_python_cannot_compare_leave_the_sort_to_pandas():
    df = pd.DataFrame({"key": pd.array([1, "a", 2.5], dtype=object), "row": [0, 1, 2]})
    assert few_rows_order(df, ["key"]) is None
    assert _ordered(df, ["row"]) is df


def test_many_rows_are_sorted_by_pandas(monkeypatch):
    data = [
        (c, a, None, "192.0.2.0/24", t, i) for i, (c, a, t) in enumerate([("rrc01", 1, 2), ("rrc00", 1, 1)])
    ]
    df = _frame(data, False)
    monkeypatch.setattr(per_vp, "FEW_ROWS", 1)
    assert_frame_equal(_ordered(df, ["collector"]), df.iloc[::-1].reset_index(drop=True))
