"""Stream the bytes of an MRT file, whatever its compression, in bounded chunks.

Steps:

1. Read the first bytes and tell the format by magic bytes (not by file name): gzip ``1f 8b``, bzip2
   ``42 5a 68`` ("BZh"), anything else is read as plain bytes.
2. Read compressed files in :data:`FEED_SIZE` pieces (small, so that corruption loses little) and feed
   them to a gzip decompressor (:data:`INFLATE`: zlib-ng's through python-zlib-ng, the same bytes and
   the same behaviour on damaged streams as zlib's in two thirds of the time; Python's zlib where
   zlib-ng is not installed, or with ``ANYSTAB_STDLIB_ZLIB=1``) or ``bz2.BZ2Decompressor``, yielding
   what comes out; plain files in :data:`READ_SIZE` pieces. (ISA-L's inflate is faster still, but
   holds back the last byte of a truncated stream, which may end a whole record.)
3. When a gzip member or bzip2 stream ends and bytes remain (``unused_data``), start a new decompressor on
   them: both formats allow several members/streams in one file.
4. When the file ends before the end marker of the current member, everything that was decompressed has
   already been yielded; record the problem "truncated gzip stream" / "truncated bzip2 stream".
5. Corrupt compressed data: record the problem with the offset reached and stop.
6. Bounds (a "decompression bomb" must neither fill memory nor run for hours): every call to a
   decompressor returns at most :data:`READ_SIZE` bytes (the rest of its input is fed again, with no new
   input, until it needs more), and once more than :data:`BOMB_GRACE_BYTES` came out, a file whose
   decompressed size exceeds :data:`MAX_RATIO` times the compressed bytes read so far, or
   :data:`MAX_DECOMPRESSED_BYTES` in all, stops with the problem "decompressed size over the limit".

Problems are recorded on the :class:`Stream` object, never raised: the caller decides what to report.
"""

from __future__ import annotations

import bz2
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from anystab.errors import BadInputError

zlib_ng: Any
try:
    from zlib_ng import zlib_ng
except ImportError:  # no wheel for this platform: Python's zlib
    zlib_ng = None

READ_SIZE = 1 << 20
FEED_SIZE = 1 << 14
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
GZIP_WBITS = 31
MAX_RATIO = 100  # MRT archives compress 4-12 times; a gzip bomb about 1,000 times, bzip2 far more
BOMB_GRACE_BYTES = 64 << 20
MAX_DECOMPRESSED_BYTES = 64 << 30
STDLIB_ZLIB_ENV = "ANYSTAB_STDLIB_ZLIB"
INFLATE: Any = zlib if zlib_ng is None or os.environ.get(STDLIB_ZLIB_ENV) == "1" else zlib_ng
_CORRUPT = (zlib.error, OSError, EOFError) + (() if zlib_ng is None else (zlib_ng.error,))


def detect_format(head: bytes) -> str:
    """``"gzip"``, ``"bzip2"`` or ``"plain"`` from a file's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    return "plain"


@dataclass
class Stream:
    """The decompressed bytes of one file, as an iterator of chunks; problems are collected on the way.

    ``problem`` is ``None`` or a reason such as ``"truncated gzip stream"``; ``problem_offset`` is the
    number of decompressed bytes produced when it was found. ``decompressed_bytes`` counts what was yielded.
    """

    path: Path
    format: str = "plain"
    problem: str | None = None
    problem_offset: int | None = None
    decompressed_bytes: int = 0
    _started: bool = field(default=False, repr=False)

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError("a Stream can be iterated once")
        self._started = True
        with _open(self.path) as fh:
            self.format = detect_format(fh.read(4))
            fh.seek(0)
            chunks = _plain(fh) if self.format == "plain" else self._decompress(fh)
            for chunk in chunks:
                if chunk:
                    self.decompressed_bytes += len(chunk)
                    yield chunk

    def _decompress(self, fh: BinaryIO) -> Iterator[bytes]:
        dec = _Decompressor(self.format)
        pending = b""
        while True:
            data = pending or fh.read(FEED_SIZE)
            pending = b""
            if not data:
                break
            try:
                for piece in dec.feed(data):
                    yield piece
                    if self._over_limit(fh.tell()):
                        return
            except _CORRUPT as exc:
                self._fail(f"corrupt {self.format} data ({exc})")
                return
            if dec.eof:
                pending = dec.unused_data
                dec = _Decompressor(self.format)
                if not pending and not _more(fh):
                    return
        yield dec.flush()
        self._fail(f"truncated {self.format} stream")

    def _over_limit(self, compressed: int) -> bool:
        out = self.decompressed_bytes
        if out <= BOMB_GRACE_BYTES or (out <= MAX_RATIO * compressed and out <= MAX_DECOMPRESSED_BYTES):
            return False
        self._fail(
            f"decompressed size over the limit ({out} bytes from {compressed} compressed; at most "
            f"{MAX_RATIO} times, {MAX_DECOMPRESSED_BYTES} bytes); rest skipped"
        )
        return True

    def _fail(self, reason: str) -> None:
        self.problem = reason
        self.problem_offset = self.decompressed_bytes


class _Decompressor:
    """One gzip member or bzip2 stream, decompressed in pieces of at most :data:`READ_SIZE` bytes."""

    def __init__(self, fmt: str) -> None:
        self._gzip = fmt == "gzip"
        self._dec: Any = INFLATE.decompressobj(GZIP_WBITS) if self._gzip else bz2.BZ2Decompressor()

    @property
    def eof(self) -> bool:
        return bool(self._dec.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._dec.unused_data)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """What ``data`` decompresses to, in bounded pieces (step 6)."""
        if self._gzip:  # a full piece may leave output pending in the inflater even when all input was taken
            while not self._dec.eof:
                piece = self._dec.decompress(data, READ_SIZE)
                yield piece
                data = self._dec.unconsumed_tail
                if not data and len(piece) < READ_SIZE:
                    return
            return
        yield self._dec.decompress(data, READ_SIZE)
        while not self._dec.eof and not self._dec.needs_input:
            yield self._dec.decompress(b"", READ_SIZE)

    def flush(self) -> bytes:
        return bytes(self._dec.flush()) if self._gzip else b""


def _more(fh: BinaryIO) -> bool:
    """Whether unread bytes remain in the file (peek without losing them)."""
    pos = fh.tell()
    more = bool(fh.read(1))
    fh.seek(pos)
    return more


def _plain(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(READ_SIZE):
        yield chunk


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def open_stream(path: str | os.PathLike[str]) -> Stream:
    """A :class:`Stream` over the file; raises :class:`BadInputError` if it does not exist or is a folder."""
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"no such file: {p}")
    if not os.access(p, os.R_OK):
        raise BadInputError(f"cannot read {p}: permission denied")
    return Stream(p)
