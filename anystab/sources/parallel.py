"""Read many MRT files in a process pool, results in input order.

Steps:

1. ``jobs=0`` means one worker per core; ``jobs=1`` (or a single file) reads in this process.
2. Otherwise split the files into batches, larger files first, each about a ``4 x workers``-th of the
   bytes not yet batched (guided scheduling: a file takes milliseconds, so one task per file would spend
   more on passing tasks and results between processes than on reading, while big batches at the end
   leave processes idle waiting for the last one), but not under ``1 / (workers x SMALLEST_SHARE)`` of
   all bytes. Order them with the largest batches at both ends and the smallest in the middle. All go to
   ``workers - 1`` processes of a ``ProcessPoolExecutor``, from the front; meanwhile this process takes
   the batches none has started from the back and reads them itself, so that ``workers`` processes read
   until they meet at the small batches (processes, not threads: mrtparse keeps per-record flags in
   module-level globals, and most of the time outside decompression and the scan holds the GIL).
   Who reads a batch is settled by a flag per batch in shared memory, set once under its lock by whoever
   comes first: the pool hands each worker its next batches before it has finished the current one, so
   a batch already handed over can still be taken by this process (the worker then skips it), and no
   process waits on batches another has merely reserved. The files and targets reach the workers once,
   as they start; a task names a batch by its number. A worker sends its batch's elements back as one
   Arrow IPC stream.
3. Report progress as each batch finishes (``progress(1)`` per file of it, suited to a progress bar's
   advance; ``each(index, result)`` for a caller that keeps results as they come), and return results in
   the order of ``files``: the same as reading them one by one.

An error that stops a file (missing or unreadable path) is raised here as in a serial read.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from anystab.schemas import ELEMENTS
from anystab.sources.archive import SourceFile
from anystab.sources.mrt import FileResult, read_mrt_file
from anystab.targets import TargetSet

SMALLEST_SHARE = 64


def _read(source: SourceFile, targets: TargetSet | None) -> FileResult:
    return read_mrt_file(source.path, targets, source.collector)


def _read_batch(sources: list[SourceFile], targets: TargetSet | None) -> list[FileResult]:
    return [_read(source, targets) for source in sources]


@dataclass
class _Packed:
    """A worker's batch of results as it crosses to this process: the files' elements in one table, as
    Arrow IPC bytes (pickling tables column by column cost milliseconds per batch, mostly their schemas),
    and the results without them."""

    results: list[FileResult]
    elements: bytes
    rows: list[int]


def _read_packed(sources: list[SourceFile], targets: TargetSet | None) -> _Packed:
    results = _read_batch(sources, targets)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, ELEMENTS) as writer:
        for r in results:
            writer.write_table(r.elements)
    none = ELEMENTS.empty_table()
    rows = [r.elements.num_rows for r in results]
    return _Packed([replace(r, elements=none) for r in results], sink.getvalue().to_pybytes(), rows)


def _unpack(packed: _Packed) -> list[FileResult]:
    elements = pa.ipc.open_stream(packed.elements).read_all()
    offsets = itertools.accumulate(packed.rows, initial=0)
    return [
        replace(r, elements=elements.slice(start, rows))
        for r, start, rows in zip(packed.results, offsets, packed.rows, strict=False)
    ]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # reported by the read itself
        return 0


def batches(files: Sequence[SourceFile], workers: int) -> list[list[int]]:
    """Indexes of ``files`` in batches (step 2): larger files first, each batch about a ``4 x workers``-th
    of the bytes still unbatched and at least ``1 / (workers x SMALLEST_SHARE)`` of all of them; then
    ordered with the largest batches at both ends and the smallest in the middle, where the workers (from
    the front) and this process (from the back) meet, so that no one waits long for the last batch."""
    sizes = [max(_size(f.path), 1) for f in files]
    remaining = float(sum(sizes))
    floor = remaining / max(1, workers * SMALLEST_SHARE)
    out: list[list[int]] = []
    current: list[int] = []
    filled = 0.0
    for i in sorted(range(len(files)), key=lambda i: (-sizes[i], i)):
        current.append(i)
        filled += sizes[i]
        if filled >= max(remaining / (4 * workers), floor):
            out.append(current)
            remaining -= filled
            current, filled = [], 0.0
    if current:
        out.append(current)
    return out[0::2] + out[1::2][::-1]


def worker_count(jobs: int, files: int) -> int:
    """How many worker processes to use for ``files`` files (``jobs=0``: all cores)."""
    wanted = jobs if jobs > 0 else (os.cpu_count() or 1)
    return max(1, min(wanted, files))


def read_files(
    files: Sequence[SourceFile],
    targets: TargetSet | None,
    jobs: int = 0,
    progress: Callable[[int], None] | None = None,
    each: Callable[[int, FileResult], None] | None = None,
) -> list[FileResult]:
    """Read every file (see the module docstring); ``progress`` is called with 1 as each file finishes,
    ``each`` with the file's index in ``files`` and its result, as soon as it is read (in batch order)."""
    workers = worker_count(jobs, len(files))
    slots: list[FileResult | None] = [None] * len(files)

    def store(batch: list[int], results: list[FileResult]) -> None:
        for i, result in zip(batch, results, strict=True):
            slots[i] = result
            if each is not None:
                each(i, result)
            if progress is not None:
                progress(1)

    if workers == 1:
        for i, source in enumerate(files):
            store([i], [_read(source, targets)])
    else:
        _read_shared(files, targets, workers, store)
    return [r for r in slots if r is not None]


