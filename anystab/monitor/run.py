"""One monitoring run: new archive files in, the dataset brought up to date, alerts out.

Steps (the caller holds the run lock, :mod:`anystab.monitor.lock`):

1. Publish the checkpoint's dataset manifest (:func:`anystab.monitor.dataset.publish`): this tidies up
   after a run killed between its checkpoint and its own publishing, or before its checkpoint.
2. Sources: fetch the configured collectors' files into the cache (:func:`anystab.sources.fetch.fetch`),
   per project from ``start`` to ``end`` or to the end of the project's last update slot that is over,
   whichever is earlier (:func:`fetch_requests`: a slot still being written cannot be published yet), and
   discover the files of the local archive folders.
3. New files (not cached with this size, mtime and target set) are read :data:`READ_CHUNK` at a time
   (:func:`anystab.sources.read_files`, in parallel with ``jobs``), only for the configured targets; each
   file's elements are cached atomically as soon as its batch is read, so a killed run loses at most the
   batches in flight (a few files each at the end of a chunk, at most an eighth of a chunk at its start).
4. If the checkpoint already reflects exactly the cached files and the same settings, the dataset is up
   to date: skip to step 9 (a re-run over a processed window changes nothing).
5. The change horizon H (:func:`change_horizon`): the earliest time at which the data can differ from
   the data the checkpoint reflects (the earliest start of a new or changed file, the earliest change of
   the collectors' missing intervals, the previous window's end); -inf when settings, the window start
   or the first run say that nothing stored can be kept. Per service, H less its ``min_dwell`` (the
   transient filter can reach back that far).
6. Per service, the stages over the cached elements of the whole monitored period, exactly as one
   analysis of all those files (the elements stage, :func:`anystab.elements.build_elements`, then
   :func:`anystab.pipeline.run_stages`); the per-interval tables only for the intervals H can reach
   (:mod:`anystab.monitor.intervals`), the rest kept from the stored partitions. This composes the steps
   of :func:`anystab.pipeline.analyze` rather than calling it: the files come from the element cache, not
   a read, and each VP's walk is carried from one run to the next (:mod:`anystab.monitor.carry`).
7. Write the partitions of the days H can reach whose content changed, under new names
   (:func:`anystab.monitor.dataset.write_partitions`).
8. Find alert episodes, turn changes into notifications, queue them, and save the checkpoint (files,
   settings, windows, manifest, episodes, outbox) atomically: the commit point. Publish its manifest.
   Everything before is idempotent and changes nothing readers see, so a run killed anywhere is
   completed by the next one, with nothing lost and nothing twice.
9. Deliver the outbox (also what earlier runs could not deliver), save the checkpoint again.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from anystab.elements import build_elements, choose_window
from anystab.errors import BadInputError, ConfigError
from anystab.events import build_events
from anystab.monitor import alerts, dataset
from anystab.monitor.carry import (
    cut_time,
    snapshot_bytes,
    snapshot_digest,
    snapshot_from_bytes,
)
from anystab.monitor.config import AlertRules, MonitorConfig
from anystab.monitor.intervals import ESTIMATES_ORDER, STATS_ORDER, interval_tables
from anystab.monitor.state import (
    CachedFile,
    Checkpoint,
    ElementCache,
    FileKey,
    atomic_write_bytes,
    carry_dir,
    load_checkpoint,
    remove_unnamed_carry,
    save_checkpoint,
)
from anystab.params import AnalysisParams
from anystab.per_vp import VpTables, order_vp_tables
from anystab.pipeline import AnalysisResult, run_stages
from anystab.service import Service
from anystab.sources import FileResult, SourceFile, describe, discover, missing_intervals, read_files
from anystab.sources.fetch import FetchRequest, FileOutcome, fetch
from anystab.sources.registry import (
    DEFAULT_RETRIES,
    PROJECTS,
    Settings,
    default_cache,
    merge_mirrors,
    resolve_collectors,
)
from anystab.sources.registry import load_config as load_settings
from anystab.targets import TargetSet, target_set
from anystab.timeline import ResumeMiss, WalkSnapshot, to_seconds, walk_timeline

READ_CHUNK = 256
STATUS = {"ok": 0, "warning": 1, "critical": 2}
FETCH_STATUSES = ("downloaded", "cached", "missing", "known_missing", "failed")
FAILED_FILES_NAMED = 5
ReadProgress = Callable[[int, int], None]


@dataclass
class RunReport:
    """What one run did, for the terminal summary and ``--json``."""

    fetched: dict[str, int] = field(default_factory=dict)
    files_seen: int = 0
    files_read: int = 0
    files_cached: int = 0
    recomputed: bool = False
    carried: list[str] = field(default_factory=list)
    files_loaded: int = 0
    horizon: str | None = None
    partitions_written: int = 0
    partitions_deleted: int = 0
    partitions_unchanged: int = 0
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0
    open_episodes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    level: str = "ok"

    @property
    def status(self) -> int:
        """Exit status in the monitoring-plugin convention: 0 OK, 1 warning, 2 critical."""
        return STATUS[self.level]


def targets_fingerprint(targets: TargetSet) -> str:
    text = "|".join(f"{t.text}@{t.address}" for t in targets)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def slots_over_by(project: str, now: float) -> float:
    """The end of the project's last update slot that is over at ``now`` (its file can be published)."""
    step = PROJECTS[project].update_cadence_s
    return float(math.floor(now / step) * step)


