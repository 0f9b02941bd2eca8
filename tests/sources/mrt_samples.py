"""Helpers for the sources tests: the shared MRT files, their bgpdump reference output, sampled targets."""

from __future__ import annotations

import functools
import gzip
import ipaddress
import random
from pathlib import Path

from anystab.sources import FileResult, read_mrt_file
from anystab.targets import TargetSet, make_target, prefix_key, target_set

MRT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mrt"
REFERENCE_DIR = MRT_DIR / "bgpdump-m"
MRT_FILES = sorted(p.name for p in MRT_DIR.iterdir() if p.is_file())
ANYCAST_PREFIXES = (
    "8.8.8.0/24",
    "208.67.222.0/24",
    "199.7.83.0/24",
    "199.7.91.0/24",
    "202.12.27.0/24",
    "2001:500:6::/48",
    "2001:500:e::/48",
)
SAMPLE_SIZE = 20
SEED = 20240521


@functools.cache
def reference_lines(name: str) -> tuple[str, ...]:
    """bgpdump -m lines of a shared file, without the record-type field."""
    with gzip.open(REFERENCE_DIR / f"{name}.txt.gz", "rt") as fh:
        return tuple(line.rstrip("\n").split("|", 1)[1] for line in fh)


def reference_prefix(line: str) -> str | None:
    fields = line.split("|")
    return None if fields[1] == "STATE" else fields[4]


@functools.cache
def reference_prefixes(name: str) -> tuple[str | None, ...]:
    """The prefix of each reference line (``None`` for state changes)."""
    return tuple(map(reference_prefix, reference_lines(name)))


@functools.cache
def distinct_prefixes(name: str) -> dict[str, tuple[int, int, int]]:
    """Each distinct prefix of the reference, sorted, with its ``(version, masked network, length)``."""
    return {p: prefix_key(p) for p in sorted({p for p in reference_prefixes(name) if p})}


def filtered_reference(name: str, targets: TargetSet) -> list[str]:
    """The reference lines whose prefix ``targets`` keeps (state changes always): decode, then filter."""
    keep = {p for p, key in distinct_prefixes(name).items() if targets.matches_key(*key)}
    lines = reference_lines(name)
    return [line for line, p in zip(lines, reference_prefixes(name), strict=True) if p is None or p in keep]


def sampled_targets(name: str, seed: int = SEED, mode: str = "any") -> TargetSet:
    """The anycast prefixes plus SAMPLE_SIZE prefixes drawn (seeded) from the file's reference output."""
    usable = [p for p, key in distinct_prefixes(name).items() if key[2] >= 8]
    picked = random.Random(seed).sample(usable, min(SAMPLE_SIZE, len(usable)))
    prefixes = list(ANYCAST_PREFIXES) + [str(ipaddress.ip_network(p, strict=False)) for p in picked]
    return target_set([make_target(p) for p in prefixes], mode)  # type: ignore[arg-type]


@functools.cache
def read_everything(name: str) -> FileResult:
    """A shared file decoded without the pre-filter (cached: the large files take seconds)."""
    return read_mrt_file(MRT_DIR / name, None, "test")


def assert_same_results(expected: list[FileResult], got: list[FileResult]) -> None:
    """``got`` equals ``expected`` file by file, in order: every field of each result, and its elements."""
    assert [r.path for r in got] == [r.path for r in expected]
    for a, b in zip(expected, got, strict=True):
        assert {k: v for k, v in vars(a).items() if k != "elements"} == {
            k: v for k, v in vars(b).items() if k != "elements"
        }
        assert a.elements.equals(b.elements)
