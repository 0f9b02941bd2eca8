"""Fuzzing the bounded decompression: any data, split in any gzip members or bzip2 streams, comes out
whole and in order with no problem, also when pieces end exactly on the :data:`READ_SIZE` boundary, and
any cut of the compressed bytes gives a prefix of the data with a problem."""

from __future__ import annotations

import bz2
import gzip
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import bounded, fuzz

from anystab.sources import open_stream
from anystab.sources.decompress import BZIP2_MAGIC, GZIP_MAGIC, READ_SIZE

READER = "decompress"
MAGIC = {".gz": GZIP_MAGIC, ".bz2": BZIP2_MAGIC}
_SIZES = st.sampled_from((0, 1, READ_SIZE - 1, READ_SIZE, READ_SIZE + 1, 2 * READ_SIZE)) | st.integers(
    0, 5000
)


@st.composite
def members(draw: st.DrawFn) -> list[bytes]:
    """Data for each member: zeros (compresses far), random bytes, or a repeated pattern."""
    out = []
    for size in draw(st.lists(_SIZES, min_size=1, max_size=3)):
        kind = draw(st.sampled_from(("zeros", "random", "pattern")))
        if kind == "zeros":
            out.append(bytes(size))
        elif kind == "random":
            out.append(draw(st.binary(min_size=min(size, 2000), max_size=min(size, 2000))))
        else:
            out.append((draw(st.binary(min_size=1, max_size=7)) * size)[:size])
    return out


def _stream(packed: bytes, suffix: str) -> tuple[bytes, str | None]:
    with tempfile.TemporaryDirectory(prefix="anystab-fuzz-") as tmp:
        path = Path(tmp) / f"case{suffix}"
        path.write_bytes(packed)
        with bounded(READER):
            stream = open_stream(path)
            data = b"".join(stream)
    assert stream.decompressed_bytes == len(data)
    return data, stream.problem


@fuzz(60)
@given(parts=members(), suffix=st.sampled_from((".gz", ".bz2")), cut=st.none() | st.floats(0, 1))
def test_members_come_out_whole_or_as_a_reported_prefix(
    parts: list[bytes], suffix: str, cut: float | None
) -> None:
    compress = (lambda b: gzip.compress(b, mtime=0)) if suffix == ".gz" else bz2.compress
    packed_parts = [compress(p) for p in parts]
    packed = b"".join(packed_parts)
    whole = b"".join(parts)
    boundaries = {sum(len(p) for p in packed_parts[:i]) for i in range(len(parts) + 1)}
    if cut is None:
        assert _stream(packed, suffix) == (whole, None)
        return
    data, problem = _stream(packed[: int(cut * len(packed))], suffix)
    if int(cut * len(packed)) < len(MAGIC[suffix]):
        return  # too short to be told compressed: read as plain bytes
    assert whole.startswith(data)
    if int(cut * len(packed)) not in boundaries:  # a cut between members leaves whole members
        assert problem is not None and problem.startswith(("truncated", "corrupt"))
