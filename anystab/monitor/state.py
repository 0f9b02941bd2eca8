"""The state folder: one cached element table per processed archive file, and the checkpoint.

Layout::

    <state>/files/<sha1 of path>.parquet   elements kept from one archive file, with the file's
                                           SourceFile / FileResult metadata, size, mtime and the
                                           fingerprint of the targets it was read for
    <state>/files/.index.json              a copy of every entry's metadata (step 5)
    <state>/checkpoint.json                what the dataset reflects (files, settings, the manifest of
                                           the dataset's current partition files), alert episodes,
                                           the outbox
    <state>/carry/<name>                   each service's VP walks at the cut of the last run
                                           (:mod:`anystab.monitor.carry`), named by the checkpoint
    <state>/lock                           see :mod:`anystab.monitor.lock`

Steps and guarantees:

1. A file is *new* when no cache entry has its path with the same size, mtime and targets fingerprint
   (a file that grew or changed is read again and its entry replaced).
2. Every write goes to a hidden temporary file in the same folder, is flushed to disk, then renamed over
   its place (:func:`atomic_write_bytes`): a kill leaves either the old or the new file, never a torn one.
   Files are created user-only (0600) and a new state folder 0700: the outbox may name alert receivers.
3. The cache, not the archive folder, is the record of what was read: files later removed from the archive
   keep their elements, so the monitored period never shrinks.
4. The checkpoint is written last in a run; a run killed before it is simply redone by the next run.
5. ``<state>/files/.index.json`` holds a copy of every entry's metadata with the entry's inode, size and
   mtime, so that a run reads one small file instead of every entry's footer; it is only a shortcut: an
   entry whose stamp differs (or a missing, unreadable index) is read from the entry itself, and the index
   is rewritten atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from anystab import schemas
from anystab.sources import FileResult, Problem, SourceFile

CHECKPOINT_NAME = "checkpoint.json"
FILES_DIR = "files"
INDEX_NAME = ".index.json"
INDEX_VERSION = 1
CARRY_DIR = "carry"
META_KEY = b"anystab.monitor.file"
CHECKPOINT_VERSION = 2
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> None:
    """Create the state folder (and missing parents) readable by its owner only; an existing one is kept as
    it is. The checkpoint holds the alert outbox, so the folder and its files are user-only (0700/0600)."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (hidden temporary file, fsync, rename)."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


@dataclass(frozen=True)
class FileKey:
    """What identifies one version of an archive file."""

    path: str
    size: int
    mtime_ns: int
    targets: str

    @staticmethod
    def of(source: SourceFile, targets: str) -> FileKey:
        st = os.stat(source.path)
        return FileKey(source.path, st.st_size, st.st_mtime_ns, targets)


@dataclass
class CachedFile:
    """One cache entry: the archive file's description, its read result and its key."""

    source: SourceFile
    result: FileResult
    key: FileKey


