"""Find MRT files, name their collectors, and tell which intervals no update file covers.

Discovery steps:

1. Expand each path: a file is taken as is; a folder is walked recursively in sorted order, skipping
   hidden files and folders and obvious non-MRT files (:data:`NOT_MRT_SUFFIXES`, also when compressed,
   e.g. ``.txt.gz``). A path that does not exist raises :class:`BadInputError`.
2. Name the collector, first match wins:
   a. RIS archive layout ``<rrcNN>/<YYYY.MM>/(updates|bview).YYYYMMDD.HHMM.gz`` -> ``rrcNN``;
   b. RouteViews layout ``<name>/bgpdata/<YYYY.MM>/(UPDATES|RIBS)/...`` -> ``<name>`` when it looks like a
      RouteViews collector (``route-views*``), else ``route-views2`` (whose archive sits at the tree's root);
   c. a BGPStream-style file name ``<project>.<collector>.<updates|ribs|bview>.<unix time>.<ext>``;
   d. the ``collector`` argument; else :class:`ConfigError` asks for ``--collector``.
3. The file name gives a hint of its kind (rib or updates) and its time; the real kind comes from the
   records (:class:`anystab.sources.mrt.FileResult`).

Missing intervals (per collector, update files only; RIB files do not count):

1. Cadence: RIS writes an update file every 300 s, RouteViews every 900 s; otherwise the median spacing of
   the files' times, or, for a single file, no cadence.
2. Each update file covers ``[t, t + cadence)``, t being its name time or else its first record time
   floored to the cadence; a single file of unknown cadence covers its first to last record time.
3. Within the window, holes between covered intervals are ``missing_file``; the parts before the first and
   after the last covered interval are ``outside_data``.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from anystab.errors import BadInputError, ConfigError

if TYPE_CHECKING:
    from anystab.sources.mrt import FileResult

RIS_UPDATES_CADENCE_S = 300.0
ROUTEVIEWS_UPDATES_CADENCE_S = 900.0
NOT_MRT_SUFFIXES = frozenset({".txt", ".json", ".jsonl", ".md", ".parquet", ".csv", ".html", ".toml", ".py"})
COMPRESSION_SUFFIXES = frozenset({".gz", ".bz2"})
DEFAULT_ROUTEVIEWS_COLLECTOR = "route-views2"

_RIS_DIR = re.compile(r"^rrc\d+$")
_MONTH_DIR = re.compile(r"^\d{4}\.\d{2}$")
_ROUTEVIEWS_NAME = re.compile(r"^route-views[\w.\-]*$")
_ARCHIVE_NAME = re.compile(r"(updates|bview|rib|ribs)\.(\d{8})\.(\d{4})(\d{2})?(?!\d)")
_BGPSTREAM_NAME = re.compile(r"^(ris|routeviews)\.(.+)\.(updates|ribs|bview|rib)\.(\d+)\.")
_RIB_WORDS = frozenset({"bview", "rib", "ribs"})
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


@dataclass(frozen=True)
class SourceFile:
    """One MRT file to read: its collector, and hints from its name (kind and time)."""

    path: str
    collector: str
    project: str | None = None
    name_kind: str | None = None
    name_time: float | None = None


def expected_cadence(project: str | None) -> float | None:
    """Seconds between update files of a project's collectors (RIS 300, RouteViews 900), else None."""
    return {"ris": RIS_UPDATES_CADENCE_S, "routeviews": ROUTEVIEWS_UPDATES_CADENCE_S}.get(project or "")


def is_url(source: str) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return bool(_URL.match(source))


def is_candidate(path: PurePath) -> bool:
    """Whether a file of this name may be an MRT dump: not hidden, not a known non-MRT suffix (a local
    path or the path part of a URL)."""
    return _candidate_name(path.name)


