"""Live analysis: elements arrive from a stream; the same timeline and event stages run over them in batches.

Steps of :class:`LiveAnalysis` (exact: it emits the events the batch analysis of the same elements gives):

1. Keep every element received (already filtered to the targets), in arrival order, and the newest element
   time. The window is [first element time, newest + 1 us]; each VP is observed from its first element,
   as in a batch analysis of update files without a RIB dump.
2. Every batch (:meth:`LiveAnalysis.step`) rebuild :func:`anystab.timeline.build_timeline` and
   :func:`anystab.events.build_events` over them and keep the *final* events: those strictly older than
   the newest element time (a later element at the same time could still change that state), less
   ``min_dwell`` (a young state may yet be filtered out). Once the stream has been quiet for ``settle``
   seconds, or at the end, events at the newest time are final too.
3. Emit the final events not emitted before (compared as whole rows). An event is never taken back.
4. Stream disconnections are collector gaps (as a missing archive file: routes kept, the VP unobserved)
   from the disconnection to the reconnection, in wall-clock time, which RIS Live timestamps follow.
5. Retention: when the elements reach back more than ``retention`` + :data:`COMPACT_EVERY` of it past the
   newest, compact each VP's elements older than the cut (newest - retention) to the ones its state needs
   (:func:`compact_vp`): the cut moves back to the start of a session gap or stream gap that spans it, so
   changes across that gap are still judged against the state before it. Events at or before the cut were
   emitted already and are no longer compared. Exact for ``min_dwell`` 0; with a transient filter the
   retention must be far longer than ``min_dwell``.

:func:`run_live` drives a :class:`~anystab.sources.rislive.LiveSource` through a :class:`LiveAnalysis`,
hands new events and notices to a :class:`LiveSink`, and appends events to a parquet dataset
(:class:`EventLog`) in batches. It stops after ``duration`` seconds, after ``max_events`` events, or when
the source ends.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from anystab import schemas
from anystab.errors import ConfigError
from anystab.events import build_events
from anystab.params import DEFAULT_BATCH_S, DEFAULT_RETENTION_S, DEFAULT_SETTLE_S, AnalysisParams
from anystab.sources.rislive import LiveItem, LiveSource
from anystab.timeline import build_timeline
from anystab.units import US_PER_S

COMPACT_EVERY = 0.1
PARQUET_BATCH_ROWS = 1000
PARQUET_EVERY_S = 60.0
EVENT_KEY = ["time", "collector", "peer_asn", "peer_ip", "target", "kind"]
STREAM_GAP = "stream_disconnected"
VP = tuple[str, int, str]


def _compaction_cut(rows: list[dict[str, Any]], cut: int, resync_us: int) -> int:
    """The VP's own cut: ``cut``, or the start of the session gap the VP is in at ``cut``.

    A gap starts at a session-down ``S`` while observed; a further down before the resync is over (or
    before the session came back) continues the same gap.
    """
    gap_start: int | None = None
    up_at: int | None = None
    for row in rows:
        t = row["time"]
        if t >= cut:
            break
        if _is_down(row):
            if gap_start is None or (up_at is not None and t > up_at + resync_us):
                gap_start = t
            up_at = None
        elif gap_start is not None and up_at is None and row["elem_type"] in ("A", "R", "S"):
            up_at = t
    if gap_start is not None and (up_at is None or up_at + resync_us > cut):
        return gap_start
    return cut


def stretch_start(rows: list[dict[str, Any]], cut: int, resync_us: int, gaps: list[tuple[int, int]]) -> int:
    """``cut``, or the start of the unobserved stretch (session gaps and stream gaps) that holds it."""
    own = cut
    while True:
        earlier = min([_compaction_cut(rows, own, resync_us), *(s for s, e in gaps if s < own < e)])
        if earlier >= own:
            return own
        own = earlier


def compact_vp(rows: list[dict[str, Any]], cut: int, resync_us: int) -> list[dict[str, Any]]:
    """One VP's elements (arrival order) with those before its cut reduced to what its state needs.

    Kept before the cut: a no-op ``S`` (into Established while up) at the first element's time, so the
    VP is observed from the same time; before the last session-down ``S``, one ``W`` per (prefix, path id)
    (a no-op after which the down clears everything anyway: it keeps the prefix's targets known to the
    VP); from that ``S`` on, the ``S`` elements, the first ``A``/``R`` (it may end the gap) and the last
    element per (prefix, path id). From the cut on: everything.
    """
    own = _compaction_cut(rows, cut, resync_us)
    n = next((i for i, r in enumerate(rows) if r["time"] >= own), len(rows))
    if n == 0:
        return rows
    before = rows[:n]
    last_down = max((i for i, r in enumerate(before) if _is_down(r)), default=-1)
    keep: dict[tuple[int, int], dict[str, Any]] = {}
    last: dict[tuple[Any, Any], int] = {}
    first_route = None
    for i in range(max(last_down, 0), n):
        row = before[i]
        if row["elem_type"] == "S":
            keep[(i, 1)] = row
            continue
        last[(row["prefix"], row["path_id"])] = i
        if first_route is None and last_down >= 0 and row["elem_type"] in ("A", "R"):
            first_route = keep[(i, 1)] = row
    keep.update(((i, 1), before[i]) for i in last.values())
    for i in range(last_down - 1, -1, -1):
        row = before[i]
        key = (row["prefix"], row["path_id"])
        if row["elem_type"] != "S" and key not in last:
            last[key] = i
            keep[(i, 1)] = {**dict.fromkeys(row), **_vp_of(row), "elem_type": "W", **_key_of(row)}
    if (0, 1) not in keep:
        keep[(0, 0)] = {**dict.fromkeys(before[0]), **_vp_of(before[0]), "elem_type": "S", "new_state": 6}
    return [keep[k] for k in sorted(keep)] + rows[n:]


def _key_of(row: dict[str, Any]) -> dict[str, Any]:
    return {"prefix": row["prefix"], "path_id": row["path_id"]}


def _vp_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("time", "collector", "peer_asn", "peer_ip", "source")}


def _is_down(row: dict[str, Any]) -> bool:
    return row["elem_type"] == "S" and row["new_state"] is not None and row["new_state"] != 6


@dataclass
class LiveAnalysis:
    """The incremental driver: add elements and stream gaps, :meth:`step` for the new final events."""

    params: AnalysisParams
    retention_s: float = DEFAULT_RETENTION_S
    by_vp: dict[VP, list[dict[str, Any]]] = field(default_factory=dict)
    first_us: int | None = None
    newest_us: int | None = None
    elements: int = 0
    gaps: list[tuple[str, float, float]] = field(default_factory=list)
    emitted: set[tuple[Any, ...]] = field(default_factory=set)
    cut_us: int | None = None

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Elements (ELEMENTS rows, ``time`` in integer microseconds), in arrival order."""
        for row in rows:
            vp = (row["collector"], row["peer_asn"], row["peer_ip"])
            self.by_vp.setdefault(vp, []).append(row)
            t = row["time"]
            self.first_us = t if self.first_us is None else min(self.first_us, t)
            self.newest_us = t if self.newest_us is None else max(self.newest_us, t)
        self.elements += len(rows)

    def add_gap(self, start_s: float, end_s: float) -> None:
        """The stream was down over [start_s, end_s): every collector seen is unobserved then."""
        for collector in sorted({vp[0] for vp in self.by_vp}):
            self.gaps.append((collector, start_s, end_s))

    def _elements(self) -> pd.DataFrame:
        rows = [r for vp_rows in self.by_vp.values() for r in vp_rows]
        rows.sort(key=lambda r: r["time"])  # stable: each VP's arrival order is kept
        return pa.Table.from_pylist(rows, schema=schemas.ELEMENTS).to_pandas()

    def _gaps(self) -> pd.DataFrame:
        rows = [
            {"collector": c, "start": round(s * US_PER_S), "end": round(e * US_PER_S), "reason": STREAM_GAP}
            for c, s, e in self.gaps
        ]
        return pa.Table.from_pylist(rows, schema=schemas.GAPS).to_pandas()

    def horizon_us(self, settled: bool) -> int | None:
        """Events before this time (at or before it when ``settled``) are final."""
        if self.newest_us is None:
            return None
        return self.newest_us - round(self.params.min_dwell_s * US_PER_S) + (1 if settled else 0)

    def step(self, settled: bool = False) -> pd.DataFrame:
        """The final events not emitted before (EVENTS schema), in the canonical order."""
        horizon = self.horizon_us(settled)
        if horizon is None or self.first_us is None or self.newest_us is None:
            return schemas.EVENTS.empty_table().to_pandas()
        window = (self.first_us / US_PER_S, (self.newest_us + 1) / US_PER_S)
        timeline = build_timeline(self._elements(), self.params, window, self._gaps())
        events, _ = build_events(timeline, self.params)
        fresh = self._fresh(events, horizon)
        self._maybe_compact()
        return fresh

    def _fresh(self, events: pd.DataFrame, horizon: int) -> pd.DataFrame:
        if events.empty:
            return events
        times = events["time"].dt.as_unit("us").astype("int64")
        lower = self.cut_us if self.cut_us is not None else -math.inf
        final = events[(times < horizon) & (times > lower)]
        table = pa.Table.from_pandas(final, schema=schemas.EVENTS, preserve_index=False)
        keys = [tuple(row.values()) for row in table.to_pylist()]
        new = [i for i, key in enumerate(keys) if key not in self.emitted]
        self.emitted.update(keys[i] for i in new)
        out = final.iloc[new]
        return out.sort_values(EVENT_KEY, kind="stable").reset_index(drop=True)

    def _maybe_compact(self) -> None:
        if self.first_us is None or self.newest_us is None:
            return
        retention = round(self.retention_s * US_PER_S)
        floor = self.cut_us if self.cut_us is not None else self.first_us
        if self.newest_us - floor <= retention * (1 + COMPACT_EVERY):
            return
        self.compact(self.newest_us - retention)

    def compact(self, cut_us: int) -> None:
        """Forget what no later event depends on, before ``cut_us`` (see the module's step 5)."""
        resync = round(self.params.resync_s * US_PER_S)
        spans = [(c, round(s * US_PER_S), round(e * US_PER_S)) for c, s, e in self.gaps]
        floor = cut_us
        for vp, rows in self.by_vp.items():
            own = stretch_start(rows, cut_us, resync, [(s, e) for c, s, e in spans if c == vp[0]])
            self.by_vp[vp] = compact_vp(rows, own, resync)
            floor = min(floor, own)
        self.gaps = [g for g, (_, _, e) in zip(self.gaps, spans, strict=True) if e > floor]
        self.cut_us = cut_us
        self.emitted = {k for k in self.emitted if _key_us(k[0]) > cut_us}

    def retained(self) -> int:
        """Elements held now."""
        return sum(len(rows) for rows in self.by_vp.values())


