"""Fetch archive files into a local cache that keeps the archive's own layout.

Steps:

1. Plan (:func:`plan_fetch`): per collector, the update files of the window and (with ``ribs``) the RIB
   dump at or before its start, each with its URL (project base URL or mirror) and its path in the cache
   (:mod:`anystab.sources.registry`). A RIB dump comes with :data:`RIB_FALLBACK_STEPS` earlier dumps to
   try when the archive lacks it. With ``warm_up`` (the default) also the update files from the RIB
   dump's time up to the window start, so that the analysis replays them and starts from the exact state
   at the window start; when an earlier dump had to stand in for a missing one, the update files from that
   dump's time on are fetched too, once the dumps are settled.
2. Skip what the cache holds: a file in place is whole, since only whole files are moved in (``verify``
   decompresses it again and fetches it anew when damaged). A file recorded missing is not asked for again
   once the archive had :data:`MISSING_SETTLED_S` after its slot to publish it.
3. Download in a thread pool of ``jobs`` threads (the work is waiting on the network). A file is written
   to a hidden ``.<name>.part`` beside its place (hidden, so that reading the cache folder never takes a
   part for data). An existing part is resumed with an HTTP ``Range`` request: 206 appends, 200 starts
   over, 416 drops the part. A body shorter than its ``Content-Length`` is an error.
4. The part must decompress whole, to the end marker of its last gzip member or bzip2 stream, and be
   compressed as its name says (:mod:`anystab.sources.decompress`). Then it is flushed to disk and moved
   into place with ``os.replace`` (atomic within one folder).
5. Connection errors, time-outs, short bodies, HTTP 5xx, 408 and 429, and damaged content are retried up to
   ``retries`` more times after ``backoff * 2**n`` seconds (at most :data:`MAX_BACKOFF_S`). A damaged part is
   deleted; any other part is kept and resumed. Other HTTP errors fail the file at once.
6. HTTP 404 and 410 (and a missing ``file://`` path) mean the archive lacks the file. Missing files are
   recorded in ``<cache>/.anystab-missing.json`` (:func:`load_missing`), merged with what other runs wrote
   and replaced atomically; a file found later is taken off the record.

The library never prints: progress goes to a callback, the outcome is a :class:`FetchReport`.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anystab import __version__
from anystab.errors import ConfigError
from anystab.sources.decompress import open_stream
from anystab.sources.registry import (  # noqa: F401 (re-exported)
    DEFAULT_JOBS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Collector,
    archive_path,
    base_url,
    cache_path,
    get_collector,
    redact_url,
    resolve_collectors,
    rib_slot,
    update_slots,
    url_credentials,
)

USER_AGENT = f"anystab/{__version__}"
CHUNK_SIZE = 1 << 16
MISSING_FILE = ".anystab-missing.json"
MISSING_SETTLED_S = 2 * 86400
RIB_FALLBACK_STEPS = 3
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
GONE_STATUS = frozenset({404, 410})
RETRY_STATUS = frozenset({408, 429})
_COMPRESSION = {".gz": "gzip", ".bz2": "bzip2"}
_RETRYABLE = (OSError, http.client.HTTPException)


@dataclass(frozen=True)
class RemoteFile:
    """One archive file: where it is fetched from and where it lives in the cache (relative path)."""

    collector: str
    project: str
    kind: str
    time: int
    url: str
    path: str
    warm_up: bool = False  # an update file between the RIB dump and the window start

    @property
    def role(self) -> str:
        """``rib``, ``warm_up`` or ``window``: why the file is fetched."""
        return "rib" if self.kind == "rib" else "warm_up" if self.warm_up else "window"


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch: collectors (names, projects or ``all``), the window, the cache, and how."""

    collectors: tuple[str, ...]
    start: float
    end: float
    cache: Path
    ribs: bool = True
    warm_up: bool = True
    mirrors: Mapping[str, str] = field(default_factory=dict)
    jobs: int = DEFAULT_JOBS
    retries: int = DEFAULT_RETRIES
    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff_s: float = DEFAULT_BACKOFF_S
    verify: bool = False

    def validate(self) -> None:
        if not self.collectors:
            raise ConfigError("no collectors: name at least one with --collector")
        if self.end <= self.start:
            raise ConfigError("the window's end must be after its start")
        if self.jobs < 1 or self.retries < 0 or self.timeout_s <= 0 or self.backoff_s < 0:
            raise ConfigError("jobs must be 1 or more, retries and backoff not negative, timeout positive")