def fetch_requests(
    config: MonitorConfig, settings: Settings, now: float, notes: list[str]
) -> list[FetchRequest]:
    """Step 2's fetches, one per project: from ``start`` to ``end`` or to :func:`slots_over_by` ``now``,
    whichever is earlier. None for a project none of whose slots after ``start`` is over yet."""
    assert config.fetch_start is not None
    start, end = config.fetch_start, min(now, math.inf if config.fetch_end is None else config.fetch_end)
    if end <= start:
        notes.append("nothing fetched: [sources] start is still to come")
        return []
    projects: dict[str, list[str]] = {}
    for collector in resolve_collectors(config.collectors, start, end):
        projects.setdefault(collector.project, []).append(collector.name)
    cache, mirrors = config.cache or default_cache(settings), merge_mirrors(settings, config.mirrors)
    retries = DEFAULT_RETRIES if config.fetch_retries is None else config.fetch_retries
    requests = []
    for project, names in projects.items():
        last = min(end, slots_over_by(project, now))
        if last <= start:
            notes.append(f"nothing fetched from {', '.join(names)} yet: no update slot after start is over")
            continue
        requests.append(FetchRequest(tuple(names), start, last, cache, mirrors=mirrors, retries=retries))
    return requests


def fetch_collectors(config: MonitorConfig, report: RunReport, now: float) -> list[Path]:
    """Step 2's fetches; their counts, notes and failed files go into ``report``."""
    fetched: list[Path] = []
    failed: list[FileOutcome] = []
    counts = dict.fromkeys(FETCH_STATUSES, 0)
    for request in fetch_requests(config, load_settings(), now, report.notes):
        outcome = fetch(request)
        report.notes += outcome.notes
        fetched += outcome.paths()
        failed += outcome.failed
        counts = {status: n + outcome.count(status) for status, n in counts.items()}
    report.fetched = counts
    report.notes += [
        f"could not fetch {f.file.path}: {f.error} (attempts: {f.attempts}); the next run tries again"
        for f in failed[:FAILED_FILES_NAMED]
    ]
    if len(failed) > FAILED_FILES_NAMED:
        report.notes.append(f"... and {len(failed) - FAILED_FILES_NAMED} more files could not be fetched")
    return fetched


def gather_sources(config: MonitorConfig, report: RunReport, now: float | None = None) -> list[SourceFile]:
    """Step 2: fetched files of the configured collectors (slots over at ``now``, default the clock's
    time), then the archive folders' files."""
    found: list[SourceFile] = []
    if config.collectors:
        found += [describe(p) for p in fetch_collectors(config, report, time.time() if now is None else now)]
    if config.archives:
        found += discover([str(p) for p in config.archives])
    return found


