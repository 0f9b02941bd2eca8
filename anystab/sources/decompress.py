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
   A bzip2 file of at least :data:`PARALLEL_BZIP2_MIN_BYTES` that is one stream of 900 kB blocks (as
   ``bzip2`` writes by default) is inflated by indexed-bzip2 on :func:`inflate_threads` threads instead
   (2 when this process reads alone; 1, that is ``bz2``, in a process or thread that shares the cores
   with other readers, where indexed-bzip2 is not installed, or with ``ANYSTAB_STDLIB_BZ2=1``); step 7.
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

7. indexed-bzip2 checks every block's CRC before handing out its bytes, so what it gives is what ``bz2``
   gives; it does not check a stream's CRC nor a block's size against the stream's declared one, where
   ``bz2`` stops, so files of several streams or of smaller blocks are left to ``bz2``, the last
   :data:`READ_SIZE` bytes are held back until the stream's CRC (from its blocks' CRCs) is checked, and
   ``bz2`` stays the inflater of record for everything else: if indexed-bzip2 fails (a corrupt block, a
   truncated stream), ends anywhere but at the file's last byte, or reaches output that might come near
   the bounds of step 6 (more than :data:`MAX_RATIO` times the compressed offset of the block it is in,
   plus :data:`PARALLEL_SLACK_BYTES` for the first blocks), the file is read again with ``bz2`` from its
   start, skipping the bytes already yielded: the problem, its offset and the bounds are those of
   ``bz2`` alone. (indexed-bzip2 inflates a few blocks ahead: a bomb's blocks of 45 MB each make that
   about 200 MB for a moment, a real file's about 1 MB each.)

8. gzip is read :data:`WHOLE_FEED` bytes at a time and each read is fed whole, from a copy of the
   inflater's state, whenever that surely gives what steps 2-6 give: no error, at most
   :data:`HOLD_BYTES` out of it (held until it is fed whole) and no bound of step 6 within reach. Anything
   else (damage, a bomb, data compressing more than 32 times) is fed again from the copy, and the rest of
   the file after it, :data:`FEED_SIZE` bytes at a time as in steps 2-6: the same pieces of input, so the
   same bytes, problems and offsets. (Each inflate call costs more than its bytes: zlib keeps the last
   32 KiB of its output in its window, and Python gathers the output in blocks it then joins. Fed 16 KiB
   at a time, the generated day's 289 files took 17% longer to inflate than fed whole.)

9. A gzip file of at least :data:`AHEAD_MIN_BYTES`, read by a process that may use two cores
   (:func:`reading_threads`), is inflated on a thread ahead of its reader, at most :data:`AHEAD_CHUNKS`
   chunks ahead: zlib-ng lets go of the interpreter lock while it inflates, as the compiled scan does
   while it walks a piece, so the two overlap. The thread runs steps 1-8 unchanged and hands over the
   same chunks in the same order; the reader sees the problem and the counts once the thread is done,
   and stopping early stops the thread. An error in the thread is raised in the reader. While the thread
   runs, the switch interval is :data:`AHEAD_SWITCH_SECONDS`, then as it was: after each inflate the
   thread waits for the interpreter lock, by default until the reader lets go of it or for 5 ms.
10. Files of less than :data:`AHEAD_MIN_BYTES` read one after another (:class:`StreamsAhead`: a group of
   files of one read, such as a day of five-minute update files), by a process that may use two cores,
   are inflated by one thread for them all, ahead of the reader, at most :data:`AHEAD_CHUNKS` chunks
   ahead. The reader reads the files whole for the thread, :data:`AHEAD_FILES` ahead, and the thread runs
   steps 1-8 over their bytes in memory, so that it lets go of the interpreter lock for little more than
   the inflate itself (every system call lets go of it, and taking it back waits for the reader's Python
   work: a thread that opened, read and peeked at each file itself gained half as much); the switch
   interval as in step 9. The same chunks, counts and problems, in the same order; an error is
   raised in the reader as it reaches that file.

Problems are recorded on the :class:`Stream` object, never raised: the caller decides what to report.
"""

from __future__ import annotations

import bz2
import contextlib
import importlib
import io
import itertools
import os
import queue
import re
import stat
import sys
import threading
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from anystab.errors import BadInputError
from anystab.sources.heap import keep_heap_top

zlib_ng: Any
try:
    from zlib_ng import zlib_ng
except ImportError:  # no wheel for this platform: Python's zlib
    zlib_ng = None
try:
    indexed_bzip2: Any = importlib.import_module("indexed_bzip2")
except ImportError:  # no wheel for this platform: Python's bz2
    indexed_bzip2 = None

READ_SIZE = 1 << 20
FEED_SIZE = 1 << 14
WHOLE_FEED = 1 << 17  # a multiple of FEED_SIZE: the reads stay on FEED_SIZE's grid (step 8)
HOLD_BYTES = 1 << 22  # what one read may inflate to and be held (MRT compresses 4-12 times, so 32 is plenty)
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
GZIP_WBITS = 31
MAX_RATIO = 100  # MRT archives compress 4-12 times; a gzip bomb about 1,000 times, bzip2 far more
BOMB_GRACE_BYTES = 64 << 20
MAX_DECOMPRESSED_BYTES = 64 << 30
STDLIB_ZLIB_ENV = "ANYSTAB_STDLIB_ZLIB"
STDLIB_BZ2_ENV = "ANYSTAB_STDLIB_BZ2"
ONE_THREAD_ENV = "ANYSTAB_ONE_THREAD"  # "1": every file read on one thread (no steps 7 and 9)
PARALLEL_BZIP2_MIN_BYTES = 4 << 20  # below this, starting indexed-bzip2's threads costs more than it gains
AHEAD_MIN_BYTES = 1 << 20  # step 9: below this a thread ahead gained nothing measured (0.4 MB update files)
AHEAD_CHUNKS = 16  # chunks (of at most READ_SIZE, about 0.5 MiB for MRT) the thread may hold ahead
AHEAD_FILES = 8  # step 10: small files read whole for the thread before their turn
AHEAD_SWITCH_SECONDS = 50e-6  # steps 9, 10: how long a thread waits for the lock before the other must let go
THREAD_NAME = "anystab-inflate"
AHEAD_POLL_SECONDS = 0.05  # how often the thread, waiting on a full queue, checks the reader still reads
MAX_INFLATE_THREADS = 2  # indexed-bzip2 keeps a few blocks (up to 45 MB each) per thread in memory
PARALLEL_SLACK_BYTES = 8 << 20  # the first blocks of a file, before the ratio to their start means much
BZIP2_END_MAGIC = 0x177245385090  # the 48 bits that start a bzip2 stream's end, before its 32-bit CRC
BZIP2_BLOCK_MAGIC = 0x314159265359  # the 48 bits that start a block, before its 32-bit CRC
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
    number of decompressed bytes produced when it was found. ``decompressed_bytes`` counts what was yielded,
    ``parallel_bytes`` the part of it that indexed-bzip2 inflated (step 7). Read them once the iteration
    has ended.
    """

    path: Path
    format: str = "plain"
    problem: str | None = None
    problem_offset: int | None = None
    decompressed_bytes: int = 0
    parallel_bytes: int = 0
    ahead: bool | None = None  # step 9: inflate on a thread ahead of the reader (None: when worth it)
    _started: bool = field(default=False, repr=False)
    _handed: Iterator[bytes] | None = field(default=None, repr=False)  # step 10: from a group's thread

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise RuntimeError("a Stream can be iterated once")
        self._started = True
        keep_heap_top()
        if self._handed is not None:
            yield from self._handed
            return
        ahead = _ahead_worth_it(self.path) if self.ahead is None else self.ahead
        yield from _inflated_ahead(self._chunks()) if ahead else self._chunks()

    def _chunks(self, whole: bytes | None = None) -> Generator[bytes, None, None]:
        """Steps 1-8 over the file, or over ``whole``, its bytes already read (step 10)."""
        with _open(self.path) if whole is None else io.BytesIO(whole) as fh:
            self.format = detect_format(fh.read(4))
            fh.seek(0)
            chunks = _plain(fh) if self.format == "plain" else self._decompress(fh, whole is None)
            for chunk in chunks:
                if chunk:
                    self.decompressed_bytes += len(chunk)
                    yield chunk

    def _decompress(self, fh: BinaryIO, on_disk: bool = True) -> Iterator[bytes]:
        threads = inflate_threads() if self.format == "bzip2" and on_disk else 1  # (in memory: small)
        worth_it = threads > 1 and _parallel_worth_it(fh)
        fh.seek(0)
        if worth_it:
            yielded = yield from self._bzip2_parallel(fh, threads)
            if yielded is None:
                return
            fh.seek(0)
            yield from self._serial(fh, skip=yielded)
            return
        if self.format == "gzip":
            yield from self._gunzip(fh)
            return
        yield from self._serial(fh)

    def _gunzip(self, fh: BinaryIO) -> Iterator[bytes]:
        """Step 8: gzip fed :data:`WHOLE_FEED` bytes at a time while that surely changes nothing, else as
        :meth:`_serial` feeds it from there on."""
        dec = _Decompressor("gzip")
        pending = b""
        while True:
            data = pending or fh.read(WHOLE_FEED)
            pending = b""
            if not data:
                break
            start = fh.tell() - len(data)  # the file offset of data's first byte
            saved = dec.copy()
            held = _fed_whole(dec, data)
            out = self.decompressed_bytes + sum(map(len, held or ()))
            if held is None or not _surely_within_bounds(out, start):
                first = min(len(data), FEED_SIZE - start % FEED_SIZE)  # up to FEED_SIZE's next multiple
                again = _Reread(fh, data[first:], start + first)
                yield from self._serial(again, dec=saved, pending=data[:first], out=self.decompressed_bytes)
                return
            yield from held
            if dec.eof:
                pending = dec.unused_data
                dec = _Decompressor("gzip")
                if not pending and not _more(fh):
                    return
        yield dec.flush()
        self._fail("truncated gzip stream")

    def _serial(
        self,
        fh: BinaryIO | _Reread,
        skip: int = 0,
        dec: _Decompressor | None = None,
        pending: bytes = b"",
        out: int = 0,
    ) -> Iterator[bytes]:
        """Steps 2-6, yielding only what comes after the first ``skip`` decompressed bytes; from ``dec``
        with ``pending`` to feed first and ``out`` bytes decompressed before, when given (step 8)."""
        dec = _Decompressor(self.format) if dec is None else dec
        while True:
            data = pending or fh.read(FEED_SIZE)
            pending = b""
            if not data:
                break
            try:
                for piece in dec.feed(data):
                    out += len(piece)
                    if out > skip:
                        yield piece[len(piece) - (out - skip) :] if out - len(piece) < skip else piece
                    if self._over_limit(out, fh.tell()):
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

    def _bzip2_parallel(self, fh: BinaryIO, threads: int) -> Generator[bytes, None, int | None]:
        """Step 7: yield what indexed-bzip2 inflates while ``bz2`` would surely give the same; return
        ``None`` when the file ended cleanly, else how many bytes were yielded (``bz2`` goes on)."""
        size = os.fstat(fh.fileno()).st_size
        out = 0  # bytes read from indexed-bzip2
        held: deque[bytes] = deque()  # at least the last READ_SIZE of them, until the stream's CRC is checked
        try:
            raw = indexed_bzip2.IndexedBzip2FileRaw(str(self.path), parallelization=threads)
        except Exception:  # any failure of the faster inflater leaves the file to bz2
            return 0
        reader = raw.bz2reader
        try:
            while True:
                block_start = reader.tell_compressed() // 8  # of the block holding the next byte
                buf = bytearray(READ_SIZE)
                n = reader.readinto(buf)
                if not n:
                    break
                if not _surely_within_bounds(out + n, block_start):
                    return out - sum(map(len, held))
                out += n
                held.append(bytes(memoryview(buf)[:n]))
                while out - len(held[0]) - self.parallel_bytes >= READ_SIZE:
                    self.parallel_bytes += len(held[0])
                    yield held.popleft()
            clean = reader.block_offsets_complete() and _one_whole_stream(
                fh, reader.block_offsets(), size, out
            )
        except Exception:  # corrupt or truncated: bz2 decides what the problem is and where
            return out - sum(map(len, held))
        finally:
            raw.close()
        if not clean:
            return out - sum(map(len, held))
        while held:
            self.parallel_bytes += len(held[0])
            yield held.popleft()
        return None

    def _over_limit(self, out: int, compressed: int) -> bool:
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

    def __init__(self, fmt: str, dec: Any = None) -> None:
        self._gzip = fmt == "gzip"
        if dec is None:
            dec = INFLATE.decompressobj(GZIP_WBITS) if self._gzip else bz2.BZ2Decompressor()
        self._dec: Any = dec

    def copy(self) -> _Decompressor:
        """A gzip decompressor in this one's state."""
        return _Decompressor("gzip", self._dec.copy())

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


def _fed_whole(dec: _Decompressor, data: bytes) -> list[bytes] | None:
    """What ``data`` decompresses to (step 8), or ``None`` when that fails or exceeds :data:`HOLD_BYTES`."""
    held: list[bytes] = []
    total = 0
    try:
        for piece in dec.feed(data):
            held.append(piece)
            total += len(piece)
            if total > HOLD_BYTES:
                return None
    except _CORRUPT:
        return None
    return held


class _Reread:
    """The file read again from an offset (step 8): ``head``, bytes of it already read from ``start`` on,
    then the file itself; read, tell and seek as on the file, for :meth:`Stream._serial`."""

    def __init__(self, fh: BinaryIO, head: bytes, start: int) -> None:
        self._fh, self._head, self._start, self._at = fh, head, start, 0

    def read(self, size: int) -> bytes:
        if self._at < len(self._head):
            out = self._head[self._at : self._at + size]
            self._at += len(out)
            return out
        return self._fh.read(size)

    def tell(self) -> int:
        return self._start + self._at if self._at < len(self._head) else self._fh.tell()

    def seek(self, offset: int) -> None:
        if offset < self._start + len(self._head):
            self._at = offset - self._start
            self._fh.seek(self._start + len(self._head))
        else:
            self._at = len(self._head)
            self._fh.seek(offset)


def inflate_threads() -> int:
    """Threads for inflating one bzip2 file (step 7): :func:`reading_threads`; 1 (Python's ``bz2``) when
    indexed-bzip2 is not installed, or with ``ANYSTAB_STDLIB_BZ2=1``."""
    if indexed_bzip2 is None or os.environ.get(STDLIB_BZ2_ENV) == "1":
        return 1
    return reading_threads()


def reading_threads() -> int:
    """Threads one file's read may use: :data:`MAX_INFLATE_THREADS` (at most the cores this process may
    use, shared with its live worker processes) in the main thread of a process that is not itself a
    worker; 1 elsewhere, and with ``ANYSTAB_ONE_THREAD=1``."""
    if os.environ.get(ONE_THREAD_ENV) == "1":
        return 1
    if threading.current_thread() is not threading.main_thread():
        return 1  # a pool of readers (a download check, a Dask worker's thread)
    readers = 1
    mp = sys.modules.get("multiprocessing")  # not imported: this process has no worker processes
    if mp is not None:
        if mp.parent_process() is not None:
            return 1  # a worker of a parallel read: its siblings use the other cores
        readers += len(mp.active_children())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_INFLATE_THREADS, cores // readers))


def _parallel_worth_it(fh: BinaryIO) -> bool:
    """Whether the file is large enough for indexed-bzip2 and is one bzip2 stream of 900 kB blocks: it
    starts ``BZh9``, its last bytes end a stream (the end marker, the stream's CRC and 0-7 padding bits),
    and the end marker's bits occur nowhere else. (A cut or trailing file, another block size, or several
    streams go to ``bz2`` at once: ``bz2`` stops at a stream whose blocks exceed its declared size or
    whose CRC is wrong, and indexed-bzip2 does not.)"""
    size = os.fstat(fh.fileno()).st_size
    if size < PARALLEL_BZIP2_MIN_BYTES or fh.read(4) != b"BZh9":
        return False
    pad = _end_padding(fh, size)
    fh.seek(0)
    if pad is None:
        return False
    end_bit = 8 * size - pad - 80
    return all(8 * (start - (1 if shift else 0)) + shift == end_bit for start, shift in _end_markers(fh))


def _end_markers(fh: BinaryIO) -> Iterator[tuple[int, int]]:
    """(byte offset, bit shift) of every end marker's whole bytes in the file, read a piece at a time (a
    map of the whole file would count every page of it in the process's peak memory)."""
    keep = max(map(len, _END_MARKER_PATTERNS)) - 1  # a marker starting here may end in the next piece
    base, data = 0, b""
    while piece := fh.read(READ_SIZE):
        data = data[-keep:] + piece if data else piece
        last = len(data) - keep  # markers starting at or after it are found with the next piece
        for found in _END_MARKERS.finditer(data):
            if found.start() < last:
                yield base + found.start(), _END_MARKER_PATTERNS.index(found.group())
        base += max(last, 0)
    for found in _END_MARKERS.finditer(data[-keep:] if len(data) > keep else data):
        yield base + found.start(), _END_MARKER_PATTERNS.index(found.group())


# the bytes that an end marker's 48 bits fill whole when they start 0, 1, ..., 7 bits into a byte
_END_MARKER_PATTERNS = [
    (BZIP2_END_MAGIC << (8 - shift)).to_bytes(7, "big")[(1 if shift else 0) : 6] for shift in range(8)
]
_END_MARKERS = re.compile(b"|".join(re.escape(p) for p in _END_MARKER_PATTERNS))


def _end_padding(fh: BinaryIO, size: int) -> int | None:
    """How many padding bits follow the end marker and CRC that end the file, or ``None`` if none do."""
    fh.seek(max(0, size - 11))
    tail = int.from_bytes(fh.read(11), "big")
    return next((pad for pad in range(8) if (tail >> (32 + pad)) & ((1 << 48) - 1) == BZIP2_END_MAGIC), None)


def _bits(fh: BinaryIO, bit: int, count: int) -> int:
    """``count`` bits of the file from bit offset ``bit``."""
    fh.seek(bit // 8)
    length = (bit % 8 + count + 7) // 8
    value = int.from_bytes(fh.read(length), "big")
    return (value >> (8 * length - bit % 8 - count)) & ((1 << count) - 1)


def _one_whole_stream(fh: BinaryIO, offsets: dict[int, int], size: int, out: int) -> bool:
    """Whether indexed-bzip2's index (bit offset: decompressed offset of each block, of the end marker,
    and of the file's end) is blocks, one end marker and the file's last bit, with ``out`` bytes, and the
    stream's CRC is that of its blocks' CRCs (which indexed-bzip2 checked against their data)."""
    entries = sorted(offsets.items())
    if len(entries) < 2 or entries[-1] != (8 * size, out) or _bits(fh, entries[-2][0], 48) != BZIP2_END_MAGIC:
        return False
    combined = 0
    for bit, _ in entries[:-2]:
        if _bits(fh, bit, 48) != BZIP2_BLOCK_MAGIC:
            return False
        combined = (((combined << 1) | (combined >> 31)) & 0xFFFFFFFF) ^ _bits(fh, bit + 48, 32)
    return combined == _bits(fh, entries[-2][0] + 48, 32)


def _surely_within_bounds(out: int, block_start: int) -> bool:
    """Whether ``out`` decompressed bytes, the last of them in a block that starts ``block_start``
    compressed bytes into the file, stay inside step 6's bounds whatever ``bz2`` had read by then (at
    least up to that block's start); and, so that indexed-bzip2 does not inflate a bomb's huge blocks
    ahead for long, whether they are within :data:`MAX_RATIO` times that start and a few blocks."""
    ratio = MAX_RATIO * block_start
    return (
        out <= ratio + PARALLEL_SLACK_BYTES
        and (out <= BOMB_GRACE_BYTES or out <= ratio)
        and (out <= MAX_DECOMPRESSED_BYTES)
    )


def _ahead_worth_it(path: Path) -> bool:
    """Step 9: whether the file is gzip of at least :data:`AHEAD_MIN_BYTES` and this process may use two
    cores for it."""
    try:
        if os.stat(path).st_size < AHEAD_MIN_BYTES:
            return False  # (most files: one system call)
        with open(path, "rb") as fh:
            if fh.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
                return False
    except OSError:
        return False  # reported as the stream opens the file
    return reading_threads() > 1


@dataclass
class _Raised:
    """An error of the inflating thread, on its way to the reader."""

    error: BaseException


_END = object()


class _Ahead:
    """A thread that produces chunks, at most :data:`AHEAD_CHUNKS` ahead of the reader (steps 9 and 10):
    ``produce`` is called on it with ``hand``, which puts a chunk, :data:`_END` (a file's end) or a
    :class:`_Raised` (a file's error, also its end) in the queue and returns whether the reader still
    reads. ``ends``: how many files the reader has taken to their end."""

    def __init__(self, produce: Callable[[Callable[[object], bool]], None]) -> None:
        self._ready: queue.Queue[object] = queue.Queue(AHEAD_CHUNKS)
        self._stop = threading.Event()
        self.ends = 0
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, AHEAD_SWITCH_SECONDS))
        self._thread = threading.Thread(target=self._run, args=(produce,), name=THREAD_NAME, daemon=True)
        self._thread.start()

    def _hand(self, item: object) -> bool:
        """Put ``item`` in the queue, unless the reader stops first (it then takes nothing more, and a
        full queue would never make room); whether it was put."""
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._ready.put(item, timeout=AHEAD_POLL_SECONDS)
                return True
        return False

    def _run(self, produce: Callable[[Callable[[object], bool]], None]) -> None:
        try:
            produce(self._hand)
        except BaseException as exc:  # handed to the reader, which raises it
            self._hand(_Raised(exc))

    def chunks(self) -> Iterator[bytes]:
        """The chunks up to the next end (one file's); an error of the thread is raised here."""
        while (item := self._next_item()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]  # a chunk: the queue holds chunks, _END and _Raised

    def skip_to(self, ends: int) -> None:
        """Take and drop what is left of the files before the ``ends``-th (their errors with them)."""
        while self.ends < ends:
            self._next_item()

    def _next_item(self) -> object:
        """The next item of the queue (counting the ends); once the thread is gone and the queue empty, an
        error (never a wait for ever)."""
        while True:
            with contextlib.suppress(queue.Empty):
                item = self._ready.get(timeout=AHEAD_POLL_SECONDS)
                if item is _END or isinstance(item, _Raised):
                    self.ends += 1
                return item
            if not self._thread.is_alive() and self._ready.empty():
                raise RuntimeError("the inflating thread stopped before the end of its files")

    def close(self) -> None:
        """Stop the thread, wherever it is, and wait for it; the switch interval as it was."""
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._interval)


