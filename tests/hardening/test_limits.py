"""Resource bounds: memory stays bounded for hostile MRT input, and each limit gives a clear problem.

Each case is read in a fresh interpreter (:func:`support.hostile_mrt.read_in_child`) whose peak resident
memory (``VmHWM``) must stay under :data:`PEAK_MIB` (docs/reliability.md). The numbers are memory bounds,
not timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hostile_mrt import ENTRIES_PER_RECORD, TARGET, addpath_rib, bomb, huge_length, read_in_child

from anystab.sources.decompress import BOMB_GRACE_BYTES, MAX_RATIO, PARALLEL_BZIP2_MIN_BYTES
from anystab.sources.mrt import MAX_PATHS_PER_PREFIX, MAX_RIB_ENTRIES, PATHS_CUT, RIB_CUT

PEAK_MIB = 512
CORPUS = Path(__file__).resolve().parent / "corpus" / "mrt"


def test_a_record_declaring_4_gib_stops_the_file_with_a_problem(tmp_path: Path) -> None:
    path = huge_length(tmp_path / "huge.mrt")
    seen = read_in_child(path, None)
    assert seen["peak_mib"] < PEAK_MIB
    assert seen["rows"] == 3 and seen["records"] == 3
    offset = path.stat().st_size - 12 - 64  # the bad header and the 64 bytes after it end the file
    assert [offset, "implausible MRT record length; rest skipped", 1] in seen["problems"]


def test_a_first_record_declaring_4_gib_is_not_mrt(tmp_path: Path) -> None:
    seen = read_in_child(huge_length(tmp_path / "huge.mrt", good_records=0), [TARGET])
    assert seen["rows"] == 0 and [0, "not an MRT file", 1] in seen["problems"]


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "bzip2-streams"])
def test_a_decompression_bomb_is_cut_at_the_limit(tmp_path: Path, kind: str) -> None:
    # bzip2: the corpus's 785-byte file of 1 GiB (compressing one takes seconds); gzip: 256 MiB in 256 KiB;
    # bzip2-streams: that file 6,000 times (6 TiB in 4.7 MB, past the size where indexed-bzip2 may start)
    path = bomb(tmp_path / "bomb.gz", kind, mib=256) if kind == "gzip" else CORPUS / "bzip2-bomb-1gib.bz2"
    if kind == "bzip2-streams":
        path = tmp_path / "bomb.bz2"
        path.write_bytes((CORPUS / "bzip2-bomb-1gib.bz2").read_bytes() * 6000)
        assert path.stat().st_size >= PARALLEL_BZIP2_MIN_BYTES
    seen = read_in_child(path, None)
    assert seen["peak_mib"] < PEAK_MIB
    over = [p for p in seen["problems"] if str(p[1]).startswith("decompressed size over the limit")]
    assert len(over) == 1
    assert BOMB_GRACE_BYTES < int(over[0][0]) <= BOMB_GRACE_BYTES + (1 << 21)
    assert f"at most {MAX_RATIO} times" in str(over[0][1])


def test_millions_of_addpath_routes_for_one_prefix(tmp_path: Path) -> None:
    routes = 1_000_000
    seen = read_in_child(addpath_rib(tmp_path / "rib.mrt", routes), [TARGET])
    assert seen["peak_mib"] < PEAK_MIB
    assert seen["rows"] == MAX_PATHS_PER_PREFIX
    sizes = [min(ENTRIES_PER_RECORD, routes - first) for first in range(0, routes, ENTRIES_PER_RECORD)]
    cut = sum(int(p[2]) for p in seen["problems"] if p[1] == RIB_CUT)
    assert cut == sum(max(0, n - MAX_RIB_ENTRIES) for n in sizes)
    dropped = [int(p[2]) for p in seen["problems"] if p[1] == PATHS_CUT]
    assert dropped == [sum(min(n, MAX_RIB_ENTRIES) for n in sizes) - MAX_PATHS_PER_PREFIX]


def test_routes_under_the_bounds_are_all_kept(tmp_path: Path) -> None:
    seen = read_in_child(addpath_rib(tmp_path / "rib.mrt", MAX_PATHS_PER_PREFIX), [TARGET])
    assert seen["rows"] == MAX_PATHS_PER_PREFIX and seen["problems"] == []
