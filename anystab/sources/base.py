"""Where the analysis' files come from: the :class:`Source` protocol and anystab's own reader.

A source does the first two steps of :func:`anystab.pipeline.analyze`; everything after them (window,
RIB choice, ordering, gaps, timeline, events, estimates) is the same for every source, so two sources
give the same analysis of the same files.

1. ``discover(sources, collector)``: the files under the paths (or URLs) given, in a folder walk's order,
   each with its collector, kind and time (:class:`~anystab.sources.archive.SourceFile`).
2. ``read(files, targets, jobs, progress, executor)``: one
   :class:`~anystab.sources.mrt.FileResult` per file, in the order of ``files``, with the elements the
   targets may need; ``progress(n)`` as ``n`` more files are done.

:class:`FilesSource` (the default) discovers local paths and fsspec URLs
(:func:`anystab.sources.remote.discover_sources`) and reads them with anystab's MRT reader: on this
machine with :func:`anystab.sources.parallel.read_files` (``jobs`` processes, or the local executor's),
on a Dask cluster with the executor's map (:func:`anystab.executors.plan.read_on`).
:class:`~anystab.sources.bgpstream.BgpStreamSource` reads local files with libbgpstream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from anystab.errors import BadInputError
from anystab.sources.archive import SourceFile
from anystab.sources.mrt import FileResult
from anystab.targets import TargetSet

if TYPE_CHECKING:
    from anystab.executors.protocol import Executor

ProgressCallback = Callable[[int], None]


class Source(Protocol):
    """Finds files and reads them into one FileResult each, in the order given."""

    name: str

    def discover(self, sources: Sequence[str], collector: str | None = None) -> list[SourceFile]: ...

    def read(
        self,
        files: Sequence[SourceFile],
        targets: TargetSet,
        jobs: int = 0,
        progress: ProgressCallback | None = None,
        executor: Executor | None = None,
    ) -> list[FileResult]: ...


class FilesSource:
    """anystab's own MRT reader, for local paths and URLs (see the module docstring)."""

    name = "files"

    def discover(self, sources: Sequence[str], collector: str | None = None) -> list[SourceFile]:
        from anystab.sources.remote import discover_sources

        return discover_sources(sources, collector)

    def read(
        self,
        files: Sequence[SourceFile],
        targets: TargetSet,
        jobs: int = 0,
        progress: ProgressCallback | None = None,
        executor: Executor | None = None,
    ) -> list[FileResult]:
        """With no executor or the local one, :func:`~anystab.sources.parallel.read_files` in ``jobs`` (the
        executor's) processes; with another executor, batches of files on it."""
        from anystab.sources.parallel import read_files

        if executor is None:  # (the executors' modules, with concurrent.futures, are not needed then)
            return read_files(files, targets, jobs, progress)
        from anystab.executors.local import LocalExecutor

        if isinstance(executor, LocalExecutor):
            return read_files(files, targets, executor.jobs, progress)
        from anystab.executors.plan import read_on

        return read_on(executor, files, targets, progress)


def make_source(name: str) -> Source:
    """The source called ``name``: ``files`` or ``bgpstream`` (which checks pybgpstream is importable)."""
    if name == "files":
        return FilesSource()
    if name == "bgpstream":
        from anystab.sources.bgpstream import BgpStreamSource

        return BgpStreamSource()
    raise BadInputError(f"unknown source {name!r}: use files or bgpstream")
