"""Reading files in a process pool gives the same results, in the same order, as reading them serially."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR, assert_same_results, sampled_targets

from anystab.errors import AnystabError, BadInputError
from anystab.sources import SourceFile, mrt, read_files
from anystab.sources.parallel import (
    _Claims,
    _Done,
    _Job,
    _read_packed,
    _sendable,
    _serve,
    _unpack,
    batches,
    worker_count,
)
from anystab.sources.remote import read_sources

NAMES = (
    "ris.rrc06.updates.1401488100.gz",
    "ris.bview.ipv4_unicast_add_path.gz",
    "ris.updates.long_withdrawal.gz",
    "ris.bview.64k_stream_overflow.gz",
    "ris.updates.nlri_mask_trailing_bits.gz",
)


def test_parallel_equals_serial() -> None:
    files = [SourceFile(str(MRT_DIR / n), f"c{i}") for i, n in enumerate(NAMES)]
    targets = sampled_targets(NAMES[0])
    ticks: list[int] = []
    serial = read_files(files, None, jobs=1, progress=ticks.append)
    parallel = read_files(files, None, jobs=2, progress=ticks.append)
    assert ticks == [1] * (2 * len(files))
    assert [r.path for r in parallel] == [f.path for f in files]
    assert_same_results(serial, parallel)
    assert all(r.elements.num_rows > 0 for r in serial)
    for jobs in (1, 2):  # ``each`` hands over every result once, with its index, as it is read
        seen: list[tuple[int, object]] = []
        kept = read_files(files, None, jobs=jobs, each=lambda *pair: seen.append(pair))  # noqa: B023
        assert sorted(i for i, _ in seen) == list(range(len(files)))
        assert [r for _, r in sorted(seen, key=lambda p: p[0])] == kept
    filtered = read_files(files, targets, jobs=0)
    assert [r.elements.num_rows for r in filtered] == [
        r.elements.num_rows for r in read_files(files, targets, 1)
    ]


def test_worker_count() -> None:
    assert worker_count(1, 10) == 1
    assert worker_count(4, 2) == 2
    assert worker_count(0, 100) >= 1
    assert worker_count(3, 0) == 1


@pytest.mark.parametrize("few", [False, True])
def test_batches_cross_processes_whole(tmp_path, few: bool) -> None:
    """A worker's batch, packed as it crosses to this process and unpacked, equals the batch read here:
    elements, problems and every other field, also for a damaged and an empty file; with every element
    (one record batch per file) and with sampled targets (few rows: one record batch for all)."""
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes((MRT_DIR / NAMES[0]).read_bytes()[:5000])
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    files = [SourceFile(str(MRT_DIR / n), "c") for n in NAMES[:3]]
    files += [SourceFile(str(damaged), "c"), SourceFile(str(empty), "c")]
    targets = sampled_targets(NAMES[0]) if few else None
    read = read_sources(files, targets)
    crossed = _unpack(pickle.loads(pickle.dumps(_read_packed(files, targets))))
    assert sum(r.elements.num_rows for r in read) < mrt.FEW_ROWS_PER_FILE * len(files) or not few
    assert [r.problems for r in read][3] and [r.kind for r in read][4] == "empty"
    assert_same_results(read, crossed)


def test_batches_shrink_towards_the_middle(tmp_path) -> None:
    """Guided batches: each index once, the biggest batches at both ends, the smallest where the pool
    (from the front) and this process (from the back) meet, none under the floor but the last."""
    sizes = [5000, 300, *([1000] * 200)]
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"{i:03d}"
        path.write_bytes(b"x" * size)
        files.append(SourceFile(str(path), "c"))
    groups = batches(files, 2)
    assert sorted(i for g in groups for i in g) == list(range(len(files)))
    assert groups[0][0] == 0  # the largest file leads the first batch
    weight = [sum(sizes[i] for i in g) for g in groups]
    low = weight.index(min(weight))
    assert weight[:low] == sorted(weight[:low], reverse=True) and weight[low:] == sorted(weight[low:])
    assert max(weight) <= sum(sizes) / 8 + 5000 and len(groups) < 40
    assert batches(files[:1], 4) == [[0]] and batches([], 2) == []


@pytest.mark.parametrize("jobs", [2, 3])
def test_many_batches_equal_serial(jobs: int) -> None:
    """Enough files for many batches, so that this process takes batches the pool has already handed to
    a worker: every file is still read once, results in input order, equal to a serial read (also with
    two workers taking tasks from one queue)."""
    files = [SourceFile(str(MRT_DIR / n), f"c{i}") for i in range(8) for n in NAMES]
    targets = sampled_targets(NAMES[0])
    assert len(batches(files, 2)) > 6
    seen: list[int] = []
    serial = read_files(files, targets, jobs=1)
    parallel = read_files(files, targets, jobs=jobs, each=lambda i, _r: seen.append(i))
    assert sorted(seen) == list(range(len(files)))
    assert [r.path for r in parallel] == [f.path for f in files]
    assert_same_results(serial, parallel)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_started_afresh_read_the_same(monkeypatch, method: str) -> None:
    """Workers that start a new interpreter (macOS's default; forkserver is Python 3.14's on Linux) get
    the files, targets, batches, claims and queue by pickling, and read the same as a serial read."""
    monkeypatch.setattr("anystab.sources.parallel.START_METHOD", method)
    files = [SourceFile(str(MRT_DIR / n), f"c{i}") for i in range(2) for n in NAMES]
    targets = sampled_targets(NAMES[0])
    serial = read_files(files, targets, jobs=1)
    parallel = read_files(files, targets, jobs=3)
    assert sum(r.elements.num_rows for r in parallel) > 0
    assert_same_results(serial, parallel)


def _claims(count: int) -> _Claims:
    return _Claims.none_taken(multiprocessing.get_context(), count)


def test_a_batch_is_read_by_whoever_claims_it_first() -> None:
    """The claim flags: the first claim of a batch wins; a worker reads the batches it can claim, from
    the front, puts each on the results queue, and last its "done" note; every flag is then set."""
    claims = _claims(3)
    assert claims.take(2) and not claims.take(2)  # this process took the last batch
    files = [SourceFile(str(MRT_DIR / n), "c") for n in NAMES[:3]]
    job = _Job(files, None, [[0], [1], [2]], claims, queue.Queue())
    _serve(job, 5)  # in this process, as a worker would
    messages = [job.results.get_nowait() for _ in range(job.results.qsize())]
    assert [m[0] for m in messages[:2]] == [0, 1] and messages[2] == _Done(5, None)
    assert _unpack(messages[1][1])[0].elements.equals(read_sources(files[1:2], None)[0].elements)
    assert [claims.flags[i] for i in range(3)] == [1, 1, 1]
    other = _claims(4)
    other.take_all()
    assert not any(other.take(n) for n in range(4))


def test_a_worker_error_stops_every_process(monkeypatch) -> None:
    """An error in a worker claims every batch left and travels to its "done" note; one that does not
    survive pickling travels as its type and text."""
    files = [SourceFile(str(MRT_DIR / n), "c") for n in NAMES[:3]]

    def fail(sources: list[SourceFile], targets: object) -> object:
        raise BadInputError(f"cannot read {sources[0].path}")

    monkeypatch.setattr("anystab.sources.parallel._read_packed", fail)
    job = _Job(files, None, [[0], [1], [2]], _claims(3), queue.Queue())
    _serve(job, 0)
    done = job.results.get_nowait()
    assert (
        job.results.empty()
        and isinstance(done.error, BadInputError)
        and [job.claims.flags[i] for i in range(3)] == [1] * 3
    )
    unpicklable = ValueError("bad value")
    unpicklable.hook = threading.Lock()  # type: ignore[attr-defined]
    sent = _sendable(unpicklable)
    assert type(sent) is RuntimeError and str(sent) == "ValueError: bad value"
    assert _sendable(done.error) is done.error


_TEST_PROCESS = os.getpid()
_take = _Claims.take


def _worker_claims_only(self: _Claims, number: int) -> bool:
    """A claim that this test's process never wins, so that every batch is a worker's."""
    return os.getpid() != _TEST_PROCESS and _take(self, number)


@pytest.fixture
def workers_read_all(monkeypatch):
    """Worker processes forked from this one, so that they run this test's patches, and every batch read
    by them."""
    monkeypatch.setattr("anystab.sources.parallel.START_METHOD", "fork")
    monkeypatch.setattr("anystab.sources.parallel._Claims.take", _worker_claims_only)


def _many_files() -> list[SourceFile]:
    return [SourceFile(str(MRT_DIR / n), f"c{i}") for i in range(4) for n in NAMES]


def test_an_error_in_a_worker_is_raised_here(monkeypatch, workers_read_all) -> None:
    """A worker's error is raised in this process, as in a serial read, and no worker is left running."""
    original = _read_packed

    def fail_on_third(sources: list[SourceFile], targets: object) -> object:
        if any(s.path == str(MRT_DIR / NAMES[2]) for s in sources):
            raise BadInputError(f"cannot read {MRT_DIR / NAMES[2]}")
        return original(sources, targets)

    monkeypatch.setattr("anystab.sources.parallel._read_packed", fail_on_third)
    before = set(multiprocessing.active_children())  # e.g. a Dask cluster another test left running
    with pytest.raises(BadInputError, match="cannot read"):
        read_files(_many_files(), None, jobs=2)
    assert set(multiprocessing.active_children()) <= before


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch, workers_read_all) -> None:
    """A worker that exits mid-read (no "done" note) makes the read fail with its exit code or signal."""
    before = set(multiprocessing.active_children())
    monkeypatch.setattr("anystab.sources.parallel._read_packed", lambda s, t: os._exit(7))
    with pytest.raises(AnystabError, match=r"stopped unexpectedly \(exit code 7\)"):
        read_files(_many_files(), None, jobs=2)
    monkeypatch.setattr("anystab.sources.parallel._read_packed", lambda s, t: os.kill(os.getpid(), 9))
    with pytest.raises(AnystabError, match=r"stopped unexpectedly \(killed by signal 9\)"):
        read_files(_many_files(), None, jobs=2)
    assert set(multiprocessing.active_children()) <= before


ORPHAN_SCRIPT = """
import sys, time
from anystab.sources import SourceFile, parallel
parallel.START_METHOD = "fork"
original = parallel._read_packed
def slow(sources, targets):
    time.sleep(0.2)
    return original(sources, targets)
parallel._read_packed = slow
files = [SourceFile(path, "c") for path in sys.argv[1:]]
parallel.read_files(files, None, jobs=2)
"""


def test_workers_stop_when_the_calling_process_is_killed(tmp_path) -> None:
    """A calling process killed mid-read (OOM killer, a cron timeout) leaves no worker running on."""
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN_SCRIPT)
    paths = [str(MRT_DIR / n) for _ in range(20) for n in NAMES[2:]]
    caller = subprocess.Popen([sys.executable, str(script), *paths])
    children = Path(f"/proc/{caller.pid}/task/{caller.pid}/children")
    deadline = time.monotonic() + 60
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = [int(pid) for pid in children.read_text().split()]
    assert len(workers) == 1
    time.sleep(0.1)  # the worker is inside its first batch
    caller.kill()
    assert caller.wait() == -signal.SIGKILL  # killed mid-read, not finished
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:  # not to leave it behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie, not yet reaped, has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
