"""Small tables without pandas' per-call cost: the row order of a stable sort and the groups of rows, for
tables of few rows.

A pandas sort or group-by costs about a millisecond whatever the table's size, which a day's analysis of
a few targets (tables of tens to a few thousand rows) pays a dozen times. Up to :data:`FEW_ROWS` rows,
the functions here give pandas' answer from a Python pass over the key columns; larger tables, and keys
Python cannot compare, go to pandas itself. The answers are pandas' own, as ``tests/analysis/test_frames.py``
checks: stable sorts with missing values last, categoricals ordered by their codes, groups in order of
first appearance (or sorted), missing keys a group of their own or dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

FEW_ROWS = 4096

_MISSING = object()  # a missing key value, as a group key's part


def to_frame(table: pa.Table, **options: bool) -> pd.DataFrame:
    """``table.to_pandas(**options)``, on this thread for a table of few rows: the first conversion on
    Arrow's threads in a process costs a few milliseconds more than such a table's conversion."""
    return table.to_pandas(use_threads=table.num_rows > FEW_ROWS, **options)


def sorted_order(df: pd.DataFrame, keys: list[str]) -> list[int] | None:
    """The row order of ``df.sort_values(keys, kind="stable")`` by a stable Python sort of each row's
    keys: missing values last, categoricals by their codes (as pandas sorts them), times by their
    integer values. None for more than :data:`FEW_ROWS` rows, or when Python cannot compare a column's
    values (mixed types): sort with pandas then."""
    if len(df) > FEW_ROWS:
        return None
    columns = [_sort_keys(df[k]) for k in keys]
    rows = list(zip(*columns, strict=True))
    try:
        return sorted(range(len(rows)), key=rows.__getitem__)
    except TypeError:
        return None


def _sort_keys(column: pd.Series) -> list[Any]:
    """A column's values as Python sorts them in :func:`sorted_order`."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values: list[Any] = column.cat.codes.tolist()
    elif column.dtype.kind == "M":
        values = column.array.asi8.tolist()
    else:
        values = column.tolist()
    missing = column.isna().to_numpy()
    if not missing.any():
        return values
    return [(1, 0) if m else (0, v) for v, m in zip(values, missing.tolist(), strict=True)]


def group_indices(
    df: pd.DataFrame, keys: str | list[str], sort: bool = False, dropna: bool = True
) -> dict[Any, np.ndarray]:
    """``df.groupby(keys, sort=sort, dropna=dropna).indices``: each group's key (a tuple for several
    columns, the value for one; a missing value NaN) and its row numbers, groups in pandas' order."""
    found = _groups(df, keys, sort, dropna)
    if found is None:
        indices: dict[Any, np.ndarray] = df.groupby(keys, sort=sort, dropna=dropna).indices
        return indices
    return {key: np.array(rows, dtype=np.intp) for key, rows in found}


def group_numbers(
    df: pd.DataFrame, keys: str | list[str], sort: bool = False, dropna: bool = True
) -> np.ndarray:
    """``df.groupby(keys, sort=sort, dropna=dropna).ngroup().to_numpy()``: each row's group number (int64,
    or float64 with NaN for the rows of a dropped missing key)."""
    found = _groups(df, keys, sort, dropna)
    if found is None:
        numbers: np.ndarray = df.groupby(keys, sort=sort, dropna=dropna).ngroup().to_numpy()
        return numbers
    out = np.full(len(df), -1, dtype=np.int64)
    for number, (_, rows) in enumerate(found):
        out[rows] = number
    if (out < 0).any():
        return np.where(out < 0, math.nan, out.astype(float))
    return out


def shared_group_numbers(frames: Sequence[pd.DataFrame], keys: list[str]) -> list[np.ndarray]:
    """Per frame, each row's group number among the rows of all the frames one after the other, missing
    values a group of their own: ``pd.concat([f[keys] for f in frames]).groupby(keys, sort=False,
    dropna=False).ngroup()`` cut into the frames' parts."""
    bounds = np.cumsum([0, *(len(f) for f in frames)])
    columns = [f[k] for f in frames for k in keys]
    plain = not any(c.dtype == object or isinstance(c.dtype, pd.CategoricalDtype) for c in columns)
    if not plain or not 0 < bounds[-1] <= FEW_ROWS:
        joined = pd.concat([f[keys] for f in frames], ignore_index=True)
        numbers = joined.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        return [numbers[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    seen: dict[tuple[Any, ...], int] = {}
    out = []
    for frame in frames:
        rows = zip(*(_with_missing(frame[k])[0] for k in keys), strict=True)
        out.append(np.array([seen.setdefault(row, len(seen)) for row in rows], dtype=np.int64))
    return out


def _with_missing(column: pd.Series) -> tuple[list[Any], np.ndarray]:
    """A column's values with :data:`_MISSING` for each missing one (all missing values alike), and
    which are missing."""
    values: list[Any] = column.tolist()
    missing = column.isna().to_numpy()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = _MISSING
    return values, missing


def _groups(
    df: pd.DataFrame, keys: str | list[str], sort: bool, dropna: bool
) -> list[tuple[Any, list[int]]] | None:
    """Each group's key and row numbers, in pandas' group order; None: leave it to pandas (more than
    :data:`FEW_ROWS` rows, no rows, a column of Python objects, keys Python cannot sort, or missing
    values of a categorical kept as a group)."""
    if not len(df) or len(df) > FEW_ROWS:
        return None
    names = [keys] if isinstance(keys, str) else list(keys)
    columns = [df[k] for k in names]
    if any(c.dtype == object for c in columns):  # Python objects: pandas' own rules of equality
        return None
    values, missing = (list(part) for part in zip(*(_with_missing(c) for c in columns), strict=True))
    if not dropna and any(
        m.any() and isinstance(c.dtype, pd.CategoricalDtype) for c, m in zip(columns, missing, strict=True)
    ):
        return None  # pandas has its own rules for a categorical's missing values as a group
    for k, v in enumerate(values):
        if columns[k].dtype.kind == "f":  # 0.0 and -0.0: one value, the one that comes first
            first: dict[Any, Any] = {}
            values[k] = [first.setdefault(x, x) for x in v]
    groups: dict[tuple[Any, ...], list[int]] = {}
    if dropna and any(m.any() for m in missing):
        dropped = np.logical_or.reduce(missing).tolist()
        for i, row in enumerate(zip(*values, strict=True)):
            if not dropped[i]:
                groups.setdefault(row, []).append(i)
    else:
        for i, row in enumerate(zip(*values, strict=True)):
            groups.setdefault(row, []).append(i)
    found = list(groups.items())
    if sort:
        ranks = [_sort_keys(c) for c in columns]
        try:
            found.sort(key=lambda g: tuple(r[g[1][0]] for r in ranks))
        except TypeError:
            return None
    if len(names) > 1:  # a tuple of Python values, NaN for a missing one
        return [(tuple(math.nan if v is _MISSING else v for v in row), rows) for row, rows in found]
    scalars = columns[0].to_numpy()  # one column: the value as numpy holds it (np.int64 for an integer)
    return [(math.nan if row[0] is _MISSING else scalars[rows[0]], rows) for row, rows in found]
