"""Read many MRT files in a process pool, results in input order.

Steps:

1. ``jobs=0`` means one worker per core; ``jobs=1`` (or a single file) reads in this process.
2. Otherwise submit one task per file to a ``ProcessPoolExecutor`` (processes, not threads: mrtparse keeps
   per-record flags in module-level globals).
3. Report progress as each file finishes (``progress(1)`` per file, suited to a progress bar's advance),
   and return results in the order of ``files``: the same as reading them one by one.

An error that stops a file (missing or unreadable path) is raised here as in a serial read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from anystab.sources.archive import SourceFile
from anystab.sources.mrt import FileResult, read_mrt_file
from anystab.targets import TargetSet


def _read(source: SourceFile, targets: TargetSet | None) -> FileResult:
    return read_mrt_file(source.path, targets, source.collector)


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
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_read, source, targets): i for i, source in enumerate(files)}
        for future in as_completed(futures):
            slots[futures[future]] = future.result()
            if progress is not None:
                progress(1)
    return [r for r in slots if r is not None]