def read_new(
    config: MonitorConfig, cache: ElementCache, sources: Sequence[SourceFile], progress: ReadProgress | None
) -> int:
    """Step 2: read and cache every file not cached in this version; returns how many were read."""
    targets = target_set(config.all_targets())
    fingerprint = targets_fingerprint(targets)
    known = cache.keys()
    todo = [(s, k) for s in sources if known.get(s.path) != (k := FileKey.of(s, fingerprint))]
    done = 0

    def keep(i: int, result: FileResult) -> None:
        nonlocal done
        source, key = chunk[i]
        cache.store(source, result, key)
        done += 1
        if progress:
            progress(done, len(todo))

    for first in range(0, len(todo), READ_CHUNK):
        chunk = todo[first : first + READ_CHUNK]
        read_files([s for s, _ in chunk], targets, config.jobs, each=keep)
    return len(todo)


def _for_service(result: FileResult, targets: TargetSet) -> FileResult:
    """The file's elements that one service's analysis would have kept (state changes always)."""
    table = result.elements
    if table.num_rows == 0:
        return result
    prefixes = pc.unique(table["prefix"]).drop_null().to_pylist()
    keep = pa.array([p for p in prefixes if targets.matches(p)], pa.string())
    mask = pc.or_(pc.equal(table["elem_type"], "S"), pc.fill_null(pc.is_in(table["prefix"], keep), False))
    return FileResult(**{**vars(result), "elements": table.filter(mask)})


def analyse_service(
    config: MonitorConfig, service: Service, cached: Sequence[CachedFile], carried: WalkSnapshot | None = None
) -> tuple[AnalysisResult, WalkSnapshot]:
    """Step 6: the stages as one analysis of the whole period, and the VP walks at this run's cut.

    Not :func:`anystab.pipeline.analyze`: the files are already read (cached), and the walk carries state
    between runs; the elements stage and :func:`~anystab.pipeline.run_stages` are the same.

    With ``carried`` (walks saved at a cut before the change horizon), only the elements at or after its
    cut are walked (:mod:`anystab.monitor.carry`); ``cached`` need hold only those files' elements."""
    params = config.params(service)
    targets = params.targets.with_mode("any")
    files = [c.source for c in cached]
    results = [_for_service(c.result, targets) for c in cached]
    selection = build_elements(files, results)
    window, elements, gaps = selection.window, selection.elements, selection.gaps
    if carried is not None:
        elements = elements[to_seconds(elements["time"]) >= carried.cut].reset_index(drop=True)
    cut = cut_time(window, config.interval_s)
    timeline, snapshot = walk_timeline(elements, params, window, gaps, cut, carried)

    def stage(_e: pd.DataFrame, _g: pd.DataFrame, p: AnalysisParams, _w: tuple[float, float]) -> VpTables:
        return order_vp_tables(timeline, *build_events(timeline, p))

    return run_stages(elements, gaps, params, window, files, results, vp_stage=stage), snapshot


def service_summary(result: AnalysisResult) -> dict[str, Any]:
    events, vp = result.tables["events"], result.tables["vp_stats"]
    overall = result.tables["estimates"]
    overall = overall[overall["scope"] == "all"]
    return {
        "window": [dataset.iso(result.window[0]), dataset.iso(result.window[1])],
        "vantage_points": int(vp[["collector", "peer_asn", "peer_ip"]].drop_duplicates().shape[0]),
        "switches": int((events["kind"] == "switch").sum()),
        "withdraws": int((events["kind"] == "withdraw").sum()),
        "mean_p": {
            f"{t}|{d:g}": (None if pd.isna(p) else float(p))
            for t, d, p in zip(overall["target"], overall["session_s"], overall["mean_p"], strict=True)
        },
    }


def _start(cached: CachedFile) -> float:
    times = [t for t in (cached.source.name_time, cached.result.first_time) if t is not None]
    return min(times, default=-math.inf)


def _gaps(
    cached: Sequence[CachedFile], window: tuple[float, float], end: float
) -> set[tuple[str, float, float]]:
    pairs = [(c.source, c.result) for c in cached]
    gaps = missing_intervals(pairs, *window)
    return {(c, s, min(e, end)) for c, s, e, _ in gaps if s < end}


