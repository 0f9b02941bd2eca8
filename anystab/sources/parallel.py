"""Read many MRT files (local paths or URLs) in parallel processes here, results in input order.

This is anystab's one local reader: ``analyze`` uses it whenever files are read on this machine, with or
without the local executor; only a Dask cluster reads through its own map
(:func:`anystab.executors.plan.read_on`).

Steps:

1. ``jobs=0`` means one worker per core; ``jobs=1`` (or a single file) reads in this process, in groups
   of :data:`SERIAL_FILES` files. A group, like a batch below, is read by
   :func:`anystab.sources.remote.read_sources`: the elements of its local files are one Arrow table,
   sliced per file. The local files of all groups are opened through one
   :class:`~anystab.sources.decompress.StreamsAhead` (its step 10: small files inflated by one thread
   ahead of the reader, over the whole read).
2. Otherwise split the files into batches, larger files first, each about a ``4 x workers``-th of the
   bytes not yet batched (guided scheduling: a file takes milliseconds, so one task per file would spend
   more on passing tasks and results between processes than on reading, while big batches at the end
   leave processes idle waiting for the last one), but not under ``1 / (workers x SMALLEST_SHARE)`` of
   all bytes. Order them with the largest batches at both ends and the smallest in the middle.
   Start ``workers - 1`` worker processes (processes, not threads: mrtparse keeps per-record flags in
   module-level globals, and most of the time outside decompression and the scan holds the GIL). Each
   worker claims batches from the front and reads them; meanwhile this process claims batches from the
   back and reads them itself, until it meets one a worker has claimed: ``workers`` processes read until
   they meet at the small batches. A claim is a flag per batch in shared memory, set once under one lock
   by whoever comes first, so no batch is read twice and no process waits on a batch another has merely
   reserved. The files, targets and batches reach each worker once, as it starts. A worker puts each
   batch it read on one results queue (its elements as one Arrow IPC stream), and last a "done" note
   that carries its error if it stopped at one.
3. Report progress as each batch is stored (``progress(1)`` per file of it, suited to a progress bar's
   advance; ``each(index, result)`` for a caller that keeps results as they come): this process takes
   the workers' batches off the queue between its own and, once it meets them, until every worker is
   done. Return results in the order of ``files``: the same as reading them one by one. The workers are
   not waited for as they exit (a few milliseconds each); ``multiprocessing`` reaps them.

An error that stops a file (missing or unreadable path) is raised here as in a serial read, wherever the
file was read, and the other processes are stopped. A worker that exits without its "done" note (killed,
crashed) is an :class:`~anystab.errors.AnystabError`, noticed within :data:`POLL_SECONDS`.
A worker whose calling process was killed stops after its current batch, without waiting to send it.
"""

from __future__ import annotations

import itertools
import mmap
import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from anystab.errors import AnystabError
from anystab.schemas import ELEMENTS
from anystab.sources.archive import SourceFile, is_url
from anystab.sources.decompress import StreamsAhead
from anystab.sources.mrt import FileResult, joined_if_few_rows
from anystab.sources.remote import read_sources
from anystab.targets import TargetSet

SMALLEST_SHARE = 64
START_METHOD: str | None = None  # how worker processes start; None: the platform's default
SERIAL_FILES = 16  # files read in one process by one read_sources call (progress reported after each group)
POLL_SECONDS = 0.05  # waiting for the workers' results: how often to check that they are still alive


@dataclass
class _Packed:
    """A worker's batch of results as it crosses to this process: the files' elements in one table, as
    Arrow IPC bytes (pickling tables column by column cost milliseconds per batch, mostly their schemas;
    files of few rows joined into one record batch: a message per file cost about 3 KB and 20 us to
    read back), and the results without them."""

    results: list[FileResult]
    elements: bytes
    rows: list[int]


def _read_packed(sources: list[SourceFile], targets: TargetSet | None) -> _Packed:
    results = read_sources(sources, targets)
    table = joined_if_few_rows(pa.concat_tables([r.elements for r in results]), len(results))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, ELEMENTS) as writer:
        writer.write_table(table)
    del table
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
    except OSError:  # reported by the read itself; a URL counts as one byte
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
        with StreamsAhead([f.path for f in files if not is_url(f.path)]) as streams:
            for start in range(0, len(files), SERIAL_FILES):
                group = list(range(start, min(start + SERIAL_FILES, len(files))))
                store(group, read_sources([files[i] for i in group], targets, streams))
    else:
        _read_shared(files, targets, workers, store)
    return [r for r in slots if r is not None]


