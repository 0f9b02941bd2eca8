"""zlib-ng's inflate gives what Python's zlib gives: the same bytes, and on a damaged stream the same
problem at the same offset (a truncated stream still yields every byte before the cut)."""

from __future__ import annotations

import ast
import bz2
import gzip
import hashlib
import random
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR

from anystab.errors import BadInputError
from anystab.sources import decompress

GZIP_FILES = sorted(p.name for p in MRT_DIR.glob("*.gz"))
VARIANTS = 4


def _stream(path: Path, inflate: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    monkeypatch.setattr(decompress, "INFLATE", inflate)
    stream = decompress.open_stream(path)
    digest = hashlib.sha256()
    for chunk in stream:
        digest.update(chunk)
    return digest.hexdigest(), stream.decompressed_bytes, stream.problem, stream.problem_offset


def _damaged(raw: bytes, rng: random.Random) -> list[bytes]:
    """The file whole, cut at random points, and with random bytes overwritten."""
    out = [raw]
    for _ in range(VARIANTS):
        out.append(raw[: rng.randrange(11, len(raw))])
        start, size = rng.randrange(11, len(raw)), rng.choice((1, 8, 64))
        out.append(raw[:start] + rng.randbytes(size) + raw[start + size :])
    return out


@pytest.mark.parametrize("name", GZIP_FILES)
def test_zlib_ng_reads_as_zlib_does(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(name)
    problems = set()
    for i, data in enumerate(_damaged((MRT_DIR / name).read_bytes(), rng)):
        path = tmp_path / f"{i}.gz"
        path.write_bytes(data)
        ours = _stream(path, decompress.zlib_ng, monkeypatch)
        assert ours == _stream(path, zlib, monkeypatch), f"variant {i} of {name}"
        problems.add(str(ours[2]).split(" (")[0])
    assert "None" in problems and "truncated gzip stream" in problems


def _inflate_in_child(env: dict[str, str], code: str = "") -> str:
    run = f"{code}import anystab.sources.decompress as d; print(d.INFLATE.__name__)"
    out = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_inflate_chosen_by_install_and_env() -> None:
    """zlib-ng when installed; Python's zlib with ANYSTAB_STDLIB_ZLIB=1 or when zlib-ng cannot be
    imported."""
    base = {"PATH": "/usr/bin:/bin"}
    assert _inflate_in_child(base) == "zlib_ng.zlib_ng"
    assert _inflate_in_child({**base, decompress.STDLIB_ZLIB_ENV: "1"}) == "zlib"
    assert _inflate_in_child(base, "import sys; sys.modules['zlib_ng'] = None; ") == "zlib"


BZIP2_FILES = sorted(p.name for p in MRT_DIR.glob("*.bz2"))
GENERATED_FROM = ("ris.bview.20020722.2337.gz", "ris.updates.20160811.1600.gz")


def _bzip2_stream(
    path: Path, threads: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[str, int, str | None, int | None], int]:
    """What anystab reads from ``path`` with indexed-bzip2 on ``threads`` threads (at any file size) or,
    with 1, Python's bz2 alone; and how many of the bytes indexed-bzip2 gave."""
    monkeypatch.setattr(decompress, "PARALLEL_BZIP2_MIN_BYTES", 0)
    monkeypatch.setattr(decompress, "inflate_threads", lambda: threads)
    stream = decompress.open_stream(path)
    digest = hashlib.sha256()
    for chunk in stream:
        digest.update(chunk)
    result = (digest.hexdigest(), stream.decompressed_bytes, stream.problem, stream.problem_offset)
    return result, stream.parallel_bytes


def _bzip2_damaged(raw: bytes, rng: random.Random) -> list[bytes]:
    """The file whole, cut and overwritten at random (:func:`_damaged`), with bytes after its end, with
    the start of another stream after it, with one bit of its first block's CRC or of the stream's CRC
    flipped, declaring 800 kB blocks, and followed by itself after a cut or after bytes that are not bzip2
    (the last bytes still end a stream)."""
    crc_bit = 8 * 4 + 48 + rng.randrange(32)  # "BZh9", the block's 48-bit magic, then its CRC
    flipped = bytearray(raw)
    flipped[crc_bit // 8] ^= 0x80 >> (crc_bit % 8)
    stream_crc = bytearray(raw)
    stream_crc[-2] ^= 0x10  # the stream's CRC ends 0-7 bits before the file does
    cut = raw[: rng.randrange(11, len(raw))]
    return [
        *_damaged(raw, rng),
        raw + b"\n<html>",
        raw + raw[:4],
        raw + raw[:100],
        bytes(flipped),
        bytes(stream_crc),
        b"BZh8" + raw[4:],
        cut + raw,
        raw + b"\n<html>" + raw,
    ]


def _compare_bzip2(
    raw: bytes, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> set[str]:
    """Both inflaters on every variant; indexed-bzip2 prints nothing (it would for bytes after a stream's
    end, but such files are left to bz2)."""
    rng = random.Random(name)
    problems = set()
    for i, data in enumerate(_bzip2_damaged(raw, rng)):
        path = tmp_path / f"{i}.bz2"
        path.write_bytes(data)
        ours, parallel = _bzip2_stream(path, 2, monkeypatch)
        assert ours == _bzip2_stream(path, 1, monkeypatch)[0], f"variant {i} of {name}"
        if i == 0:
            assert parallel == ours[1] > 0, "indexed-bzip2 inflated the whole file"
        assert capfd.readouterr().err == "", f"variant {i} of {name}: indexed-bzip2 printed"
        problems.add(str(ours[2]).split(" (")[0])
    return problems


@pytest.mark.skipif(decompress.indexed_bzip2 is None, reason="indexed-bzip2 has no wheel here")
@pytest.mark.parametrize("name", BZIP2_FILES)
def test_indexed_bzip2_reads_as_bz2_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Every real bzip2 file, whole, cut and overwritten: the same bytes, problem and offset."""
    problems = _compare_bzip2((MRT_DIR / name).read_bytes(), name, tmp_path, monkeypatch, capfd)
    assert {"None", "truncated bzip2 stream", "corrupt bzip2 data"} <= problems


@pytest.mark.skipif(decompress.indexed_bzip2 is None, reason="indexed-bzip2 has no wheel here")
@pytest.mark.parametrize("name", GENERATED_FROM)
def test_indexed_bzip2_reads_generated_files_as_bz2_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Real MRT bytes as bzip2 of several blocks, whole, cut and overwritten."""
    raw = bz2.compress(gzip.decompress((MRT_DIR / name).read_bytes()), 9)
    problems = _compare_bzip2(raw, name, tmp_path, monkeypatch, capfd)
    assert {"None", "truncated bzip2 stream", "corrupt bzip2 data"} <= problems


@pytest.mark.parametrize("level", [1, 9])
def test_several_streams_or_small_blocks_are_left_to_bz2(
    level: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bz2 stops at a stream whose blocks exceed its declared size or whose CRC is wrong, where
    indexed-bzip2 reads on: files of several streams, or of blocks under 900 kB, are bz2's alone."""
    data = gzip.decompress((MRT_DIR / GENERATED_FROM[1]).read_bytes())
    parts = [bz2.compress(data[:500_000], level), bz2.compress(data[500_000:], level)]
    path = tmp_path / "two.bz2"
    path.write_bytes(parts[0] + parts[1] if level == 9 else parts[0])
    ours, parallel = _bzip2_stream(path, 2, monkeypatch)
    assert parallel == 0
    assert ours == _bzip2_stream(path, 1, monkeypatch)[0]
    assert ours[2] is None and ours[1] == (len(data) if level == 9 else 500_000)


@pytest.mark.skipif(decompress.indexed_bzip2 is None, reason="indexed-bzip2 has no wheel here")
def test_indexed_bzip2_keeps_the_bounds_of_bz2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bzip2 bomb (785 bytes of 1 GiB) stops at the same byte with the same problem: indexed-bzip2
    gives the first few MiB, then bz2 reads again from the start and applies the limit."""
    bomb = Path(__file__).resolve().parents[1] / "hardening" / "corpus" / "mrt" / "bzip2-bomb-1gib.bz2"
    ours, parallel = _bzip2_stream(bomb, 2, monkeypatch)
    assert ours == _bzip2_stream(bomb, 1, monkeypatch)[0]
    assert str(ours[2]).startswith("decompressed size over the limit")
    assert 0 < parallel <= decompress.PARALLEL_SLACK_BYTES < ours[1]


_THREADS_CASES = """
import multiprocessing, os, sys, threading
from anystab.sources import decompress as d
def child(queue, done):
    queue.put(FN())
    done.wait(60)
if __name__ == "__main__":
    seen = {"main": FN()}
    box = []
    thread = threading.Thread(target=lambda: box.append(FN()))
    thread.start(); thread.join()
    seen["thread"] = box[0]
    ctx = multiprocessing.get_context("fork")
    queue, done = ctx.Queue(), ctx.Event()
    worker = ctx.Process(target=child, args=(queue, done))
    worker.start()
    seen["worker"] = queue.get(timeout=60)
    seen["beside a worker"] = FN()
    done.set()
    worker.join()
    seen["cores"] = len(os.sched_getaffinity(0))
    print(seen)
"""


def _threads_in_child(env: dict[str, str], code: str = "", fn: str = "inflate_threads") -> dict[str, int]:
    path = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code + _THREADS_CASES.replace("FN()", f"d.{fn}()")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=path,
    )
    return ast.literal_eval(out.stdout.strip())  # type: ignore[no-any-return]


def _follow_the_readers(seen: dict[str, int]) -> int:
    """Check the threads seen: 2 (at most the cores) in the main thread of a process reading alone, half
    the cores beside a worker, 1 in a worker or another thread; return the cores."""
    cores = seen.pop("cores")
    assert seen == {
        "main": min(2, cores),
        "thread": 1,
        "worker": 1,
        "beside a worker": max(1, min(2, cores // 2)),
    }
    return cores


def _ones(cores: int) -> dict[str, int]:
    return {"main": 1, "thread": 1, "worker": 1, "beside a worker": 1, "cores": cores}


@pytest.mark.skipif(decompress.indexed_bzip2 is None, reason="indexed-bzip2 has no wheel here")
def test_inflate_threads_follow_the_other_readers() -> None:
    """2 threads in the main thread of a process reading alone (on 2 cores or more); 1 (bz2) in a worker
    process, in another thread, beside a worker on 2 cores, with ANYSTAB_STDLIB_BZ2=1, or without
    indexed-bzip2."""
    base = {"PATH": "/usr/bin:/bin"}
    ones = _ones(_follow_the_readers(_threads_in_child(base)))
    assert _threads_in_child({**base, decompress.STDLIB_BZ2_ENV: "1"}) == ones
    assert _threads_in_child(base, "import sys; sys.modules['indexed_bzip2'] = None\n") == ones


def test_reading_threads_follow_the_other_readers() -> None:
    """The threads a gzip file's read may use (step 9): as for bzip2, whatever indexed-bzip2 and
    ANYSTAB_STDLIB_BZ2 say; one for both with ANYSTAB_ONE_THREAD=1."""
    base = {"PATH": "/usr/bin:/bin", decompress.STDLIB_BZ2_ENV: "1"}
    seen = _threads_in_child(base, "import sys; sys.modules['indexed_bzip2'] = None\n", "reading_threads")
    ones = _ones(_follow_the_readers(seen))
    assert _threads_in_child({**base, decompress.ONE_THREAD_ENV: "1"}, fn="reading_threads") == ones
    assert _threads_in_child({"PATH": "/usr/bin:/bin", decompress.ONE_THREAD_ENV: "1"}) == ones


def test_end_markers_are_found_piece_by_piece_as_in_the_whole_file() -> None:
    """The end-marker search reads the file a piece at a time: markers across the pieces' edges, at the
    file's start and end, and in files shorter than a marker are found as a search of the whole file
    finds them."""
    import io
    import random

    from anystab.sources import decompress

    patterns = decompress._END_MARKER_PATTERNS
    size = decompress.READ_SIZE
    rng = random.Random(7)
    for n in (0, 3, 5, 100, size - 3, size, size + 2, 2 * size + 5):
        for _ in range(12):
            data = bytearray(rng.randbytes(n))
            for _ in range(rng.randint(1, 5)):
                pattern = rng.choice(patterns)
                if n >= len(pattern):
                    edge = min(n - len(pattern), max(0, size - rng.randint(0, 6)))
                    at = rng.choice([0, n - len(pattern), rng.randint(0, n - len(pattern)), edge])
                    data[at : at + len(pattern)] = pattern
            whole = [(m.start(), patterns.index(m.group())) for m in decompress._END_MARKERS.finditer(data)]
            assert list(decompress._end_markers(io.BytesIO(bytes(data)))) == whole


def _fed(path: Path, monkeypatch: pytest.MonkeyPatch, whole: bool) -> tuple[object, ...]:
    """The stream's bytes, count and problem, gzip fed whole where that is sure (step 8) or always
    FEED_SIZE bytes at a time (steps 2-6)."""
    with monkeypatch.context() as patch:
        if not whole:
            patch.setattr(decompress.Stream, "_gunzip", lambda self, fh: self._serial(fh))
        return _stream(path, decompress.INFLATE, patch)


def _members(rng: random.Random) -> bytes:
    """Two members (random MRT-like bytes and zeros) and what may follow them: nothing, zeros, garbage."""
    first = gzip.compress(rng.randbytes(300_000) * 2, mtime=0)
    second = gzip.compress(bytes(rng.randrange(1, 200_000)), mtime=0)
    return first + second + rng.choice((b"", bytes(100), rng.randbytes(50)))


def _gzip_variants(name: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real gzip file (or ``members``), whole, cut and overwritten at random, each written to a file."""
    rng = random.Random(name)
    raw = _members(rng) if name == "members" else (MRT_DIR / name).read_bytes()
    for i, data in enumerate(_damaged(raw, rng)):
        path = tmp_path / f"{i}.gz"
        path.write_bytes(data)
        yield i, path


@pytest.mark.parametrize("name", [*GZIP_FILES, "members"])
def test_gzip_fed_whole_reads_as_fed_in_pieces(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every real gzip file, and members with trailing bytes, whole, cut and overwritten at random: the
    same bytes, count, problem and offset whether fed whole or FEED_SIZE bytes at a time."""
    problems = set()
    for i, path in _gzip_variants(name, tmp_path):
        ours = _fed(path, monkeypatch, whole=True)
        assert ours == _fed(path, monkeypatch, whole=False), f"variant {i} of {name}"
        problems.add(str(ours[2]).split(" (")[0])
    assert "truncated gzip stream" in problems and ("None" in problems or name == "members")


@pytest.mark.parametrize(("ratio", "hold"), [(1000, 1 << 26), (40, 1 << 26), (1000, 1 << 22), (8, 1 << 16)])
def test_gzip_fed_whole_keeps_the_bounds(
    ratio: int, hold: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Near the bounds (a bomb, data compressing 40 times with the grace bytes lowered) or past what may be
    held, the file is fed in pieces from there on: the same bytes, problem and offset."""
    rng = random.Random(ratio)
    data = b"".join(rng.randbytes(1) * rng.randrange(ratio // 2, 2 * ratio) for _ in range(200_000))[
        : 8 << 20
    ]
    path = tmp_path / "dense.gz"
    path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    monkeypatch.setattr(decompress, "BOMB_GRACE_BYTES", 1 << 20)
    monkeypatch.setattr(decompress, "HOLD_BYTES", hold)
    ours = _fed(path, monkeypatch, whole=True)
    assert ours == _fed(path, monkeypatch, whole=False)
    assert (ours[2] is not None) == (len(data) > decompress.MAX_RATIO * path.stat().st_size)


@pytest.mark.parametrize("damage", [0, 1, 7_000, 11_000, 30_000, 100_000])
def test_gzip_damaged_after_a_member_reads_as_fed_in_pieces(
    damage: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member ending inside a read, and damage in the next one: fed again from the member's end on the
    same FEED_SIZE grid as before, so the bytes before the problem and its offset are the same."""
    rng = random.Random(damage)
    first = gzip.compress(rng.randbytes(5_000), mtime=0)
    second = gzip.compress(b"".join(rng.randbytes(8) * rng.randrange(1, 40) for _ in range(60_000)), mtime=0)
    raw = first + second
    at = len(first) + 20 + damage
    path = tmp_path / "members.gz"
    path.write_bytes(raw[:at] + bytes(b ^ 0x5A for b in raw[at : at + 8]) + raw[at + 8 :])
    ours = _fed(path, monkeypatch, whole=True)
    assert ours == _fed(path, monkeypatch, whole=False)
    assert str(ours[2]).startswith("corrupt gzip data") and ours[3] > 0


def test_gzip_within_bounds_is_fed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real file is fed whole from start to end (step 8): never in pieces."""

    def in_pieces(self: decompress.Stream, fh: object, **_: object) -> None:
        raise AssertionError("fed in pieces")

    monkeypatch.setattr(decompress.Stream, "_serial", in_pieces)
    stream = decompress.open_stream(MRT_DIR / "ris.updates.et-header.2015.gz")
    assert sum(map(len, stream)) == stream.decompressed_bytes > 10 << 20
    assert stream.problem is None


def _ahead(path: Path, ahead: bool) -> tuple[object, ...]:
    """The stream's chunk sizes, bytes, count and problem, inflated on a thread ahead or in line."""
    stream = decompress.Stream(path, ahead=ahead)
    digest, sizes = hashlib.sha256(), []
    for chunk in stream:
        digest.update(chunk)
        sizes.append(len(chunk))
    return digest.hexdigest(), sizes, stream.decompressed_bytes, stream.problem, stream.problem_offset


@pytest.mark.parametrize("name", [*GZIP_FILES, "members"])
def test_gzip_inflated_ahead_reads_as_in_line(name: str, tmp_path: Path) -> None:
    """Step 9: every real gzip file, and members with trailing bytes, whole, cut and overwritten at random:
    the same chunks, count, problem and offset inflated on a thread ahead of the reader or in line."""
    problems = set()
    for i, path in _gzip_variants(name, tmp_path):
        ours = _ahead(path, True)
        assert ours == _ahead(path, False), f"variant {i} of {name}"
        problems.add(str(ours[3]).split(" (")[0])
    assert "truncated gzip stream" in problems


def _inflating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == decompress.THREAD_NAME]


def test_a_reader_that_stops_early_stops_the_thread(tmp_path: Path) -> None:
    """The reader takes two chunks of a file many chunks long and stops: the thread ends and lets the file
    go, whether the reader closes the stream or drops it after an error."""
    path = tmp_path / "big.gz"
    path.write_bytes(gzip.compress(random.Random(1).randbytes(1000) * 20_000, compresslevel=1))
    interval = sys.getswitchinterval()
    chunks = iter(decompress.Stream(path, ahead=True))
    assert len(next(chunks)) + len(next(chunks)) == 2 * decompress.READ_SIZE  # of 20 MB
    assert _inflating_threads()
    assert sys.getswitchinterval() == pytest.approx(min(interval, decompress.AHEAD_SWITCH_SECONDS))
    chunks.close()  # type: ignore[attr-defined]  # a generator
    assert not _inflating_threads()
    assert sys.getswitchinterval() == interval
    with pytest.raises(ZeroDivisionError):
        for _ in decompress.Stream(path, ahead=True):
            1 / 0  # noqa: B018  # the reader fails while the thread is ahead
    assert not _inflating_threads()
    assert sys.getswitchinterval() == interval


def test_a_reader_that_stops_once_the_thread_is_done_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread has inflated the whole file and waits for room in a full queue to say so; the reader
    stops there: the thread ends too, and the reader does not wait for it forever."""
    monkeypatch.setattr(decompress, "AHEAD_CHUNKS", 2)
    size = 3 * decompress.READ_SIZE
    path = tmp_path / "three.gz"
    path.write_bytes(gzip.compress(random.Random(3).randbytes(1000) * (size // 1000) + bytes(size % 1000)))
    stream = decompress.Stream(path, ahead=True)
    chunks = iter(stream)
    next(chunks)  # the thread then fills the queue with the two others, and waits to add its end
    deadline = time.monotonic() + 30
    while stream.decompressed_bytes < size and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # (the end is handed over just after the last chunk is counted)
    closing = threading.Thread(target=chunks.close)  # type: ignore[attr-defined]  # a generator
    closing.start()
    closing.join(10)
    assert not closing.is_alive(), "the reader waits for a thread stuck on a full queue"
    assert not _inflating_threads()


def test_an_error_in_the_thread_is_raised_in_the_reader(tmp_path: Path) -> None:
    """A file gone between finding it and reading it: the thread's error reaches the reader as it would
    have in line, and the thread is gone."""
    path = tmp_path / "gone.gz"
    path.write_bytes(gzip.compress(b"x"))
    stream = decompress.open_stream(path)
    path.unlink()
    stream.ahead = True
    with pytest.raises(BadInputError, match="cannot read .*gone.gz"):
        list(stream)
    assert not _inflating_threads()


def test_large_gzip_files_are_inflated_ahead_when_a_core_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 9's choice: gzip of at least AHEAD_MIN_BYTES, and two threads allowed; never bzip2 (indexed-bzip2
    or bz2), plain files, small files or a missing one."""
    big = MRT_DIR / "ris.updates.et-header.2015.gz"  # 3.1 MB
    below = MRT_DIR / "ris.updates.20070211.0141.gz"  # 0.4 MB: read in line
    assert below.stat().st_size < decompress.AHEAD_MIN_BYTES <= big.stat().st_size
    small = tmp_path / "small.gz"
    small.write_bytes(gzip.compress(b"x" * 100))
    plain = tmp_path / "plain.mrt"
    plain.write_bytes(bytes(decompress.AHEAD_MIN_BYTES))
    bzip2 = tmp_path / "big.bz2"
    bzip2.write_bytes(bz2.compress(random.Random(2).randbytes(decompress.AHEAD_MIN_BYTES)))
    monkeypatch.setattr(decompress, "reading_threads", lambda: 2)
    worth = decompress._ahead_worth_it
    assert worth(big)
    assert not any(worth(p) for p in (below, small, plain, bzip2, tmp_path / "missing.gz"))
    monkeypatch.setattr(decompress, "reading_threads", lambda: 1)
    assert not worth(big)


@pytest.mark.parametrize("name", ["ris.updates.et-header.2015.gz", "ris.bview.20020722.2337.gz"])
def test_a_file_read_with_a_thread_ahead_gives_the_same_elements(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole read (scan, decoding, elements, problems) of real files, whole and cut short, with step 9
    and without it."""
    from anystab.sources.mrt import read_mrt_file
    from anystab.targets import make_target, target_set

    targets = target_set([make_target(p) for p in ("193.0.14.0/24", "2001:7fd::/48", "8.0.0.0/8")], "any")
    raw = (MRT_DIR / name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    for path in (MRT_DIR / name, cut):
        results = []
        for ahead in (True, False):
            monkeypatch.setattr(decompress, "_ahead_worth_it", lambda _path, ahead=ahead: ahead)
            results.append(read_mrt_file(path, targets, "rrc00"))
        assert results[0].elements.num_rows > 0
        assert results[0].elements.equals(results[1].elements)
        assert results[0].problems == results[1].problems
        assert results[0].records == results[1].records
    assert "truncated gzip stream" in str(results[0].problems)


# --- step 10: small files, one thread ahead for them all -----------------------------------------------


def _small_file_variants(tmp_path: Path) -> list[Path]:
    """Every real file under AHEAD_MIN_BYTES, and a cut, a damaged, a plain, a bzip2, an empty and a
    not-MRT one, with one large file (left to the reader) among them."""
    real = sorted(
        p for p in MRT_DIR.iterdir() if p.is_file() and p.stat().st_size < decompress.AHEAD_MIN_BYTES
    )
    raw = (MRT_DIR / "ris.updates.20160811.1600.gz").read_bytes()
    made = {
        "cut.gz": raw[: len(raw) // 2],
        "damaged.gz": raw[:5000] + bytes(100) + raw[5100:],
        "plain.mrt": gzip.decompress(raw)[:300_000],
        "small.bz2": bz2.compress(gzip.decompress(raw)[:200_000]),
        "empty.gz": gzip.compress(b""),
        "text.gz": gzip.compress(b"not an MRT file at all\n" * 100),
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    paths = real + [tmp_path / name for name in made]
    return paths[:3] + [MRT_DIR / "ris.updates.et-header.2015.gz"] + paths[3:]


def _read_all(paths: list[Path], threads: int, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    from anystab.sources.mrt import read_mrt_files
    from anystab.targets import make_target, target_set

    monkeypatch.setattr(decompress, "reading_threads", lambda: threads)
    targets = target_set([make_target(p) for p in ("193.0.14.0/24", "2001:7fd::/48", "8.0.0.0/8")], "any")
    results = read_mrt_files([(str(p), "rrc00") for p in paths], targets)
    return [
        (r.path, r.kind, r.records, r.problems, r.decompressed_bytes, r.first_time, r.last_time, r.elements)
        for r in results
    ]


def test_small_files_read_by_one_thread_ahead_give_what_they_give_in_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole read (elements, problems, counts, times) of real files and damaged ones, with step 10 and
    on one thread; the thread takes the small files only, is gone afterwards, and the switch interval is
    as before."""
    paths = _small_file_variants(tmp_path)
    interval = sys.getswitchinterval()
    monkeypatch.setattr(decompress, "reading_threads", lambda: 2)
    with decompress.StreamsAhead(paths) as streams:
        assert len(streams._taken) == len(paths) - 1  # all but the et-header file
        assert _inflating_threads()
    ahead = _read_all(paths, 2, monkeypatch)
    assert not _inflating_threads()
    assert sys.getswitchinterval() == interval
    in_line = _read_all(paths, 1, monkeypatch)
    assert [row[:-1] for row in ahead] == [row[:-1] for row in in_line]
    assert all(a[-1].equals(b[-1]) for a, b in zip(ahead, in_line, strict=True))  # type: ignore[attr-defined]
    reasons = " ".join(str(row[3]) for row in ahead)
    for reason in ("truncated gzip stream", "corrupt gzip data", "not an MRT file", "empty file"):
        assert reason in reasons
    assert sum(row[-1].num_rows for row in ahead) > 0  # type: ignore[attr-defined]


def _chunks_in_line(path: Path) -> list[bytes]:
    return list(decompress.Stream(path, ahead=False))


def test_files_opened_out_of_turn_are_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A taken file opened and left unread (its iterator kept, or closed), or never opened, is passed
    over: the next file opened gets its own chunks; a path that is not in the list is opened as by
    open_stream."""
    monkeypatch.setattr(decompress, "reading_threads", lambda: 2)
    monkeypatch.setattr(decompress, "READ_SIZE", 1 << 16)  # files of several chunks
    paths = [MRT_DIR / name for name in ("ris.updates.20070211.0141.gz", "ris.rrc06.updates.1401488100.gz")]
    paths += [MRT_DIR / "ris.updates.long_withdrawal.gz", MRT_DIR / "ris.updates.20160811.1600.gz"]
    paths += [MRT_DIR / "ris.updates.20070211.0141.gz", MRT_DIR / "ris.rrc06.updates.1401488100.gz"]
    with decompress.StreamsAhead(paths) as streams:
        first = iter(streams.open(paths[0]))
        next(first)  # one chunk read of it, then the reader moves on
        assert list(streams.open(paths[2])) == _chunks_in_line(paths[2])  # the second never opened
        other = MRT_DIR / "ris.bview.ipv4_unicast_add_path.gz"
        assert list(streams.open(other)) == _chunks_in_line(other)
        fourth = iter(streams.open(paths[3]))
        next(fourth)
        fourth.close()  # type: ignore[attr-defined]  # a generator, closed after one chunk
        fifth = iter(streams.open(paths[4]))
        next(fifth)
        del fifth  # dropped after one chunk
        assert list(streams.open(paths[5])) == _chunks_in_line(paths[5])
    assert not _inflating_threads()


def test_a_file_gone_before_its_turn_fails_as_in_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file removed after it was taken but before it was read for the thread: the files before it are
    read, and reading it raises what open_stream raises; the thread is gone afterwards."""
    monkeypatch.setattr(decompress, "reading_threads", lambda: 2)
    monkeypatch.setattr(decompress, "AHEAD_FILES", 1)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.gz")
        paths[-1].write_bytes((MRT_DIR / "ris.rrc06.updates.1401488100.gz").read_bytes())
    with decompress.StreamsAhead(paths) as streams:
        paths[2].unlink()
        assert list(streams.open(paths[0])) == _chunks_in_line(paths[1])
        assert list(streams.open(paths[1])) == _chunks_in_line(paths[1])
        with pytest.raises(BadInputError) as raised:
            list(streams.open(paths[2]))
    with pytest.raises(BadInputError) as in_line:
        decompress.open_stream(paths[2])
    assert str(raised.value) == str(in_line.value)
    assert not _inflating_threads()


def test_a_reader_that_fails_stops_the_files_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader fails in the middle of the files, with the thread ahead and waiting on a full queue:
    leaving the block stops the thread, and the switch interval is as before."""
    monkeypatch.setattr(decompress, "reading_threads", lambda: 2)
    monkeypatch.setattr(decompress, "AHEAD_CHUNKS", 1)
    interval = sys.getswitchinterval()
    paths = [MRT_DIR / "ris.updates.20070211.0141.gz", MRT_DIR / "ris.updates.20160811.1600.gz"] * 3
    with pytest.raises(ZeroDivisionError), decompress.StreamsAhead(paths) as streams:
        for chunk in streams.open(paths[0]):
            1 / 0  # noqa: B018  # the reader fails while the thread is ahead
            assert chunk
    assert not _inflating_threads()
    assert sys.getswitchinterval() == interval


def test_read_files_in_groups_share_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of many files in this process, in groups: the same results as on one thread."""
    from anystab.sources import SourceFile, parallel
    from anystab.targets import make_target, target_set

    monkeypatch.setattr(parallel, "SERIAL_FILES", 2)
    paths = _small_file_variants(tmp_path)
    targets = target_set([make_target("193.0.14.0/24")], "any")
    runs = []
    for threads in (2, 1):
        monkeypatch.setattr(decompress, "reading_threads", lambda threads=threads: threads)
        results = parallel.read_files([SourceFile(str(p), "rrc00") for p in paths], targets, jobs=1)
        runs.append([(r.path, r.records, r.problems, r.elements.to_pylist()) for r in results])
    assert runs[0] == runs[1]
    assert not _inflating_threads()