def change_horizon(config: MonitorConfig, cached: Sequence[CachedFile], checkpoint: Checkpoint) -> float:
    """Step 5: the earliest time the data can differ from what the checkpoint reflects (-inf: anything)."""
    if checkpoint.fingerprint != config.fingerprint() or not checkpoint.files or not checkpoint.manifest:
        return -math.inf
    reflected = [
        checkpoint.files.get(c.key.path) == [c.key.size, c.key.mtime_ns, c.key.targets] for c in cached
    ]
    old = [c for c, seen in zip(cached, reflected, strict=True) if seen]
    new = [c for c, seen in zip(cached, reflected, strict=True) if not seen]
    if len(old) != len(checkpoint.files):
        return -math.inf  # a reflected file left the cache
    try:
        before = choose_window([c.source for c in old], [c.result for c in old], None, None)
        now = choose_window([c.source for c in cached], [c.result for c in cached], None, None)
    except (BadInputError, ConfigError):
        return -math.inf
    if now[0] != before[0]:
        return -math.inf
    changed = _gaps(old, before, before[1]) ^ _gaps(cached, now, before[1])
    horizon = min([before[1], *(_start(c) for c in new), *(s for _, s, _ in changed)])
    return horizon if horizon > now[0] else -math.inf


@dataclass
class ServiceRun:
    """One service's results in one run."""

    name: str
    result: AnalysisResult
    horizon: float
    tables: dict[str, pd.DataFrame]
    first_interval: float | None
    snapshot: WalkSnapshot | None = None
    carried: bool = False


class Inputs:
    """The cached files, loaded with the elements at or after ``since`` only until all are needed."""

    def __init__(self, cache: ElementCache, since: float) -> None:
        self.cache, self.since = cache, since
        self.files = cache.load(since)

    def full(self) -> list[CachedFile]:
        if self.since > -math.inf:
            self.files, self.since = self.cache.load(), -math.inf
        return self.files


def load_carried(state_dir: Path, checkpoint: Checkpoint, name: str, notes: list[str]) -> WalkSnapshot | None:
    """The service's saved walks the checkpoint names, None when there are none or they are unreadable (said
    in ``notes``, and an unreadable file removed: the run then analyses the service from the start of the
    data and saves its walks afresh)."""
    file = checkpoint.carry.get(name)
    path = carry_dir(state_dir) / file if file else None
    if path is None:
        return None
    if not path.is_file():
        notes.append(f"{name}: the saved route state {path} is missing; analysed from the start of the data")
        return None
    try:
        return snapshot_from_bytes(path.read_bytes())
    except (OSError, ValueError, KeyError, EOFError) as exc:
        notes.append(
            f"{name}: the saved route state {path} is unreadable ({type(exc).__name__}: {exc}); "
            "analysed from the start of the data"
        )
        path.unlink(missing_ok=True)  # else a new state of the same digest would not replace it
        return None


def _analysed(
    config: MonitorConfig, service: Service, inputs: Inputs, horizon: float, carried: WalkSnapshot | None
) -> tuple[AnalysisResult, WalkSnapshot, bool]:
    """The carried analysis when the saved walks are usable (cut before H, same window start), else full."""
    if carried is not None and carried.cut < horizon and carried.cut >= inputs.since:
        try:
            result, snapshot = analyse_service(config, service, inputs.files, carried)
            if result.window[0] == carried.w0:
                return result, snapshot, True
        except ResumeMiss:
            pass
    result, snapshot = analyse_service(config, service, inputs.full())
    return result, snapshot, False


def _service_run(
    config: MonitorConfig, service: Service, inputs: Inputs, horizon: float, carried: WalkSnapshot | None
) -> ServiceRun:
    result, snapshot, used = _analysed(config, service, inputs, horizon, carried)
    h = horizon - result.params.min_dwell_s if horizon > -math.inf else -math.inf
    timeline = result.tables["timeline"]
    stats, estimates, plan = interval_tables(timeline, result.params, result.window, config.interval_s, h)
    tables = {
        "timeline": timeline,
        "events": result.tables["events"],
        "vp_stats": stats,
        "estimates": estimates,
    }
    return ServiceRun(service.name, result, h, tables, plan.first, snapshot, used)


def _days_from(manifest: dataset.Manifest, name: str, since: float) -> set[str]:
    first = dataset.day_of(since) if since > -math.inf else ""
    return {
        day for key in manifest for table, day in [dataset.split_key(key)] if table == name and day >= first
    }


def _day_texts(column: pd.Series) -> set[str]:
    return set(column.dt.strftime("%Y-%m-%d").unique())


