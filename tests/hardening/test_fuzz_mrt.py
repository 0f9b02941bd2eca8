"""Fuzzing the MRT reader (decompression, pre-filter, slimming, decoding) with hostile bytes.

Properties, for every case: ``read_mrt_file`` returns (no uncaught exception) within the case bound;
every problem names the file and an offset inside the decompressed stream; and every element of the
records before the first damaged byte is still read, in order, exactly as from the undamaged records.
"""

from __future__ import annotations

import bz2
import gzip
import struct
import tempfile
from pathlib import Path

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import bounded, fuzz
from support.mrt_corpus import MRT_FILES, records, targets

from anystab.sources import FileResult, read_mrt_file
from anystab.sources.prefilter import MAX_RECORD_LEN

READER = "mrt"
OPS = ("flip", "truncate", "splice", "length", "huge_length", "zero_length")


def _read(folder: Path, data: bytes, name: str | None, suffix: str = "", label: str = "case") -> FileResult:
    path = folder / f"{label}.mrt{suffix}"
    if suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    elif suffix == ".bz2":
        data = bz2.compress(data)
    path.write_bytes(data)
    if label != "case":  # a reference read of clean records, not a fuzz case
        return read_mrt_file(path, targets(name) if name else None, "fuzz")
    with bounded(READER):
        result = read_mrt_file(path, targets(name) if name else None, "fuzz")
    _check_problems(path, result)
    return result


def _check_problems(path: Path, result: FileResult) -> None:
    for problem in result.problems:
        assert problem.path == str(path)
        assert problem.offset is not None and 0 <= problem.offset <= result.decompressed_bytes, problem
        assert problem.reason and problem.count >= 1


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return table.drop_columns(["source"]).to_pylist()


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, list[bytes], int, bytes, str]:
    """(file, its clean records, index of the first damaged record, damaged bytes, operation)."""
    name = draw(st.sampled_from(MRT_FILES))
    recs = list(records(name)[: draw(st.integers(1, 40))])
    starts = [0]
    for r in recs:
        starts.append(starts[-1] + len(r))
    data = bytearray(b"".join(recs))
    op = draw(st.sampled_from(OPS))
    if op in ("length", "huge_length", "zero_length"):
        k = draw(st.integers(0, len(recs) - 1))
        value = {"length": draw(st.integers(0, 1 << 16)), "huge_length": draw(st.integers(MAX_RECORD_LEN + 1,
                 (1 << 32) - 1)), "zero_length": 0}[op]  # fmt: skip
        data[starts[k] + 8 : starts[k] + 12] = struct.pack(">I", value)
        return name, recs, k, bytes(data), op
    at = draw(st.integers(0, len(data) - 1))
    if op == "flip":
        for pos in [at] + draw(st.lists(st.integers(at, len(data) - 1), max_size=6)):
            data[pos] ^= draw(st.integers(1, 255))
    elif op == "truncate":
        del data[at:]
    else:  # splice: bytes of another file's records inserted at ``at``
        other = b"".join(records(draw(st.sampled_from(MRT_FILES)))[:10])
        a = draw(st.integers(0, len(other) - 1))
        data[at:at] = other[a : a + draw(st.integers(1, 600))]
    k = max(i for i, s in enumerate(starts[:-1]) if s <= at)
    return name, recs, k, bytes(data), op


@fuzz(300)
@given(case=damaged(), filtered=st.booleans(), suffix=st.sampled_from(("", "", ".gz", ".bz2")))
def test_damaged_real_records_keep_what_came_before(
    case: tuple[str, list[bytes], int, bytes, str], filtered: bool, suffix: str
) -> None:
    name, recs, k, data, op = case
    with tempfile.TemporaryDirectory(prefix="anystab-fuzz-") as tmp:
        result = _read(Path(tmp), data, name if filtered else None, suffix)
        before = _read(Path(tmp), b"".join(recs[:k]), name if filtered else None, label="clean")
    expected = _rows(before.elements)
    assert _rows(result.elements)[: len(expected)] == expected
    start_k = sum(len(r) for r in recs[:k])
    if op == "huge_length" and k > 0:
        assert any(p.offset == start_k and "implausible" in p.reason for p in result.problems)
    if op == "truncate" and len(data) > start_k and k > 0:
        assert any(p.offset == start_k and p.reason.startswith("torn") for p in result.problems)


@fuzz(200)
@given(
    head=st.sampled_from(
        (b"", bytes.fromhex("5e0000000010000400000000"), bytes.fromhex("5e000000000d000100"))
    ),
    body=st.binary(max_size=3000),
    suffix=st.sampled_from(("", ".gz", ".bz2")),
    name=st.none() | st.sampled_from(MRT_FILES),
)
def test_random_bytes_are_reported_not_raised(
    head: bytes, body: bytes, suffix: str, name: str | None
) -> None:
    with tempfile.TemporaryDirectory(prefix="anystab-fuzz-") as tmp:
        result = _read(Path(tmp), head + body, name, suffix)
    assert result.kind in ("rib", "updates", "empty", "unknown")


@fuzz(150)
@given(
    name=st.sampled_from(MRT_FILES),
    count=st.integers(1, 40),
    suffix=st.sampled_from((".gz", ".bz2")),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=3),
)
def test_damaged_compression_gives_a_prefix_of_the_records(
    name: str, count: int, suffix: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    clean = b"".join(records(name)[:count])
    packed = bytearray(gzip.compress(clean, mtime=0) if suffix == ".gz" else bz2.compress(clean))
    for where, bits in flips:
        packed[int(where * (len(packed) - 1))] ^= bits
    del packed[max(1, int(cut * len(packed))) :]
    with tempfile.TemporaryDirectory(prefix="anystab-fuzz-") as tmp:
        path = Path(tmp) / f"case{suffix}"
        path.write_bytes(bytes(packed))
        with bounded(READER):
            result = read_mrt_file(path, None, "fuzz")
        _check_problems(path, result)
        full = _read(Path(tmp), clean, None, label="clean")
    if len(packed) > 2 and not flips:
        rows = _rows(result.elements)
        assert rows == _rows(full.elements)[: len(rows)]
        if cut < 1.0:
            assert any(p.reason.startswith("truncated") for p in result.problems)