def cache_name(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()[:24] + ".parquet"


class ElementCache:
    """The per-file element cache of a state folder."""

    def __init__(self, state_dir: Path) -> None:
        make_private_dir(Path(state_dir))
        self.dir = Path(state_dir) / FILES_DIR
        self.dir.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        self._index: dict[str, Any] | None = None

    def keys(self) -> dict[str, FileKey]:
        """Archive path -> key of its cached version (metadata only, elements not read)."""
        return {meta["key"]["path"]: FileKey(**meta["key"]) for _, meta in self._metadata()}

    def _entries(self) -> list[Path]:
        with os.scandir(self.dir) as found:
            names = sorted(
                e.name for e in found if e.name.endswith(".parquet") and not e.name.startswith(".")
            )
        return [self.dir / name for name in names]

    def _metadata(self) -> list[tuple[Path, dict[str, Any]]]:
        """Every entry with its metadata, read from the entry only when the index has no copy of it for
        the entry's current inode, size and mtime (step 5); the index is then rewritten."""
        index_path = self.dir / INDEX_NAME
        known = self._index if self._index is not None else _read_index(index_path)
        entries: dict[str, Any] = {}
        out = []
        for entry in self._entries():
            st = entry.stat()
            stamp = [st.st_ino, st.st_size, st.st_mtime_ns]
            held = known.get(entry.name)
            if isinstance(held, dict) and held.get("stat") == stamp:
                meta = held["meta"]
            else:
                meta = json.loads(pq.read_schema(entry).metadata[META_KEY])
            entries[entry.name] = {"stat": stamp, "meta": meta}
            out.append((entry, meta))
        if entries != known:
            text = json.dumps({"version": INDEX_VERSION, "entries": entries}, separators=(",", ":"))
            atomic_write_bytes(index_path, text.encode())
        self._index = entries  # what the index file holds now (calls in one run share it)
        return out

    def store(self, source: SourceFile, result: FileResult, key: FileKey) -> None:
        """Write one file's elements and metadata atomically."""
        meta = {
            "key": asdict(key),
            "source": asdict(source),
            "result": {k: v for k, v in vars(result).items() if k not in ("elements", "problems")},
            "problems": [asdict(p) for p in result.problems],
        }
        table = result.elements.cast(schemas.ELEMENTS)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta)})
        atomic_write_bytes(self.dir / cache_name(key.path), parquet_bytes(table))

    def load(self, since: float = -math.inf) -> list[CachedFile]:
        """Every cached file, ordered by archive path; elements only of files with records at or after
        ``since`` (or of unknown extent), the others with none."""
        out = []
        self.loaded = 0
        for entry, meta in self._metadata():
            last = meta["result"].get("last_time")
            before = last is not None and last < since
            if since > -math.inf and (before or meta["result"].get("records") == 0):
                elements = schemas.ELEMENTS.empty_table()
            else:
                elements = pq.read_table(entry).cast(schemas.ELEMENTS)
                self.loaded += 1
            result = FileResult(
                elements=elements, problems=[Problem(**p) for p in meta["problems"]], **meta["result"]
            )
            out.append(CachedFile(SourceFile(**meta["source"]), result, FileKey(**meta["key"])))
        return sorted(out, key=lambda c: c.key.path)


def _read_index(path: Path) -> dict[str, Any]:
    """The index's entries; empty when it is missing, unreadable or of another version."""
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
        return {}
    entries = index.get("entries")
    return entries if isinstance(entries, dict) else {}


@dataclass
class Checkpoint:
    """What the dataset reflects and the alerting state, saved atomically as JSON."""

    fingerprint: str = ""
    files: dict[str, list[Any]] = field(default_factory=dict)
    windows: dict[str, list[float]] = field(default_factory=dict)
    runs: int = 0
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifest: dict[str, dict[str, Any]] = field(default_factory=dict)
    carry: dict[str, str] = field(default_factory=dict)
    version: int = CHECKPOINT_VERSION

    def reflects(self, fingerprint: str, keys: dict[str, FileKey]) -> bool:
        """Whether the dataset was built from exactly these cached files and settings."""
        current = {p: [k.size, k.mtime_ns, k.targets] for p, k in keys.items()}
        return self.fingerprint == fingerprint and self.files == current


def checkpoint_path(state_dir: Path) -> Path:
    return Path(state_dir) / CHECKPOINT_NAME


def load_checkpoint(state_dir: Path) -> Checkpoint:
    """The saved checkpoint, or an empty one before the first run."""
    path = checkpoint_path(state_dir)
    if not path.is_file():
        return Checkpoint()
    doc = json.loads(path.read_text())
    if doc.get("version") != CHECKPOINT_VERSION:  # an older layout: keep the alert state, rebuild the rest
        keep = ("episodes", "outbox", "deliveries", "runs")
        return Checkpoint(**{k: v for k, v in doc.items() if k in keep})
    return Checkpoint(**doc)


def save_checkpoint(state_dir: Path, checkpoint: Checkpoint) -> None:
    text = json.dumps(asdict(checkpoint), indent=1, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(checkpoint_path(state_dir), text.encode())


def carry_dir(state_dir: Path) -> Path:
    path = Path(state_dir) / CARRY_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_unnamed_carry(state_dir: Path, named: set[str]) -> None:
    """Delete the saved walks the checkpoint no longer names (after it is saved)."""
    for path in carry_dir(state_dir).iterdir():
        if path.is_file() and not path.name.startswith(".") and path.name not in named:
            path.unlink(missing_ok=True)
