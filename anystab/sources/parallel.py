"""Read many MRT files in a process pool, results in input order.

Steps:

1. ``jobs=0`` means one worker per core; ``jobs=1`` (or a single file) reads in this process.
2. Otherwise split the files into batches of about ``total bytes / (workers x TASKS_PER_WORKER)``, larger
   files first (a file takes milliseconds: one task per file would spend more on passing tasks and
   results between processes than on reading). All batches go to ``workers - 1`` processes of a
   ``ProcessPoolExecutor``, largest first; meanwhile this process takes the batches none has started
   from the back (the smallest) and reads them itself, so that ``workers`` processes read until the end
   (processes, not threads: mrtparse keeps per-record flags in module-level globals).
3. Report progress as each batch finishes (``progress(1)`` per file of it, suited to a progress bar's
   advance), and return results in the order of ``files``: the same as reading them one by one.

An error that stops a file (missing or unreadable path) is raised here as in a serial read.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from anystab.sources.archive import SourceFile
from anystab.sources.mrt import FileResult, read_mrt_file
from anystab.targets import TargetSet

TASKS_PER_WORKER = 16


def _read(source: SourceFile, targets: TargetSet | None) -> FileResult:
    return read_mrt_file(source.path, targets, source.collector)


def _read_batch(sources: list[SourceFile], targets: TargetSet | None) -> list[FileResult]:
    return [_read(source, targets) for source in sources]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # reported by the read itself
        return 0


def batches(files: Sequence[SourceFile], workers: int) -> list[list[int]]:
    """Indexes of ``files`` in batches of about equal bytes, larger files first (step 2)."""
    sizes = [max(_size(f.path), 1) for f in files]
    target = sum(sizes) / max(1, workers * TASKS_PER_WORKER)
    out: list[list[int]] = []
    filled = 0.0
    for i in sorted(range(len(files)), key=lambda i: (-sizes[i], i)):
        if not out or filled >= target:
            out.append([])
            filled = 0.0
        out[-1].append(i)
        filled += sizes[i]
    return out


def worker_count(jobs: int, files: int) -> int:
    """How many worker processes to use for ``files`` files (``jobs=0``: all cores)."""
    wanted = jobs if jobs > 0 else (os.cpu_count() or 1)
    return max(1, min(wanted, files))


def read_files(
    files: Sequence[SourceFile],
    targets: TargetSet | None,
    jobs: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Read every file (see the module docstring); ``progress`` is called with 1 as each file finishes."""
    workers = worker_count(jobs, len(files))
    if workers == 1:
        results = []
        for source in files:
            results.append(_read(source, targets))
            if progress is not None:
                progress(1)
        return results
    slots: list[FileResult | None] = [None] * len(files)

    def store(batch: list[int], results: list[FileResult]) -> None:
        for i, result in zip(batch, results, strict=True):
            slots[i] = result
            if progress is not None:
                progress(1)

    _read_shared(files, targets, workers, store)
    return [r for r in slots if r is not None]


def _read_shared(
    files: Sequence[SourceFile],
    targets: TargetSet | None,
    workers: int,
    store: Callable[[list[int], list[FileResult]], None],
) -> None:
    """Step 2: every batch goes to ``workers - 1`` processes in order; meanwhile this process takes the
    batches none has started from the back (cancelling them there) and reads them itself."""
    with ProcessPoolExecutor(max_workers=workers - 1) as pool:
        submitted = [
            (pool.submit(_read_batch, [files[i] for i in batch], targets), batch)
            for batch in batches(files, workers)
        ]
        pending = deque(submitted)
        try:
            while pending and pending[-1][0].cancel():
                _future, batch = pending.pop()
                store(batch, _read_batch([files[i] for i in batch], targets))
                while pending and pending[0][0].done():
                    future, batch = pending.popleft()
                    store(batch, future.result())
            for future, batch in pending:
                store(batch, future.result())
        except BaseException:  # an unreadable file: do not read the rest before raising
            for future, _batch in pending:
                future.cancel()
            raise