def _inflated_ahead(chunks: Generator[bytes, None, None]) -> Iterator[bytes]:
    """``chunks``, produced on a thread at most :data:`AHEAD_CHUNKS` ahead of the caller (step 9)."""

    def produce(hand: Callable[[object], bool]) -> None:
        try:
            for chunk in chunks:
                if not hand(chunk):
                    return
            hand(_END)
        finally:
            chunks.close()  # the file, whatever stopped the thread

    ahead = _Ahead(produce)
    try:
        yield from ahead.chunks()
    finally:
        ahead.close()


class StreamsAhead:
    """Step 10: the streams of ``paths``, opened in that order by :meth:`open`; a context manager, and
    leaving it stops the thread. Files that step 10 does not take are opened as by :func:`open_stream`."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self._names = [os.fspath(p) for p in paths]
        keep_heap_top()
        small = [i for i, p in enumerate(self._names) if _small(p)] if reading_threads() > 1 else []
        self._taken = {i: Stream(Path(self._names[i])) for i in small} if len(small) > 1 else {}
        self._turn = {index: turn for turn, index in enumerate(self._taken)}  # the thread's order
        self._next = 0  # the paths before it were opened or passed over
        self._wholes: queue.SimpleQueue[object] = queue.SimpleQueue()  # the files' bytes, for the thread
        self._unread = iter(list(self._taken.values()))  # taken files not yet read for the thread
        self._read = 0  # taken files read for the thread
        self._ahead = None
        if self._taken:
            self._read_for_thread(AHEAD_FILES)
            self._ahead = _Ahead(self._produce)

    def __enter__(self) -> StreamsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ahead is not None:
            self._wholes.put(_END)  # the thread may be waiting for a file's bytes
            self._ahead.close()

    def _read_for_thread(self, upto: int) -> None:
        """Read the taken files before the ``upto``-th whole, for the thread, those not read yet (the
        reader's system calls let go of the interpreter lock, and the thread, which would wait to take it
        back after each, makes none). A file that cannot be read is checked as :func:`open_stream` checks
        it, for the same error."""
        for stream in itertools.islice(self._unread, max(0, upto - self._read)):
            self._read += 1
            try:
                with open(stream.path, "rb") as fh:
                    self._wholes.put(fh.read())
            except OSError:
                try:
                    open_stream(stream.path)
                    with _open(stream.path) as fh:  # raises, unless the file came back meanwhile
                        self._wholes.put(fh.read())
                except Exception as exc:  # raised as the file is read, as it would have been
                    self._wholes.put(_Raised(exc))

    def _produce(self, hand: Callable[[object], bool]) -> None:
        """Each taken file's chunks, then its end or its error (the thread goes on to the next file)."""
        for stream in self._taken.values():
            whole = self._wholes.get()
            if whole is _END:
                return
            try:
                if isinstance(whole, _Raised):
                    raise whole.error
                assert isinstance(whole, bytes)
                for chunk in stream._chunks(whole):
                    if not hand(chunk):
                        return
            except Exception as exc:  # raised in the reader as it reads this file, as it would have been
                if not hand(_Raised(exc)):
                    return
                continue
            if not hand(_END):
                return

    def open(self, path: str | os.PathLike[str]) -> Stream:
        """:func:`open_stream` of ``path``, the next file of the paths with that path: its chunks from the
        thread when step 10 took it (its checks made as it was read for the thread, see
        :meth:`_read_for_thread`). What is left of the taken files before it, opened or passed over, is
        dropped."""
        name = os.fspath(path)
        at = next((i for i in range(self._next, len(self._names)) if self._names[i] == name), None)
        if at is None or self._ahead is None:
            return open_stream(path)
        self._next = at + 1
        if at not in self._taken:
            return open_stream(path)
        turn = self._turn[at]
        self._read_for_thread(turn + 1 + AHEAD_FILES)
        self._ahead.skip_to(turn)
        taken = self._taken[at]
        taken._handed = self._ahead.chunks()
        return taken


def _small(path: str) -> bool:
    """Whether step 10 takes the file: a regular file of less than :data:`AHEAD_MIN_BYTES` (anything else,
    such as a pipe or a file that cannot be looked at, is left to the reader, which reports it)."""
    try:
        found = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_size < AHEAD_MIN_BYTES


def _more(fh: BinaryIO | _Reread) -> bool:
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