@dataclass
class _Shared:
    """What every worker of one read holds from its start: the files, the targets and the claim flags."""

    files: Sequence[SourceFile]
    targets: TargetSet | None
    claims: Any  # multiprocessing.Array of one byte per batch, with its lock


_shared: _Shared | None = None  # in a worker process: the read it serves


def _serve(shared: _Shared) -> None:
    global _shared
    _shared = shared


def _claim(claims: Any, number: int) -> bool:
    """Take batch ``number`` unless another process has: True for the first caller only."""
    with claims.get_lock():
        if claims[number]:
            return False
        claims[number] = 1
        return True


def _read_claimed(number: int, batch: list[int]) -> _Packed | None:
    """In a worker: read batch ``number`` unless this process of the caller took it first (``None``)."""
    assert _shared is not None, "a worker of read_files starts with _serve"
    if not _claim(_shared.claims, number):
        return None
    return _read_packed([_shared.files[i] for i in batch], _shared.targets)


def _read_shared(
    files: Sequence[SourceFile],
    targets: TargetSet | None,
    workers: int,
    store: Callable[[list[int], list[FileResult]], None],
) -> None:
    """Step 2: every batch goes to ``workers - 1`` processes in order; meanwhile this process claims the
    batches from the back and reads them itself until it meets one a worker has claimed."""
    order = batches(files, workers)
    context = multiprocessing.get_context()
    shared = _Shared(list(files), targets, context.Array("b", len(order)))
    pool = ProcessPoolExecutor(workers - 1, context, initializer=_serve, initargs=(shared,))
    pending: deque[tuple[Future[_Packed | None], int, list[int]]] = deque()
    try:
        pending.extend((pool.submit(_read_claimed, n, batch), n, batch) for n, batch in enumerate(order))
        while pending and _claim(shared.claims, pending[-1][1]):
            future, _number, batch = pending.pop()
            future.cancel()  # saves the worker a task when it has not reached it yet
            store(batch, _read_batch([files[i] for i in batch], targets))
            while pending and pending[0][0].done():
                _collect(pending.popleft(), store)
        while pending:
            _collect(pending.popleft(), store)
    except BaseException:  # an unreadable file: the workers skip every batch they have not started
        for number in range(len(order)):
            _claim(shared.claims, number)
        raise
    finally:  # waits for the workers to exit (~6 ms; not waiting races with CPython 3.11's exit hook)
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    item: tuple[Future[_Packed | None], int, list[int]], store: Callable[[list[int], list[FileResult]], None]
) -> None:
    """Store a batch a worker read (every batch left in ``pending`` is a worker's: this process claims
    only from the back, stops at the first batch it cannot claim, and the workers run every task)."""
    future, _number, batch = item
    packed = future.result()
    assert packed is not None, "a batch left to the workers was claimed by one"
    store(batch, _unpack(packed))