@dataclass
class FileOutcome:
    """What happened to one file: cached, downloaded, missing, known_missing or failed."""

    file: RemoteFile
    status: str
    path: Path | None = None
    bytes: int = 0
    attempts: int = 0
    error: str | None = None


@dataclass
class FetchReport:
    """Every file's outcome, plus notes (e.g. a window outside a collector's active years)."""

    cache: Path
    outcomes: list[FileOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def paths(self) -> list[Path]:
        """Local paths of every file that is in the cache now (cached or downloaded), in plan order."""
        return [o.path for o in self.outcomes if o.path is not None]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def bytes_downloaded(self) -> int:
        return sum(o.bytes for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary with every file's outcome."""
        statuses = ("cached", "downloaded", "missing", "known_missing", "failed")
        warm = [o for o in self.outcomes if o.file.warm_up]
        return {
            "cache": str(self.cache),
            "counts": {s: self.count(s) for s in statuses},
            "bytes_downloaded": self.bytes_downloaded,
            "warm_up": {
                "files": len(warm),
                "in_cache": sum(1 for o in warm if o.path is not None),
                "missing": sum(1 for o in warm if o.status in ("missing", "known_missing")),
                "bytes_downloaded": sum(o.bytes for o in warm),
            },
            "notes": self.notes,
            "files": [
                {
                    "url": redact_url(o.file.url),
                    "path": o.file.path,
                    "collector": o.file.collector,
                    "kind": o.file.kind,
                    "role": o.file.role,
                }
                | {"status": o.status, "bytes": o.bytes, "attempts": o.attempts, "error": o.error}
                for o in self.outcomes
            ],
        }


@dataclass(frozen=True)
class FetchProgress:
    """A progress snapshot: files finished (of all planned) and bytes received so far."""

    files_done: int
    files_total: int
    bytes_done: int


ProgressCallback = Callable[[FetchProgress], None]


# --- the plan ----------------------------------------------------------------------------------------


def plan_fetch(request: FetchRequest) -> tuple[list[tuple[RemoteFile, ...]], list[str]]:
    """Files to fetch, each with its fallbacks (RIB dumps), and notes about the collectors chosen."""
    request.validate()
    plan: list[tuple[RemoteFile, ...]] = []
    notes: list[str] = []
    for coll in resolve_collectors(request.collectors, request.start, request.end):
        if not coll.active_in(request.start, request.end):
            notes.append(f"{coll.name} is listed as active in {coll.years()}: files may be missing")
        if not coll.listed:
            notes.append(f"{coll.name} is not in the registry; assuming the {coll.project} layout")
        if request.ribs:
            ribs = tuple(
                _remote(request, coll, "rib", rib_slot(coll, request.start, k))
                for k in range(RIB_FALLBACK_STEPS + 1)
            )
            plan.append(ribs)
            if request.warm_up:
                plan.extend((f,) for f in warm_up_files(request, coll, ribs[0].time))
        plan.extend(
            (_remote(request, coll, "updates", slot),)
            for slot in update_slots(coll, request.start, request.end)
        )
    return plan, notes


def _remote(
    request: FetchRequest, coll: Collector, kind: str, slot: int, warm_up: bool = False
) -> RemoteFile:
    url = base_url(coll.project, request.mirrors) + archive_path(coll, kind, slot)
    return RemoteFile(coll.name, coll.project, kind, slot, url, cache_path(coll, kind, slot), warm_up)


def warm_up_files(
    request: FetchRequest, coll: Collector, since: float, until: float | None = None
) -> list[RemoteFile]:
    """The update files holding records of [``since``, ``until``) (default: the window start) that are not
    the window's own: what the analysis replays from a RIB dump of time ``since`` up to the window."""
    first_window_slot = update_slots(coll, request.start, request.end)[0]
    stop = first_window_slot if until is None else min(until, first_window_slot)
    return [_remote(request, coll, "updates", s, True) for s in update_slots(coll, since, stop) if s < stop]


def planned_files(request: FetchRequest) -> list[RemoteFile]:
    """The first choice of every planned file (what ``--dry-run`` lists)."""
    return [candidates[0] for candidates in plan_fetch(request)[0]]


# --- missing files -----------------------------------------------------------------------------------


def load_missing(cache: Path) -> dict[str, dict[str, Any]]:
    """The cache's record of files the archive lacked: cache path -> url, collector, kind, time, status,
    checked (Unix seconds). Empty when there is no record or it cannot be read."""
    try:
        data = json.loads((Path(cache) / MISSING_FILE).read_text())
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


class _MissingRecord:
    """The record of missing files, changed by worker threads and saved once (merged, atomically)."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.known = load_missing(cache)
        self.added: dict[str, dict[str, Any]] = {}
        self.removed: set[str] = set()
        self.lock = threading.Lock()

    def settled(self, remote: RemoteFile) -> bool:
        entry = self.known.get(remote.path)
        return entry is not None and float(entry.get("checked", 0)) - remote.time >= MISSING_SETTLED_S

    def add(self, remote: RemoteFile, status: int) -> None:
        entry = {
            "url": redact_url(remote.url),
            "collector": remote.collector,
            "kind": remote.kind,
            "time": remote.time,
        }
        with self.lock:
            self.added[remote.path] = entry | {"status": status, "checked": int(time.time())}
            self.removed.discard(remote.path)

    def discard(self, remote: RemoteFile) -> None:
        with self.lock:
            self.added.pop(remote.path, None)
            if remote.path in self.known:
                self.removed.add(remote.path)

    def save(self) -> None:
        if not self.added and not self.removed:
            return
        files = load_missing(self.cache)
        files.update(self.added)
        for path in self.removed:
            files.pop(path, None)
        text = json.dumps({"version": 1, "files": dict(sorted(files.items()))}, indent=1)
        _write_atomic(self.cache / MISSING_FILE, text.encode())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# --- one file ----------------------------------------------------------------------------------------


class _Gone(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _Fatal(Exception):
    """An answer that retrying will not change (e.g. HTTP 403)."""


class _Retry(Exception):
    """A transfer to try again: short body, HTTP 5xx."""


class _RangeRefused(_Retry):
    """HTTP 416 for a resumed transfer: the partial file is dropped and the next try starts over."""


@dataclass
class _Context:
    request: FetchRequest
    missing: _MissingRecord
    opener: urllib.request.OpenerDirector
    sleep: Callable[[float], None]
    progress: ProgressCallback | None
    total: int
    done: int = 0
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, n: int) -> None:
        with self.lock:
            self.received += n
            self._report()

    def file_done(self) -> None:
        with self.lock:
            self.done += 1
            self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(FetchProgress(self.done, self.total, self.received))


def check_whole(path: Path, name: str | None = None) -> str | None:
    """None when the file decompresses whole and is compressed as ``name`` (default: its own) says;
    else the problem."""
    stream = open_stream(path)
    for _ in stream:
        pass
    if stream.problem is not None:
        return stream.problem
    want = _COMPRESSION.get(Path(name or path.name).suffix)
    if want is not None and stream.format != want:
        return f"not {want} data ({stream.format} bytes)"
    return None


def _part_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.part")


def _fetch_one(ctx: _Context, remote: RemoteFile) -> FileOutcome:
    dest = ctx.request.cache / remote.path
    if dest.is_file():
        if not ctx.request.verify or check_whole(dest) is None:
            return FileOutcome(remote, "cached", dest)
        dest.unlink()
    if ctx.missing.settled(remote):
        return FileOutcome(remote, "known_missing")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return _download(ctx, remote, dest)


def _download(ctx: _Context, remote: RemoteFile, dest: Path) -> FileOutcome:
    part, outcome = _part_path(dest), FileOutcome(remote, "failed")
    for attempt in range(1, ctx.request.retries + 2):
        outcome.attempts = attempt
        if attempt > 1:
            ctx.sleep(min(MAX_BACKOFF_S, ctx.request.backoff_s * 2 ** (attempt - 2)))
        try:
            _transfer(ctx, remote.url, part, outcome)
        except _Gone as exc:
            part.unlink(missing_ok=True)
            ctx.missing.add(remote, exc.status)
            outcome.status, outcome.error = "missing", str(exc)
            return outcome
        except _Fatal as exc:
            outcome.error = str(exc)
            return outcome
        except (_Retry, *_RETRYABLE) as exc:
            outcome.error = _describe(exc)
            continue
        problem = check_whole(part, remote.path)
        if problem is not None:
            part.unlink(missing_ok=True)
            outcome.error = f"damaged download: {problem}"
            continue
        _commit(part, dest)
        ctx.missing.discard(remote)
        outcome.status, outcome.path, outcome.error = "downloaded", dest, None
        return outcome
    return outcome


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return f"connection failed: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _open(ctx: _Context, url: str, have: int) -> Any:
    url, auth = url_credentials(url)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **auth}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return ctx.opener.open(urllib.request.Request(url, headers=headers), timeout=ctx.request.timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in GONE_STATUS:
            raise _Gone(exc.code) from None
        if exc.code == 416:
            raise _RangeRefused("HTTP 416 for the partial file") from None
        if exc.code >= 500 or exc.code in RETRY_STATUS:
            raise _Retry(f"HTTP {exc.code}") from None
        raise _Fatal(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):
            raise _Gone(404) from None
        raise


def _transfer(ctx: _Context, url: str, part: Path, outcome: FileOutcome) -> None:
    """Fetch (or resume) ``url`` into ``part``, counting bytes on ``outcome``. Raises on a short body."""
    have = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(ctx, url, have)
    except _RangeRefused:
        part.unlink(missing_ok=True)
        raise
    with resp:
        append = have > 0 and getattr(resp, "status", None) == 206 and _range_start(resp) == have
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.strip().isdigit() else None
        received = 0
        with open(part, "ab" if append else "wb") as out:
            for chunk in _chunks(resp):
                out.write(chunk)
                received += len(chunk)
                outcome.bytes += len(chunk)
                ctx.add_bytes(len(chunk))
    if expected is not None and received < expected:
        raise _Retry(f"connection closed after {received} of {expected} bytes")


def _chunks(resp: Any) -> Iterator[bytes]:
    while chunk := resp.read(CHUNK_SIZE):
        yield chunk


def _range_start(resp: Any) -> int | None:
    """The first byte of a 206 answer, from ``Content-Range: bytes FIRST-LAST/SIZE``."""
    value = resp.headers.get("Content-Range", "")
    unit, _, spec = value.partition(" ")
    first = spec.partition("-")[0]
    return int(first) if unit == "bytes" and first.isdigit() else None


def _commit(part: Path, dest: Path) -> None:
    with open(part, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(part, dest)
    try:
        folder = os.open(dest.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# --- all files ---------------------------------------------------------------------------------------


def _fetch_candidates(ctx: _Context, candidates: tuple[RemoteFile, ...]) -> list[FileOutcome]:
    """Try a file and its fallbacks in order until one is not missing."""
    outcomes = []
    for remote in candidates:
        outcomes.append(_fetch_one(ctx, remote))
        if outcomes[-1].status not in ("missing", "known_missing"):
            break
    ctx.file_done()
    return outcomes


def _ignore_sigpipe() -> None:
    """Ignore SIGPIPE, as Python does by default: mrtparse (imported by the reading side) restores its
    default action, which kills the whole process when a server closes a socket this one writes to."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def fetch(
    request: FetchRequest,
    progress: ProgressCallback | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Bring every planned file into the cache (see the module docstring); never raises for one file."""
    plan, notes = plan_fetch(request)
    _ignore_sigpipe()
    request.cache.mkdir(parents=True, exist_ok=True)
    missing = _MissingRecord(request.cache)
    opener = opener or urllib.request.build_opener()
    ctx = _Context(request, missing, opener, sleep, progress, len(plan))
    report = FetchReport(request.cache, notes=notes)
    try:
        with ThreadPoolExecutor(max_workers=request.jobs, thread_name_prefix="anystab-fetch") as pool:
            for outcomes in pool.map(lambda c: _fetch_candidates(ctx, c), plan):
                report.outcomes.extend(outcomes)
            extra = _fallback_warm_up(request, plan, report.outcomes)
            ctx.total += len(extra)
            for outcomes in pool.map(lambda c: _fetch_candidates(ctx, c), extra):
                report.outcomes.extend(outcomes)
    finally:
        missing.save()
    return report


def _fallback_warm_up(
    request: FetchRequest, plan: list[tuple[RemoteFile, ...]], outcomes: list[FileOutcome]
) -> list[tuple[RemoteFile, ...]]:
    """Step 1's late part: for each collector whose RIB dump came from an earlier fallback, the update files
    from that dump's time up to the first choice's (where the planned warm-up starts)."""
    if not (request.ribs and request.warm_up):
        return []
    got = {o.file.collector: o.file.time for o in outcomes if o.file.kind == "rib" and o.path is not None}
    extra: list[tuple[RemoteFile, ...]] = []
    for candidates in plan:
        first = candidates[0]
        if first.kind == "rib" and got.get(first.collector, first.time) < first.time:
            coll = get_collector(first.collector)
            extra += [(f,) for f in warm_up_files(request, coll, got[first.collector], first.time)]
    return extra
