"""The monitoring dataset: timeline, events and per-interval VP statistics and estimates, partitioned by day.

Layout: ``<output>/<table>/day=YYYY-MM-DD/part.parquet`` (hive partitioning, UTC days) for the tables of
:data:`PARTITION_COLUMN`. Every row carries its ``service``; rows go to the day of their partition column.

Per-interval tables (``interval`` seconds, aligned to the Unix epoch, default one hour):

1. ``vp_stats``: per (VP, target) and interval, the VP_STATS numbers of the events stage
   (:func:`anystab.events.vp_stats_row`) computed on the whole period's timeline, site states and events
   clipped to the interval: observed and routed seconds inside it, events whose time falls in it, mean
   length of the (filtered, clipped) routed site states. Only VPs observed during the interval have a row.
2. ``estimates``: the estimates stage (:func:`anystab.estimates.build_estimates`) for the sessions that
   *start* in the interval: for each length D the window ``[i0, min(i1 + D, W1)]`` over the whole period's
   timeline and events, with the interval's VP statistics (so ``share_with_break`` and
   ``breaks_per_vp_day`` are the interval's). The P(break) of D-long sessions is known D after they start:
   until then the figures of recent intervals change from run to run, and their partitions are rewritten.

Writing (:func:`write_dataset`), per partition:

1. Digest the partition's rows (Arrow IPC bytes, SHA-256) and compare with the digest stored in the
   existing file's metadata; equal -> leave the file alone (a re-run changes nothing).
2. Otherwise write a hidden temporary file in the partition folder, flush it, rename it over
   ``part.parquet``: readers see the old or the new partition, never a torn one.
3. Partitions no longer produced are deleted; stale temporary files of killed runs are removed first.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from anystab import schemas
from anystab.estimates import build_estimates
from anystab.events import (
    Row,
    SiteState,
    apply_min_dwell,
    filtered_site_events,
    pair_rows,
    raw_events,
    site_states,
    vp_stats_row,
)
from anystab.monitor.state import atomic_write_bytes, parquet_bytes
from anystab.params import AnalysisParams
from anystab.pipeline import AnalysisResult
from anystab.timeline import PAIR_KEYS, records_frame

PARTITION_COLUMN = {
    "timeline": "start",
    "events": "time",
    "vp_stats": "interval_start",
    "estimates": "interval_start",
}
INTERVAL_TABLES = frozenset({"vp_stats", "estimates"})
PART_NAME = "part.parquet"
DIGEST_KEY = b"anystab.digest"
_INTERVAL_FIELDS = [
    pa.field("interval_start", schemas.TS, metadata={"doc": "interval start (inclusive)"}),
    pa.field("interval_end", schemas.TS, metadata={"doc": "interval end (exclusive)"}),
]


def iso(seconds: float) -> str:
    """UTC time as ISO 8601 text with a Z."""
    return pd.Timestamp(round(seconds * 1e6), unit="us", tz="UTC").isoformat().replace("+00:00", "Z")


def dataset_schema(name: str) -> pa.Schema:
    """A dataset table's schema: ``service``, the interval (per-interval tables), then the stage's columns."""
    base = schemas.TABLES[name]
    fields = [pa.field("service", pa.string(), metadata={"doc": "service name from the config"})]
    fields += _INTERVAL_FIELDS if name in INTERVAL_TABLES else []
    meta = {**(base.metadata or {}), b"anystab.dataset": b"monitor"}
    return pa.schema([*fields, *base], metadata=meta)


def intervals(window: tuple[float, float], size: float) -> list[tuple[float, float]]:
    """Epoch-aligned intervals of ``size`` seconds covering the window."""
    first = math.floor(window[0] / size) * size
    count = max(0, math.ceil((window[1] - first) / size))
    return [(first + k * size, first + (k + 1) * size) for k in range(count)]


def _clip(items: Sequence[Row] | Sequence[SiteState], a: float, b: float) -> list:
    return [replace(x, start=max(x.start, a), end=min(x.end, b)) for x in items if x.end > a and x.start < b]


def _within(events: Sequence[dict], a: float, b: float) -> list[dict]:
    return [e for e in events if a <= e["time"] < b]


@dataclass
class _Pair:
    rows: list[Row]
    raw: list[dict]
    states: list[SiteState]
    site: list[dict]


def _pairs(timeline: pd.DataFrame, params: AnalysisParams) -> Iterator[tuple[tuple, _Pair]]:
    for key, rows in pair_rows(timeline):
        if any(r.observed for r in rows):
            states = apply_min_dwell(site_states(rows), params.min_dwell_s)
            yield key, _Pair(rows, raw_events(rows), states, filtered_site_events(rows, states))


def interval_vp_stats(
    timeline: pd.DataFrame, params: AnalysisParams, window: tuple[float, float], size: float
) -> pd.DataFrame:
    """Per (VP, target) and interval: the events stage's statistics clipped to the interval."""
    records = []
    spans = intervals(window, size)
    for key, pair in _pairs(timeline, params):
        named = dict(zip(PAIR_KEYS, key, strict=True))
        for a, b in spans:
            rows = _clip(pair.rows, a, b)
            if not any(r.observed for r in rows):
                continue
            stats = vp_stats_row(
                rows, _within(pair.raw, a, b), _clip(pair.states, a, b), _within(pair.site, a, b)
            )
            records.append({"interval_start": a, "interval_end": b, **named, **stats})
    frame = records_frame("vp_stats", records)
    for column in ("interval_start", "interval_end"):
        frame.insert(0, column, pd.to_datetime([r[column] for r in records], unit="s", utc=True))
    return frame