def touched_days(runs: Sequence[ServiceRun], manifest: dataset.Manifest) -> dict[str, set[str]]:
    """Per table, the days whose partitions this run rebuilds (step 7)."""
    out: dict[str, set[str]] = {name: set() for name in dataset.PARTITION_COLUMN}
    for run in runs:
        h, tables = run.horizon, run.tables
        at = pd.Timestamp(h, unit="s", tz="UTC") if h > -math.inf else None
        timeline, events = tables["timeline"], tables["events"]
        out["timeline"] |= _days_from(manifest, "timeline", h)
        out["timeline"] |= _day_texts(
            timeline["start"] if at is None else timeline["start"][timeline["end"] >= at]
        )
        out["events"] |= _days_from(manifest, "events", h)
        out["events"] |= _day_texts(events["time"] if at is None else events["time"][events["time"] >= at])
        first = -math.inf if h == -math.inf else run.first_interval
        for name in dataset.INTERVAL_TABLES:
            if first is not None:
                out[name] |= _days_from(manifest, name, first) | _day_texts(tables[name]["interval_start"])
    return out


def _kept(stored: pd.DataFrame, name: str, run: ServiceRun, longest: float) -> pd.DataFrame:
    """The stored per-interval rows of one service that this run does not recompute (final ones)."""
    rows = stored[stored["service"] == run.name].drop(columns="service")
    end = to_seconds(rows["interval_end"])
    reach = longest if name == "vp_stats" else rows["session_s"].to_numpy(dtype=float)
    return rows[end + reach < run.horizon]


def merge_stored(
    config: MonitorConfig, runs: Sequence[ServiceRun], days: dict[str, set[str]], manifest: dataset.Manifest
) -> None:
    """Complete each service's per-interval tables on the rebuilt days with the rows kept from the dataset."""
    longest = max(config.sessions_s, default=0.0)
    for name in dataset.INTERVAL_TABLES:
        tables = [
            dataset.read_partition(config.output_dir, manifest, name, day) for day in sorted(days[name])
        ]
        present = [t.to_pandas() for t in tables if t is not None]
        if not present:
            continue
        stored = pd.concat(present, ignore_index=True)
        order = STATS_ORDER if name == "vp_stats" else ESTIMATES_ORDER
        for run in runs:
            kept = _kept(stored, name, run, longest)
            if not kept.empty:
                both = (
                    pd.concat([kept, run.tables[name]], ignore_index=True)
                    if not run.tables[name].empty
                    else kept
                )
                run.tables[name] = both.sort_values(order, kind="stable").reset_index(drop=True)


def _with_service(run: ServiceRun) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in run.tables.items():
        frame = frame.copy()
        frame.insert(0, "service", run.name)
        out[name] = frame
    return out


def _inputs(
    config: MonitorConfig, cache: ElementCache, checkpoint: Checkpoint, notes: list[str]
) -> tuple[Inputs, dict[str, WalkSnapshot | None]]:
    """The cached files (elements from the earliest usable cut on) and each service's saved walks."""
    carried = {s.name: load_carried(config.state_dir, checkpoint, s.name, notes) for s in config.services}
    cuts = [c.cut for c in carried.values() if c is not None]
    usable = checkpoint.fingerprint == config.fingerprint() and len(cuts) == len(carried)
    return Inputs(cache, min(cuts) if usable and cuts else -math.inf), carried


def save_carried(state_dir: Path, runs: Sequence[ServiceRun], checkpoint: Checkpoint) -> None:
    """Write each service's walks at this run's cut (before the checkpoint that names them)."""
    checkpoint.carry = {}
    for run in runs:
        if run.snapshot is None:
            continue
        data = snapshot_bytes(run.snapshot)
        name = f"{hashlib.sha1(run.name.encode()).hexdigest()[:12]}-{snapshot_digest(data)}.json.gz"
        path = carry_dir(state_dir) / name
        if not path.is_file():
            atomic_write_bytes(path, data)
        checkpoint.carry[run.name] = name


