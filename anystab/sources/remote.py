"""Sources any process can read: local paths (on storage all workers share) and fsspec URLs.

Discovery (:func:`discover_sources`, on the machine that runs the analysis):

1. A local path is discovered by :func:`anystab.sources.discover`, as in a local run.
2. A URL (``s3://bucket/ris/``, ``https://host/archive/``, ``file:///data/``, ``memory://...``) is opened
   with fsspec: a name ending in ``/`` or a folder is listed recursively (over HTTP, by the links of the
   index pages), anything else is one file. Files are put in the order a local folder walk gives (a
   folder's files before its subfolders, each sorted), hidden and non-MRT names are skipped, and each
   file's collector, kind and time come from the path part of its URL exactly as for a local path.

Reading (:func:`read_source`, in whichever process reads the file: this one, a local worker process of
:mod:`anystab.sources.parallel`, or a Dask worker):

1. A local path is read by :func:`anystab.sources.read_mrt_file`; :func:`read_sources` reads each run of
   local paths among its files by :func:`anystab.sources.mrt.read_mrt_files` (one table, sliced per file).
2. A URL is copied in :data:`COPY_CHUNK` pieces to a temporary file on the worker's disk, read there, and
   the temporary file is removed; the result names the URL wherever it would name the file (its path,
   its problems, each element's ``source``). A URL that cannot be read raises
   :class:`SourceUnavailableError`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from anystab.errors import BadInputError, SourceUnavailableError
from anystab.sources.archive import SourceFile, describe, discover, is_candidate, is_url
from anystab.sources.decompress import StreamsAhead
from anystab.sources.mrt import FileResult, Problem, read_mrt_file, read_mrt_files
from anystab.targets import TargetSet
from anystab.text import pip_install

INSTALL_HINT = f"reading URLs needs fsspec: {pip_install('dask')}; plus s3fs for s3://, aiohttp for http"
COPY_CHUNK = 1 << 22


def import_fsspec() -> Any:
    """The fsspec module, or :class:`SourceUnavailableError` with :data:`INSTALL_HINT`."""
    try:
        import fsspec
    except ImportError as exc:
        raise SourceUnavailableError(f"{INSTALL_HINT} (import failed: {exc})") from None
    return fsspec


def walk_key(relative: str) -> tuple[tuple[int, str], ...]:
    """Sort key giving a local folder walk's order: a folder's files first, then its subfolders."""
    parts = [p for p in relative.split("/") if p]
    return (*((1, d) for d in parts[:-1]), (0, parts[-1] if parts else ""))


def _listing(fs: Any, root: str) -> list[str]:
    if not root.endswith("/") and fs.isfile(root):
        return [root]
    found = fs.find(root)
    base = root.rstrip("/") + "/"
    inside = [p for p in found if p.startswith(base) and is_candidate(PurePosixPath(p))]
    hidden = [p for p in inside if any(part.startswith(".") for part in p[len(base) :].split("/"))]
    return sorted(set(inside) - set(hidden), key=lambda p: walk_key(p[len(base) :]))


def _check_readable(fs: Any, root: str, url: str) -> None:
    """An empty listing of a URL that cannot be read at all (a server down, a name that does not resolve)
    is told as such, not as a folder without MRT files."""
    try:
        if not fs.isdir(root):
            fs.cat_file(root, start=0, end=1)
    except OSError as exc:
        raise SourceUnavailableError(f"cannot read URL: {url} ({exc})") from None


def discover_url(url: str, collector: str | None = None) -> list[SourceFile]:
    """Every MRT file at or under ``url`` (see the module docstring), each with its collector."""
    fsspec = import_fsspec()
    try:
        fs, root = fsspec.core.url_to_fs(url)
        paths = _listing(fs, root)
    except (OSError, ValueError) as exc:
        raise SourceUnavailableError(f"cannot read URL: {url} ({exc})") from None
    except ImportError as exc:
        raise SourceUnavailableError(f"{INSTALL_HINT} (for {url}: {exc})") from None
    if not paths:
        _check_readable(fs, root, url)
        raise BadInputError(f"no MRT files found at {url}")
    files = []
    for path in paths:
        full = fs.unstrip_protocol(path)
        files.append(replace(describe(urlsplit(full).path, collector), path=full))
    return files


def discover_sources(sources: Sequence[str], collector: str | None = None) -> list[SourceFile]:
    """Local paths and URLs, each discovered in the order given."""
    files: list[SourceFile] = []
    for source in sources:
        files += discover_url(source, collector) if is_url(source) else discover([source], collector)
    return files


def relabel(result: FileResult, name: str) -> FileResult:
    """``result`` with every mention of the file it was read from replaced by ``name``."""
    elements = result.elements
    if "source" in elements.column_names and elements.num_rows:
        column = elements.schema.get_field_index("source")
        values = pa.array([name] * elements.num_rows, type=elements.schema.field("source").type)
        elements = elements.set_column(column, elements.schema.field("source"), values)
    problems = [Problem(name, p.offset, p.reason, p.count) for p in result.problems]
    return replace(result, path=name, elements=elements, problems=problems)


def read_sources(
    files: Sequence[SourceFile], targets: TargetSet | None, streams: StreamsAhead | None = None
) -> list[FileResult]:
    """:func:`read_source` of each file, in order; runs of local paths read by
    :func:`anystab.sources.mrt.read_mrt_files` (their elements one table, sliced per file; opened by
    ``streams`` when given)."""
    results: list[FileResult] = []
    local: list[tuple[str, str]] = []
    for file in [*files, None]:
        if file is not None and not is_url(file.path):
            local.append((file.path, file.collector))
            continue
        if local:
            results += read_mrt_files(local, targets, streams)
            local = []
        if file is not None:
            results.append(read_source(file, targets))
    return results


def read_source(file: SourceFile, targets: TargetSet | None) -> FileResult:
    """Read one local file or URL into a FileResult (see the module docstring)."""
    if not is_url(file.path):
        return read_mrt_file(file.path, targets, file.collector)
    fsspec = import_fsspec()
    with tempfile.TemporaryDirectory(prefix="anystab-") as tmp:
        local = Path(tmp) / (PurePosixPath(urlsplit(file.path).path).name or "mrt")
        try:
            with fsspec.open(file.path, "rb") as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
        except (OSError, ValueError) as exc:
            raise SourceUnavailableError(f"cannot read {file.path}: {exc}") from None
        return relabel(read_mrt_file(local, targets, file.collector), file.path)
