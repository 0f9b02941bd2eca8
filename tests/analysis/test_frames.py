"""Small tables without pandas' per-call cost (anystab.frames): the order of a stable sort and the groups
of rows must be pandas' own (missing values, categoricals with categories out of order or unobserved,
times with NaT, ties, one key or several, sorted or not, missing keys kept or dropped), and the per-VP
tables' canonical order the same frame as pandas' sort gives; the collector view's groups pandas' groups
in key order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from anystab import frames
from anystab.collectors import _groups as collector_groups
from anystab.frames import group_indices, group_numbers, shared_group_numbers, sorted_order
from anystab.per_vp import _ordered
from anystab.timeline import nullable

T0 = 1_700_000_000_000_000  # microseconds
KEYS = ["collector", "peer_asn", "path_id", "target", "start", "share"]

texts = st.one_of(st.none(), st.sampled_from(["rrc00", "rrc01", "route-views2", "", "rrc00 ", "é", "Z"]))
rows = st.lists(
    st.tuples(
        texts,
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(-2, 2)),
        st.sampled_from(["192.0.2.0/24", "2001:db8::/32", "198.51.100.0/24"]),
        st.one_of(st.none(), st.integers(0, 3)),
        st.one_of(st.none(), st.sampled_from([0.0, -0.0, 0.5, -1.0])),
        st.integers(0, 5),
    ),
    max_size=40,
)


def _frame(data: list[tuple[object, ...]], categorical: bool) -> pd.DataFrame:
    """A frame as the analysis tables hold them: text (pandas strings, or categoricals whose categories
    are out of sorted order and one of them unobserved), integers, integers with missing values (floats
    with NaN), times with NaT, floats, and a payload column to tell rows apart."""
    table = pa.table(
        {
            "collector": pa.array([r[0] for r in data], pa.string()),
            "peer_asn": pa.array([r[1] for r in data], pa.int64()),
            "path_id": pa.array([r[2] for r in data], pa.int64()),
            "target": pa.array([r[3] for r in data], pa.string()),
            "start": pa.array([None if r[4] is None else T0 + r[4] for r in data], pa.timestamp("us", "UTC")),
            "share": pa.array([r[5] for r in data], pa.float64()),
            "row": pa.array([r[6] for r in data], pa.int64()),
        }
    )
    df = table.to_pandas()
    if categorical:
        categories = [*sorted({r[0] for r in data if r[0] is not None}, reverse=True), "unseen"]
        df["collector"] = pd.Categorical(df["collector"], categories=categories)
    return df


def _same_groups(got: dict[object, np.ndarray], expected: dict[object, np.ndarray]) -> None:
    assert len(got) == len(expected)
    for (k1, v1), (k2, v2) in zip(got.items(), expected.items(), strict=True):
        assert repr(k1) == repr(k2)  # the same values of the same types (np.int64(1) is not 1)
        assert v1.dtype == v2.dtype
        np.testing.assert_array_equal(v1, v2)


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans(), st.permutations(KEYS))
def test_few_rows_are_ordered_as_pandas_sorts_them(data, categorical, keys):
    df = _frame(data, categorical)
    for k in range(1, len(keys) + 1):
        expected = df.sort_values(keys[:k], kind="stable").reset_index(drop=True)
        assert_frame_equal(_ordered(df, keys[:k]), expected)


@settings(max_examples=300, deadline=None)
@given(
    rows, st.booleans(), st.permutations(KEYS), st.integers(1, 3), st.booleans(), st.booleans(), st.booleans()
)
def test_few_rows_are_grouped_as_pandas_groups_them(data, categorical, keys, count, sort, dropna, alone):
    df = _frame(data, categorical)
    chosen: str | list[str] = keys[0] if alone else keys[:count]
    by_pandas = df.groupby(chosen, sort=sort, dropna=dropna)
    _same_groups(group_indices(df, chosen, sort, dropna), by_pandas.indices)
    expected = by_pandas.ngroup().to_numpy()
    got = group_numbers(df, chosen, sort, dropna)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=3), st.permutations(KEYS), st.integers(1, 4))
def test_rows_of_several_frames_are_numbered_as_pandas_numbers_them_joined(parts, keys, count):
    frames = [_frame(data, False) for data in parts]
    chosen = keys[:count]
    joined = pd.concat([f[chosen] for f in frames], ignore_index=True)
    expected = joined.groupby(chosen, sort=False, dropna=False).ngroup().to_numpy()
    got = shared_group_numbers(frames, chosen)
    assert [len(g) for g in got] == [len(f) for f in frames]
    np.testing.assert_array_equal(np.concatenate(got), expected)


def test_a_frame_in_order_is_handed_back_and_others_get_a_range_index():
    df = _frame(
        [("rrc00", 1, None, "192.0.2.0/24", 0, 0.0, 0), ("rrc01", 0, 1, "192.0.2.0/24", 1, 0.0, 1)], False
    )
    assert _ordered(df, ["collector"]) is df
    shifted = df.set_axis([5, 6])
    assert_frame_equal(_ordered(shifted, ["collector"]), df)
    assert_frame_equal(_ordered(df, ["peer_asn"]), df.iloc[::-1].reset_index(drop=True))


def test_values_python_cannot_compare_leave_the_work_to_pandas():
    df = pd.DataFrame({"key": pd.array([1, "a", 2.5], dtype=object), "row": [0, 1, 2]})
    assert sorted_order(df, ["key"]) is None
    assert _ordered(df, ["row"]) is df
    for sort in (False, True):
        _same_groups(group_indices(df, "key", sort=sort), df.groupby("key", sort=sort).indices)


def test_many_rows_go_to_pandas(monkeypatch):
    data = [
        (c, a, None, "192.0.2.0/24", t, 0.0, i)
        for i, (c, a, t) in enumerate([("rrc01", 1, 2), ("rrc00", 1, 1)])
    ]
    df = _frame(data, False)
    monkeypatch.setattr(frames, "FEW_ROWS", 1)
    assert sorted_order(df, ["collector"]) is None
    assert_frame_equal(_ordered(df, ["collector"]), df.iloc[::-1].reset_index(drop=True))
    _same_groups(group_indices(df, ["collector"], sort=True), df.groupby(["collector"], sort=True).indices)
    np.testing.assert_array_equal(group_numbers(df, "collector", sort=True), [1, 0])


@settings(max_examples=100, deadline=None)
@given(rows, st.booleans())
def test_nullable_lists_are_the_object_columns_with_none(data, categorical):
    df = _frame(data, categorical)
    for name in df.columns:
        column = df[name]
        expected = column.astype(object).where(column.notna(), None).tolist()
        got = nullable(column)
        assert repr(got) == repr(expected), name
        assert [type(v) for v in got] == [type(v) for v in expected], name


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans(), st.sampled_from(["collector", "target", ["collector", "target"]]))
def test_the_collector_views_groups_are_pandas_groups_in_key_order(data, categorical, keys):
    df = _frame(data, categorical)
    indices = df.groupby(keys, dropna=True, observed=True).indices if len(df) else {}
    expected = {k: indices[k] for k in sorted(indices)}
    _same_groups(collector_groups(df, keys), expected)