def recompute(config: MonitorConfig, cache: ElementCache, checkpoint: Checkpoint, report: RunReport) -> None:
    """Steps 5 to 8 (checkpoint updated in memory; the caller saves it, then publishes)."""
    inputs, carried = _inputs(config, cache, checkpoint, report.notes)
    horizon = change_horizon(config, inputs.files, checkpoint)
    runs = []
    checkpoint.windows, checkpoint.summaries = {}, {}
    for service in config.services:
        try:
            runs.append(_service_run(config, service, inputs, horizon, carried[service.name]))
        except BadInputError as exc:
            report.notes.append(f"{service.name}: not enough data yet ({exc})")
    report.carried = [r.name for r in runs if r.carried]
    report.files_loaded = cache.loaded
    save_carried(config.state_dir, runs, checkpoint)
    manifest = checkpoint.manifest if horizon > -math.inf else {}
    days = touched_days(runs, checkpoint.manifest)
    merge_stored(config, runs, days, manifest)
    parts = dataset.to_partitions([_with_service(r) for r in runs], days)
    touched = [(name, day) for name, found in days.items() for day in found]
    checkpoint.manifest, written = dataset.write_partitions(
        config.output_dir, checkpoint.manifest, parts, touched
    )
    report.partitions_written, report.partitions_deleted = len(written.written), len(written.deleted)
    report.partitions_unchanged = written.unchanged
    report.horizon = None if horizon == -math.inf else dataset.iso(horizon)
    episodes = []
    for run in runs:
        if config.alerts != AlertRules():
            episodes += alerts.find_episodes(
                run.name, _alert_tables(config, run, checkpoint.manifest), config.alerts, run.result.window[1]
            )
        checkpoint.windows[run.name] = list(run.result.window)
        checkpoint.summaries[run.name] = service_summary(run.result)
    w1 = max((w[1] for w in checkpoint.windows.values()), default=0.0)
    messages, checkpoint.episodes = alerts.notifications(
        episodes, checkpoint.episodes, w1, config.alerts.lookback_s, {s.name for s in config.services}
    )
    alerts.queue(checkpoint.outbox, messages, config.notify)
    report.notifications = messages
    report.recomputed = True


def _alert_tables(
    config: MonitorConfig, run: ServiceRun, manifest: dataset.Manifest
) -> dict[str, pd.DataFrame]:
    """The whole period's tables the alert rules read; per-interval estimates from the new dataset."""
    tables = dict(run.result.tables)
    if config.alerts.p_break is not None:
        estimates = dataset.read_dataset(config.output_dir, "estimates", manifest)
        tables["estimates"] = estimates[estimates["service"] == run.name].drop(columns="service")
    return tables


def run_monitor(config: MonitorConfig, progress: ReadProgress | None = None) -> RunReport:
    """One run (see the module docstring). The caller must hold :class:`anystab.monitor.lock.RunLock`."""
    report = RunReport()
    cache = ElementCache(config.state_dir)
    dataset.remove_stale_temporaries(config.state_dir)
    checkpoint = load_checkpoint(config.state_dir)
    dataset.publish(config.output_dir, checkpoint.manifest)
    sources = gather_sources(config, report)
    report.files_seen = len(sources)
    report.files_read = read_new(config, cache, sources, progress)
    keys = cache.keys()
    report.files_cached = len(keys)
    if not checkpoint.reflects(config.fingerprint(), keys):
        recompute(config, cache, checkpoint, report)
        checkpoint.fingerprint = config.fingerprint()
        checkpoint.files = {p: [k.size, k.mtime_ns, k.targets] for p, k in keys.items()}
        checkpoint.runs += 1
        save_checkpoint(config.state_dir, checkpoint)
        remove_unnamed_carry(config.state_dir, set(checkpoint.carry.values()))
        dataset.publish(config.output_dir, checkpoint.manifest)
    if checkpoint.outbox:
        checkpoint.outbox, outcome = alerts.deliver(checkpoint.outbox, config.notify)
        checkpoint.deliveries = alerts.delivery_log(checkpoint.deliveries, outcome)
        save_checkpoint(config.state_dir, checkpoint)
        report.delivered, report.failed = len(outcome.delivered), outcome.failed
    report.pending = len(checkpoint.outbox)
    report.services = checkpoint.summaries
    report.open_episodes = [k["episode"] for k in checkpoint.episodes.values() if k["open"]]
    report.level = alerts.open_level(checkpoint.episodes)
    if report.failed and report.level == "ok":
        report.level = "warning"
    return report
