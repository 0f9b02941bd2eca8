"""The monitoring dataset: timeline, events and per-interval VP statistics and estimates, partitioned by day.

Layout: ``<output>/<table>/day=YYYY-MM-DD/part-<digest>.parquet`` (hive partitioning, UTC days) for the
tables of :data:`PARTITION_COLUMN`, and ``<output>/_manifest.json`` naming the one current file of each
partition. Every row carries its ``service``; rows go to the day of their partition column. The
per-interval tables are described in :mod:`anystab.monitor.intervals`.

Generations (a reader never sees a mix of two runs):

1. A partition's file is named by the digest of its rows (Arrow IPC bytes, SHA-256): new content gets a
   new name, and a file named by the manifest is never overwritten or deleted while it is named.
2. A run writes the changed partitions (:func:`write_partitions`: hidden temporary file, flush, rename),
   each compared by digest with the manifest first (equal -> left alone: a re-run changes nothing).
3. The run's new manifest goes into the checkpoint (the commit point, :mod:`anystab.monitor.state`).
4. :func:`publish` then writes ``_manifest.json`` atomically and deletes the files it does not name
   (the previous generation, files of a killed run), and stale temporary files. Every run publishes its
   checkpoint's manifest first, so a run killed anywhere is tidied up by the next one.

Readers (:func:`read_dataset`, ``anystab history``) read only the files the manifest names: the set of
one committed run, whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from anystab import schemas
from anystab.monitor.state import atomic_write_bytes, parquet_bytes
from anystab.text import iso_utc

PARTITION_COLUMN = {
    "timeline": "start",
    "events": "time",
    "vp_stats": "interval_start",
    "estimates": "interval_start",
}
INTERVAL_TABLES = frozenset({"vp_stats", "estimates"})
MANIFEST_NAME = "_manifest.json"
PART_PREFIX = "part-"
DIGEST_CHARS = 24
DIGEST_KEY = b"anystab.digest"
_INTERVAL_FIELDS = [
    pa.field("interval_start", schemas.TS, metadata={"doc": "interval start (inclusive)"}),
    pa.field("interval_end", schemas.TS, metadata={"doc": "interval end (exclusive)"}),
]
PartKey = tuple[str, str]
Manifest = dict[str, dict[str, Any]]


def iso(seconds: float) -> str:
    """UTC time as ISO 8601 text with a Z (to the millisecond)."""
    return iso_utc(seconds)


def day_of(seconds: float) -> str:
    return str(pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%d"))


def dataset_schema(name: str) -> pa.Schema:
    """A dataset table's schema: ``service``, the interval (per-interval tables), then the stage's columns."""
    base = schemas.TABLES[name]
    fields = [pa.field("service", pa.string(), metadata={"doc": "service name from the config"})]
    fields += _INTERVAL_FIELDS if name in INTERVAL_TABLES else []
    meta = {**(base.metadata or {}), b"anystab.dataset": b"monitor"}
    return pa.schema([*fields, *base], metadata=meta)


def manifest_key(name: str, day: str) -> str:
    return f"{name}/day={day}"


def split_key(key: str) -> PartKey:
    name, day = key.split("/day=")
    return name, day


def to_partitions(
    frames: Sequence[dict[str, pd.DataFrame]], days: Mapping[str, set[str] | None]
) -> dict[PartKey, pa.Table]:
    """(table, day) -> that day's rows, services in order, each service's rows in stage order.

    ``days[table]`` limits the days built (None = every day of the frames).
    """
    parts: dict[PartKey, pa.Table] = {}
    for name, column in PARTITION_COLUMN.items():
        schema = dataset_schema(name)
        present = [f[name] for f in frames if not f[name].empty]
        if not present:
            continue
        frame = pd.concat(present, ignore_index=True)
        day_text = frame[column].dt.strftime("%Y-%m-%d")
        wanted = days.get(name)
        for day in sorted(day_text.unique()):
            if wanted is None or day in wanted:
                rows = frame[day_text == day]
                parts[(name, day)] = pa.Table.from_pandas(
                    rows[schema.names], schema=schema, preserve_index=False
                )
    return parts


def digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    combined = table.replace_schema_metadata(None).combine_chunks()
    with pa.ipc.new_stream(sink, combined.schema) as writer:
        writer.write_table(combined)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def part_file(output: Path, key: str, entry: Mapping[str, Any]) -> Path:
    file: str = entry["file"]
    return Path(output) / key / file


@dataclass
class WriteReport:
    """Partitions written, deleted and left alone by one :func:`write_partitions`."""

    written: list[PartKey] = field(default_factory=list)
    deleted: list[PartKey] = field(default_factory=list)
    unchanged: int = 0


def write_partitions(
    output: Path, manifest: Manifest, parts: Mapping[PartKey, pa.Table], touched: Iterable[PartKey]
) -> tuple[Manifest, WriteReport]:
    """The manifest after bringing the ``touched`` partitions to ``parts`` (absent = no rows any more).

    Partitions not touched keep their entries. New files are written; nothing named by ``manifest`` is
    changed (see the module docstring).
    """
    out = dict(manifest)
    report = WriteReport()
    for name, day in sorted(set(touched) | set(parts)):
        key = manifest_key(name, day)
        table = parts.get((name, day))
        if table is None:
            if out.pop(key, None) is not None:
                report.deleted.append((name, day))
            continue
        wanted = digest(table)
        if key in out and out[key]["digest"] == wanted:
            report.unchanged += 1
            continue
        entry = {
            "file": f"{PART_PREFIX}{wanted[:DIGEST_CHARS]}.parquet",
            "digest": wanted,
            "rows": table.num_rows,
        }
        path = part_file(output, key, entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**(table.schema.metadata or {}), DIGEST_KEY: wanted.encode()}
        atomic_write_bytes(path, parquet_bytes(table.replace_schema_metadata(meta)))
        out[key] = entry
        report.written.append((name, day))
    return out, report


def remove_stale_temporaries(folder: Path) -> None:
    """Hidden ``.*.tmp-*`` files of killed runs (the caller holds the run lock, so none is in use)."""
    for tmp in Path(folder).rglob(".*.tmp-*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def publish(output: Path, manifest: Manifest) -> None:
    """Write ``_manifest.json`` (when it differs) and delete every partition file it does not name."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    text = json.dumps({"version": 1, "partitions": manifest}, indent=1, sort_keys=True) + "\n"
    path = output / MANIFEST_NAME
    if not path.is_file() or path.read_text() != text:
        atomic_write_bytes(path, text.encode())
    named = {part_file(output, k, e) for k, e in manifest.items()}
    for name in PARTITION_COLUMN:
        for file in (output / name).glob("day=*/*.parquet"):
            if file not in named:
                file.unlink()
        for folder in (output / name).glob("day=*"):
            if folder.is_dir() and not any(folder.iterdir()):
                os.rmdir(folder)


def published(output: Path) -> Manifest:
    """The manifest readers see (empty before the first run)."""
    path = Path(output) / MANIFEST_NAME
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text())["partitions"])


def read_partition(output: Path, manifest: Manifest, name: str, day: str) -> pa.Table | None:
    entry = manifest.get(manifest_key(name, day))
    if entry is None:
        return None
    return pq.read_table(part_file(output, manifest_key(name, day), entry), schema=dataset_schema(name))


def read_dataset(output: Path, name: str, manifest: Manifest | None = None) -> pd.DataFrame:
    """One table as pandas: the partitions the manifest names (default: the published one), day order."""
    manifest = published(output) if manifest is None else manifest
    schema = dataset_schema(name)
    files = [
        str(part_file(output, key, entry))
        for key, entry in sorted(manifest.items())
        if split_key(key)[0] == name
    ]
    if not files:
        return schema.empty_table().to_pandas()
    return ds.dataset(files, format="parquet", schema=schema).to_table().to_pandas()
