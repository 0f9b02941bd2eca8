"""Real MRT records to damage: the first records of every real MRT file (tests/data/mrt)."""

from __future__ import annotations

import bz2
import functools
import gzip
import struct

from anystab.targets import TargetSet
from support.mrt_data import MRT_DIR, MRT_FILES

__all__ = ["MRT_FILES"]
RECORDS_PER_FILE = 80


def split_records(data: bytes, limit: int | None = None) -> list[bytes]:
    """Whole MRT records of ``data`` by their header lengths (stops at the first that does not fit)."""
    out, pos = [], 0
    while pos + 12 <= len(data) and (limit is None or len(out) < limit):
        end = pos + 12 + struct.unpack_from(">I", data, pos + 8)[0]
        if end > len(data):
            break
        out.append(data[pos:end])
        pos = end
    return out


@functools.cache
def records(name: str) -> tuple[bytes, ...]:
    """The first :data:`RECORDS_PER_FILE` records of a real file."""
    raw = (MRT_DIR / name).read_bytes()
    data = bz2.decompress(raw) if name.endswith(".bz2") else gzip.decompress(raw)
    return tuple(split_records(data, RECORDS_PER_FILE))


@functools.cache
def targets(name: str) -> TargetSet:
    """The anycast prefixes plus prefixes sampled from the file (as the sources tests choose them)."""
    from support.mrt_samples import sampled_targets

    return sampled_targets(name)
