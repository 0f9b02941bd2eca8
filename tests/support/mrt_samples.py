"""Helpers for the sources tests: the real MRT files, their bgpdump reference output, sampled targets."""

from __future__ import annotations

import functools
import ipaddress
import random

from anystab.sources import FileResult, read_mrt_file
from anystab.targets import TargetSet, make_target, prefix_key, target_set
from support.mrt_data import ANYCAST_PREFIXES, MRT_DIR, MRT_FILES, line_prefix, reference

__all__ = ["ANYCAST_PREFIXES", "MRT_DIR", "MRT_FILES"]
SAMPLE_SIZE = 20
SEED = 20240521


@functools.cache
def reference_lines(name: str) -> tuple[str, ...]:
    """The committed bgpdump -m lines of a file (whole, or its sample), without the record-type field."""
    return tuple(line.split("|", 1)[1] for line in reference(name).lines)


def reference_prefix(line: str) -> str | None:
    fields = line.split("|")
    return None if fields[1] == "STATE" else fields[4]


@functools.cache
def reference_keys(name: str) -> dict[str, tuple[int, int, int]]:
    """Each distinct prefix of the committed reference with its ``(version, masked network, length)``."""
    return {p: prefix_key(p) for p in {line_prefix(line) for line in reference(name).lines} if p}


def filtered_reference(name: str, targets: TargetSet) -> list[str]:
    """The reference lines whose prefix ``targets`` keeps (state changes always): decode, then filter.

    ``targets`` must come from :func:`sampled_targets` (or be anycast prefixes): for the larger files only
    the lines such targets can keep are committed.
    """
    keys = reference_keys(name)
    keep = {p for p, key in keys.items() if targets.matches_key(*key)}
    lines = reference_lines(name)
    return [line for line in lines if (p := reference_prefix(line)) is None or p in keep]


def sampled_targets(name: str, seed: int = SEED, mode: str = "any") -> TargetSet:
    """The anycast prefixes plus SAMPLE_SIZE prefixes drawn (seeded) from the file's reference pool."""
    pool = reference(name).pool
    picked = random.Random(seed).sample(pool, min(SAMPLE_SIZE, len(pool)))
    prefixes = list(ANYCAST_PREFIXES) + [str(ipaddress.ip_network(p, strict=False)) for p in picked]
    return target_set([make_target(p) for p in prefixes], mode)  # type: ignore[arg-type]


@functools.cache
def read_everything(name: str) -> FileResult:
    """A file decoded without the pre-filter (cached: the large files take seconds)."""
    return read_mrt_file(MRT_DIR / name, None, "test")


def assert_same_results(expected: list[FileResult], got: list[FileResult]) -> None:
    """``got`` equals ``expected`` file by file, in order: every field of each result, and its elements."""
    assert [r.path for r in got] == [r.path for r in expected]
    for a, b in zip(expected, got, strict=True):
        assert {k: v for k, v in vars(a).items() if k != "elements"} == {
            k: v for k, v in vars(b).items() if k != "elements"
        }
        assert a.elements.equals(b.elements)