def _candidate_name(name: str) -> bool:
    """:func:`is_candidate` of a file name (its suffixes as ``PurePath.suffixes`` tells them)."""
    if name.startswith("."):
        return False
    suffixes = [] if name.endswith(".") else ["." + s.lower() for s in name.split(".")[1:]]
    while suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return not (suffixes and suffixes[-1] in NOT_MRT_SUFFIXES)


def _expand(path: Path) -> Iterator[str]:
    """The files of ``path`` (step 1), each as ``str()`` of its ``Path`` would write it."""
    if os.path.isfile(path):  # a fifth of Path.is_file's time; what it cannot stat, is_dir below tells
        yield str(path)
        return
    if not path.is_dir():
        raise BadInputError(f"no such file or folder: {path}")
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = str(Path(root))  # one Path per folder, not per file: "." is left out, as Path leaves it
        head = "" if base == "." else base if base.endswith(os.sep) else base + os.sep
        for name in sorted(files):
            if _candidate_name(name):
                yield head + name


def _from_layout(parts: Sequence[str]) -> tuple[str, str] | None:
    """(collector, project) from a RIS or RouteViews archive layout, if the path's parts follow one (the
    path split at its separators: an absolute path's first part is empty, where ``Path.parts`` has the
    root; no layout reads it as a name)."""
    if len(parts) >= 3 and _MONTH_DIR.match(parts[-2]) and _RIS_DIR.match(parts[-3]):
        return parts[-3], "ris"
    routeviews = len(parts) >= 4 and parts[-2] in ("UPDATES", "RIBS") and parts[-4] == "bgpdata"
    if routeviews and _MONTH_DIR.match(parts[-3]):
        owner = parts[-5] if len(parts) >= 5 else ""
        return (owner if _ROUTEVIEWS_NAME.match(owner) else DEFAULT_ROUTEVIEWS_COLLECTOR), "routeviews"
    return None


def _name_hints(name: str) -> tuple[str | None, float | None]:
    """(kind, time) from an archive file name such as ``updates.20100227.1600.gz``."""
    match = _ARCHIVE_NAME.search(name)
    if not match:
        return None, None
    word, day, hhmm, ss = match.groups()
    kind = "rib" if word in _RIB_WORDS else "updates"
    midnight = _midnight(day)
    hour, minute, second = int(hhmm[:2]), int(hhmm[2:]), int(ss or 0)
    if midnight is None or hour > 23 or minute > 59 or second > 59:
        return kind, None  # digits that are no time (month 13, hour 24): the name gives none, the records do
    return kind, midnight + 3600 * hour + 60 * minute + second


@functools.lru_cache(maxsize=1024)
def _midnight(day: str) -> float | None:
    """The UTC start of ``YYYYMMDD`` in seconds, or None for digits that are no date (the files of a day
    share it: a datetime made per file was a fifth of discovering it)."""
    try:
        return datetime(int(day[:4]), int(day[4:6]), int(day[6:]), tzinfo=timezone.utc).timestamp()  # noqa: UP017
    except ValueError:
        return None


def describe(path: str | os.PathLike[str], collector: str | None = None) -> SourceFile:
    """A :class:`SourceFile` for one file path (see the module docstring for the naming rules)."""
    return _described(str(path if isinstance(path, Path) else Path(path)), collector)


def _described(text: str, collector: str | None) -> SourceFile:
    """:func:`describe` of a path written as ``str()`` of its ``Path`` writes it."""
    parts = text.split(os.sep)
    name = parts[-1]
    kind, when = _name_hints(name)
    layout = _from_layout(parts)
    if layout is not None:
        return SourceFile(text, layout[0], layout[1], kind, when)
    stream = _BGPSTREAM_NAME.match(name)
    if stream:
        project, label, word, stamp = stream.groups()
        return SourceFile(text, label, project, "rib" if word in _RIB_WORDS else "updates", float(stamp))
    if collector:
        return SourceFile(text, collector, None, kind, when)
    raise ConfigError(f"cannot tell the collector of {text} from its path or name; pass --collector")


