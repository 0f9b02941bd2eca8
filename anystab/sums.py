"""Sums of numbers per group, bit for bit the sums of each group taken alone: Python's ``sum`` (one value
after the other) and numpy's (pairwise), for many groups at once."""

from __future__ import annotations

import numpy as np


def sequential_sums(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Per group, the sum of its values added one after the other in order, as Python's ``sum`` adds them
    (``values`` ordered by group); 0 for an empty group."""
    counts = np.bincount(group, minlength=groups)
    place = np.arange(len(values)) - (np.cumsum(counts) - counts)[group]
    order = np.argsort(place, kind="stable")
    bounds = np.cumsum(np.bincount(place, minlength=1))
    out = np.zeros(groups)
    at = 0
    for stop in bounds.tolist():
        rows = order[at:stop]
        out[group[rows]] += values[rows]
        at = stop
    return out


def group_sums(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Per group, ``float(np.array(its values in order).sum())``: groups of one size summed together (each
    row of a stack reduced as alone), a group of one value that value."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=groups)
    first = np.cumsum(counts) - counts
    ordered = values[order]
    out = np.zeros(groups)
    for n in np.unique(counts):
        if n == 0:
            continue
        rows = np.flatnonzero(counts == n)
        stack = ordered[first[rows][:, None] + np.arange(n)]
        out[rows] = stack[:, 0] if n == 1 else stack.sum(axis=1)
    return out