@dataclass
class _Claims:
    """One flag per batch in shared memory, each set once, under one lock, by the first process to claim
    the batch."""

    flags: Any  # one byte per batch: a shared anonymous map, or a multiprocessing RawArray
    lock: Any  # multiprocessing Lock

    @classmethod
    def none_taken(cls, context: Any, count: int) -> _Claims:
        """Flags for ``count`` batches, none claimed, shared with processes that ``context`` starts: a
        forked process inherits a shared anonymous map (a RawArray costs 1.1 ms more to make, most of it
        importing ``multiprocessing.sharedctypes``, and backs it with a file); a process that starts a new
        interpreter gets a RawArray, which travels to it."""
        if context.get_start_method() == "fork":
            return cls(mmap.mmap(-1, max(count, 1)), context.Lock())
        return cls(context.RawArray("b", count), context.Lock())

    def take(self, number: int) -> bool:
        """Claim batch ``number``: True for the first caller only."""
        with self.lock:
            if self.flags[number]:
                return False
            self.flags[number] = 1
            return True

    def take_all(self) -> None:
        """Claim every batch left, so that every process stops after the batch it is reading."""
        with self.lock:
            for number in range(len(self.flags)):
                self.flags[number] = 1


@dataclass
class _Done:
    """A worker's last message: it has claimed every batch it could, or it stopped at ``error``."""

    worker: int
    error: BaseException | None = None


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (as the results queue will pickle it), else its type and text as a
    RuntimeError."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # e.g. an attribute that cannot be pickled
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


@dataclass
class _Job:
    """One parallel read, as each of its processes sees it."""

    files: list[SourceFile]
    targets: TargetSet | None
    order: list[list[int]]  # the batches, as indexes of ``files``
    claims: _Claims
    results: Any  # multiprocessing Queue: ``(batch number, _Packed)`` per batch a worker read; its _Done

    def sources(self, number: int) -> list[SourceFile]:
        """The files of batch ``number``."""
        return [self.files[i] for i in self.order[number]]


def _serve(job: _Job, worker: int) -> None:
    """In worker process ``worker``: read every batch it can claim, from the front, putting
    ``(number, packed)`` on the results queue for each, and last a :class:`_Done`. An error claims every
    batch, so that all processes stop after their current one, and travels in the :class:`_Done`. When
    the calling process has died, stop after the current batch."""
    error = None
    caller = os.getppid()
    try:
        for number in range(len(job.order)):
            if os.getppid() != caller:  # it was killed: nobody will take the results, don't wait to send them
                job.results.cancel_join_thread()
                return
            if job.claims.take(number):
                job.results.put((number, _read_packed(job.sources(number), job.targets)))
    except BaseException as exc:  # handed to the caller, which raises it
        job.claims.take_all()
        error = _sendable(exc)
    job.results.put(_Done(worker, error))


def _read_shared(
    files: Sequence[SourceFile],
    targets: TargetSet | None,
    workers: int,
    store: Callable[[list[int], list[FileResult]], None],
) -> None:
    """Step 2: ``workers - 1`` processes claim batches from the front; this process claims them from the
    back and reads them itself until it meets one a worker has claimed, then stores what the workers read."""
    order = batches(files, workers)
    context: Any = multiprocessing.get_context(START_METHOD)  # typeshed: a BaseContext has no Process
    claims = _Claims.none_taken(context, len(order))
    job = _Job(list(files), targets, order, claims, context.Queue())
    processes = [context.Process(target=_serve, args=(job, w), daemon=True) for w in range(workers - 1)]
    for process in processes:
        process.start()
    collect = _Collector(job, processes, store)
    try:
        number = len(order) - 1
        while number >= 0 and claims.take(number):
            store(order[number], read_sources(job.sources(number), targets))
            number -= 1
            collect.ready()
        collect.rest()
    except BaseException:  # nobody needs the workers' batches any more: stop them now
        claims.take_all()
        for process in processes:
            process.terminate()
            process.join()
        raise


@dataclass
class _Collector:
    """This process's end of the results queue: stores each batch a worker read, notes each worker's
    :class:`_Done` and raises its error, and notices a worker that exited without one."""

    job: _Job
    processes: list[Any]  # multiprocessing Process
    store: Callable[[list[int], list[FileResult]], None]
    done: set[int] = field(default_factory=set)

    def ready(self) -> None:
        """Take every message already waiting, without blocking."""
        while self._take(block=False):
            pass

    def rest(self) -> None:
        """Take messages until every worker is done (step 3: no wait for the workers to exit)."""
        while len(self.done) < len(self.processes):
            if not self._take(block=True):
                self._check_alive()

    def _take(self, block: bool) -> bool:
        try:
            message = self.job.results.get(block, POLL_SECONDS)
        except queue.Empty:
            return False
        if isinstance(message, _Done):
            self.done.add(message.worker)
            if message.error is not None:
                raise message.error
        else:
            number, packed = message
            self.store(self.job.order[number], _unpack(packed))
        return True

    def _check_alive(self) -> None:
        """A worker that exited has put everything it sent into the queue's pipe first: take what is
        there, and if its :class:`_Done` is still missing, it was killed or crashed."""
        gone = [w for w, p in enumerate(self.processes) if w not in self.done and p.exitcode is not None]
        if not gone:
            return
        self.ready()
        for w in gone:
            if w not in self.done:
                code = self.processes[w].exitcode
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                raise AnystabError(f"a process reading MRT files stopped unexpectedly ({how})")