def discover(paths: Sequence[str | os.PathLike[str]], collector: str | None = None) -> list[SourceFile]:
    """Every MRT file under ``paths`` (files and folders, recursively, sorted), with its collector."""
    return [_described(found, collector) for path in paths for found in _expand(Path(path))]


WARM_UP_MISSING = "warm_up_missing"


def _coverage(files: list[tuple[SourceFile, FileResult]]) -> list[tuple[float, float]]:
    """Covered [start, end) intervals of one collector's update files, merged."""
    cadence = next((c for c in (expected_cadence(s.project) for s, _ in files) if c), None)
    times = sorted(t for t in (_file_time(s, r, cadence) for s, r in files) if t is not None)
    if cadence is None and len(times) >= 2:
        cadence = statistics.median(b - a for a, b in itertools.pairwise(times))
    if cadence is None or cadence <= 0:
        spans = [(r.first_time, r.last_time) for _, r in files if r.first_time is not None]
        intervals = [(float(a), float(b)) for a, b in spans if b is not None]
    else:
        intervals = [(t, t + cadence) for t in times]
    merged: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _file_time(source: SourceFile, result: FileResult, cadence: float | None) -> float | None:
    if source.name_time is not None:
        return source.name_time
    if result.first_time is None:
        return None
    return result.first_time // cadence * cadence if cadence else result.first_time


def _is_update_file(source: SourceFile, result: FileResult) -> bool:
    return result.kind == "updates" or (result.kind == "empty" and source.name_kind == "updates")


def _update_files(
    files: Sequence[tuple[SourceFile, FileResult]],
) -> dict[str, list[tuple[SourceFile, FileResult]]]:
    """Each collector (with any file) -> its update files."""
    by_collector: dict[str, list[tuple[SourceFile, FileResult]]] = {}
    for source, result in files:
        group = by_collector.setdefault(source.collector, [])
        if _is_update_file(source, result):
            group.append((source, result))
    return by_collector


def _clipped(
    group: list[tuple[SourceFile, FileResult]], start: float, end: float
) -> list[tuple[float, float]]:
    covered = [(max(a, start), min(b, end)) for a, b in _coverage(group)] if group else []
    return [(a, b) for a, b in covered if a < b]


def missing_intervals(
    files: Sequence[tuple[SourceFile, FileResult]], start: float, end: float
) -> list[tuple[str, float, float, str]]:
    """``(collector, start, end, reason)`` for every part of the window no update file covers."""
    by_collector = _update_files(files)
    out: list[tuple[str, float, float, str]] = []
    for name in sorted(by_collector):
        covered = _clipped(by_collector[name], start, end)
        if not covered:
            out.append((name, start, end, "outside_data"))
            continue
        if start < covered[0][0]:
            out.append((name, start, covered[0][0], "outside_data"))
        out.extend((name, a[1], b[0], "missing_file") for a, b in itertools.pairwise(covered))
        if covered[-1][1] < end:
            out.append((name, covered[-1][1], end, "outside_data"))
    return out


def warm_up_holes(
    files: Sequence[tuple[SourceFile, FileResult]], rib_times: Mapping[str, float], start: float
) -> list[tuple[str, float, float, str]]:
    """``(collector, a, b, "warm_up_missing")`` for every part of [RIB dump, window start) that no update
    file covers: route changes there are invisible, so the state at the window start may be stale."""
    by_collector = _update_files(files)
    out: list[tuple[str, float, float, str]] = []
    for name in sorted(rib_times):
        since = rib_times[name]
        if since >= start:
            continue
        edges = [
            since,
            *(t for span in _clipped(by_collector.get(name, []), since, start) for t in span),
            start,
        ]
        out.extend(
            (name, a, b, WARM_UP_MISSING) for a, b in zip(edges[::2], edges[1::2], strict=True) if b > a
        )
    return out