def _key_us(value: Any) -> int:
    if isinstance(value, pd.Timestamp):
        return int(value.value // 1000)
    return int(pd.Timestamp(value).value // 1000)


class EventLog:
    """Events appended to ``<out>/events/part-<n>.parquet``, one atomically written file per batch."""

    def __init__(self, out: Path) -> None:
        self.folder = Path(out) / "events"
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"{self.folder} exists and is not a folder: choose another --out")
        self.folder.mkdir(parents=True, exist_ok=True)
        taken = [int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.parquet") if _numbered(p)]
        self.next_part = max(taken, default=-1) + 1
        self.pending: list[pd.DataFrame] = []
        self.last_write = time.monotonic()
        self.written: list[Path] = []

    def append(self, events: pd.DataFrame) -> None:
        if not events.empty:
            self.pending.append(events)
        if sum(len(e) for e in self.pending) >= PARQUET_BATCH_ROWS or (
            self.pending and time.monotonic() - self.last_write >= PARQUET_EVERY_S
        ):
            self.flush()

    def flush(self) -> Path | None:
        """Write what is pending as the next part (whole or not at all)."""
        if not self.pending:
            return None
        frame = pd.concat(self.pending, ignore_index=True)
        table = pa.Table.from_pandas(frame[schemas.EVENTS.names], schema=schemas.EVENTS, preserve_index=False)
        path = self.folder / f"part-{self.next_part:06d}.parquet"
        tmp = self.folder / f".{path.name}.tmp-{os.getpid()}"
        try:
            pq.write_table(table, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.next_part += 1
        self.pending = []
        self.last_write = time.monotonic()
        self.written.append(path)
        return path


def _numbered(path: Path) -> bool:
    _, _, n = path.stem.partition("-")
    return n.isdigit()


def read_event_log(out: Path) -> pd.DataFrame:
    """Every event written under ``out`` (EVENTS schema), parts in order."""
    parts = sorted((Path(out) / "events").glob("part-*.parquet"))
    if not parts:
        return schemas.EVENTS.empty_table().to_pandas()
    return pa.concat_tables([pq.read_table(p, schema=schemas.EVENTS) for p in parts]).to_pandas()


class LiveSink(Protocol):
    """Where :func:`run_live` hands what happens (the CLI renders it; the library never prints)."""

    def events(self, events: pd.DataFrame) -> None: ...

    def notice(self, item: LiveItem) -> None: ...


@dataclass(frozen=True)
class LiveConfig:
    """How a live run behaves; :meth:`validate` checks the values together."""

    params: AnalysisParams
    batch_s: float = DEFAULT_BATCH_S
    settle_s: float = DEFAULT_SETTLE_S
    retention_s: float = DEFAULT_RETENTION_S
    duration_s: float | None = None
    max_events: int | None = None
    out: Path | None = None

    def validate(self) -> None:
        self.params.validate()
        if self.batch_s <= 0 or self.settle_s < 0:
            raise ConfigError("--batch must be positive and --settle not negative")
        if self.retention_s <= max(self.params.min_dwell_s, self.params.resync_s):
            raise ConfigError("--retention must be longer than --min-dwell and the resync time")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError("--duration must be positive")
        if self.max_events is not None and self.max_events < 1:
            raise ConfigError("--max-events must be at least 1")


@dataclass
class LiveStats:
    """What a live run saw."""

    frames: int = 0
    elements: int = 0
    events: int = 0
    malformed: int = 0
    ris_errors: int = 0
    connections: int = 0
    disconnections: int = 0
    parts: list[Path] = field(default_factory=list)


class _Run:
    """One run's state: the analysis, the event log, counters and the stop conditions."""

    def __init__(
        self, config: LiveConfig, sink: LiveSink, clock: Callable[[], float], stats: LiveStats
    ) -> None:
        self.config = config
        self.sink = sink
        self.clock = clock
        self.analysis = LiveAnalysis(config.params, config.retention_s)
        self.log = EventLog(config.out) if config.out is not None else None
        self.stats = stats
        self.last_arrival = clock()
        self.down_since: float | None = None

    def take(self, item: LiveItem) -> None:
        if item.kind == "rows":
            self.stats.frames += 1
            if item.rows:
                self.analysis.add(item.rows)
                self.stats.elements += len(item.rows)
                self.last_arrival = self.clock()
            return
        if item.kind == "malformed":
            self.stats.frames += 1
            self.stats.malformed += 1
        elif item.kind == "ris_error":
            self.stats.frames += 1
            self.stats.ris_errors += 1
        elif item.kind == "connected":
            self.stats.connections += 1
            if self.down_since is not None:
                self.analysis.add_gap(self.down_since, item.at)
                self.down_since = None
        elif item.kind == "disconnected":
            self.stats.disconnections += 1
            self.down_since = item.at if self.down_since is None else self.down_since
        self.sink.notice(item)

    def emit(self, final: bool) -> None:
        settled = final or self.clock() - self.last_arrival >= self.config.settle_s
        events = self.analysis.step(settled)
        if self.config.max_events is not None:
            events = events.iloc[: self.config.max_events - self.stats.events]
        if events.empty:
            return
        self.stats.events += len(events)
        self.sink.events(events)
        if self.log is not None:
            self.log.append(events)

    def done(self) -> bool:
        return self.config.max_events is not None and self.stats.events >= self.config.max_events

    def close(self) -> None:
        if self.log is not None:
            self.log.flush()
            self.stats.parts = list(self.log.written)


async def run_live(
    config: LiveConfig,
    source: LiveSource,
    sink: LiveSink,
    stats: LiveStats | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LiveStats:
    """Run until ``duration``, ``max_events`` or the end of the source; returns what was seen.

    ``stats`` (optional) is filled as the run goes, so a caller interrupted by a signal still has it.
    Cancelled, the run still writes the events pending for the event log.
    """
    config.validate()
    run = _Run(config, sink, clock, stats or LiveStats())
    deadline = None if config.duration_s is None else clock() + config.duration_s

    async def consume() -> None:
        async for item in source.items():
            run.take(item)

    reader = asyncio.create_task(consume())
    try:
        while not run.done():
            timeout = config.batch_s if deadline is None else min(config.batch_s, deadline - clock())
            await asyncio.wait({reader}, timeout=max(timeout, 0))
            if reader.done():
                reader.result()
                break
            run.emit(final=False)
            if deadline is not None and clock() >= deadline:
                break
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        if not run.done():
            run.emit(final=True)
        run.close()
    return run.stats
