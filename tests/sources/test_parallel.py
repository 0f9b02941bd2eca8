"""Reading files in a process pool gives the same results, in the same order, as reading them serially."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest
from mrt_samples import MRT_DIR, sampled_targets

from anystab.sources import SourceFile, read_files
from anystab.sources.parallel import (
    _claim,
    _read_batch,
    _read_claimed,
    _read_packed,
    _Shared,
    _unpack,
    batches,
    worker_count,
)

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
    for a, b in zip(serial, parallel, strict=True):
        assert (a.collector, a.kind, a.records, a.problems) == (b.collector, b.kind, b.records, b.problems)
        assert a.elements.equals(b.elements) and a.elements.num_rows > 0
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


def test_batches_cross_processes_whole(tmp_path) -> None:
    """A worker's batch, packed as it crosses to this process and unpacked, equals the batch read here:
    elements, problems and every other field, also for a damaged and an empty file."""
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes((MRT_DIR / NAMES[0]).read_bytes()[:5000])
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    files = [SourceFile(str(MRT_DIR / n), "c") for n in NAMES[:3]]
    files += [SourceFile(str(damaged), "c"), SourceFile(str(empty), "c")]
    read = _read_batch(files, None)
    crossed = _unpack(pickle.loads(pickle.dumps(_read_packed(files, None))))
    assert [r.problems for r in read][3] and [r.kind for r in read][4] == "empty"
    for a, b in zip(read, crossed, strict=True):
        assert a.elements.equals(b.elements)
        assert {k: v for k, v in vars(a).items() if k != "elements"} == {
            k: v for k, v in vars(b).items() if k != "elements"
        }


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
    for a, b in zip(serial, parallel, strict=True):
        assert (a.collector, a.records, a.problems) == (b.collector, b.records, b.problems)
        assert a.elements.equals(b.elements)


def test_a_batch_is_read_by_whoever_claims_it_first(monkeypatch) -> None:
    """The claim flags: the first claim of a batch wins, and a worker skips a batch already claimed."""
    files = [SourceFile(str(MRT_DIR / n), "c") for n in NAMES[:2]]
    claims = multiprocessing.get_context().Array("b", 2)
    monkeypatch.setattr("anystab.sources.parallel._shared", _Shared(files, None, claims))  # as _serve does
    assert _claim(claims, 0) and not _claim(claims, 0)
    assert _read_claimed(0, [0]) is None
    packed = _read_claimed(1, [1])
    assert packed is not None and list(claims) == [1, 1]
    assert _unpack(packed)[0].elements.equals(_read_batch(files[1:], None)[0].elements)