def interval_estimates(result: AnalysisResult, stats: pd.DataFrame, size: float) -> pd.DataFrame:
    """Per interval: the estimates stage for the sessions starting in it (see the module docstring)."""
    timeline, events, params = result.tables["timeline"], result.tables["events"], result.params
    parts = []
    for (start, end), group in stats.groupby(["interval_start", "interval_end"], sort=True):
        a, b = start.timestamp(), end.timestamp()
        for d in params.sessions_s:
            window = (a, min(b + d, result.window[1]))
            one = replace(params, sessions_s=(d,))
            frame = build_estimates(
                timeline, events, group.drop(columns=["interval_start", "interval_end"]), one, window
            )
            frame.insert(0, "interval_end", end)
            frame.insert(0, "interval_start", start)
            parts.append(frame)
    if not parts:
        return dataset_schema("estimates").empty_table().to_pandas().drop(columns="service")
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["interval_start", "scope", "target", "session_s"], kind="stable").reset_index(
        drop=True
    )


def service_tables(service: str, result: AnalysisResult, size: float) -> dict[str, pd.DataFrame]:
    """The four dataset tables of one service's analysis, each with its ``service`` column."""
    stats = interval_vp_stats(result.tables["timeline"], result.params, result.window, size)
    frames = {
        "timeline": result.tables["timeline"],
        "events": result.tables["events"],
        "vp_stats": stats,
        "estimates": interval_estimates(result, stats, size),
    }
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        frame.insert(0, "service", service)
        out[name] = frame
    return out


def to_partitions(frames: Sequence[dict[str, pd.DataFrame]]) -> dict[tuple[str, str], pa.Table]:
    """(table, day) -> the rows of that day, services in order, each service's rows in stage order."""
    parts: dict[tuple[str, str], pa.Table] = {}
    for name, column in PARTITION_COLUMN.items():
        schema = dataset_schema(name)
        frame = pd.concat([f[name] for f in frames], ignore_index=True) if frames else pd.DataFrame()
        if frame.empty:
            continue
        days = frame[column].dt.strftime("%Y-%m-%d")
        for day in sorted(days.unique()):
            rows = frame[days == day]
            parts[(name, day)] = pa.Table.from_pandas(rows[schema.names], schema=schema, preserve_index=False)
    return parts


def digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    combined = table.replace_schema_metadata(None).combine_chunks()
    with pa.ipc.new_stream(sink, combined.schema) as writer:
        writer.write_table(combined)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def partition_path(output: Path, name: str, day: str) -> Path:
    return Path(output) / name / f"day={day}" / PART_NAME


def existing_partitions(output: Path) -> dict[tuple[str, str], Path]:
    found = {}
    for name in PARTITION_COLUMN:
        for path in sorted((Path(output) / name).glob(f"day=*/{PART_NAME}")):
            found[(name, path.parent.name.removeprefix("day="))] = path
    return found


def _stored_digest(path: Path) -> str | None:
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = meta.get(DIGEST_KEY)
    return value.decode() if value else None


@dataclass
class WriteReport:
    """Partitions written, deleted and left alone by one :func:`write_dataset`."""

    written: list[tuple[str, str]]
    deleted: list[tuple[str, str]]
    unchanged: int


def remove_stale_temporaries(folder: Path) -> None:
    """Hidden ``.*.tmp-*`` files of killed runs (the caller holds the run lock, so none is in use)."""
    for tmp in Path(folder).rglob(".*.tmp-*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def write_dataset(output: Path, parts: dict[tuple[str, str], pa.Table]) -> WriteReport:
    """Bring the dataset to exactly ``parts`` (see the module docstring); returns what changed."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    report = WriteReport([], [], 0)
    for (name, day), table in sorted(parts.items()):
        path = partition_path(output, name, day)
        wanted = digest(table)
        if path.is_file() and _stored_digest(path) == wanted:
            report.unchanged += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**(table.schema.metadata or {}), DIGEST_KEY: wanted.encode()}
        atomic_write_bytes(path, parquet_bytes(table.replace_schema_metadata(meta)))
        report.written.append((name, day))
    for key, path in existing_partitions(output).items():
        if key not in parts:
            path.unlink()
            os.rmdir(path.parent)
            report.deleted.append(key)
    return report


def read_dataset(output: Path, name: str) -> pd.DataFrame:
    """One table of the dataset as pandas (every partition; ``day`` left out), empty if none yet."""
    folder = Path(output) / name
    schema = dataset_schema(name)
    if not folder.is_dir():
        return schema.empty_table().to_pandas()
    dataset = ds.dataset(
        folder, format="parquet", schema=schema, partitioning=None, exclude_invalid_files=False
    )
    return dataset.to_table().to_pandas()
