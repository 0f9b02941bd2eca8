"""One monitoring run: new archive files in, the dataset brought up to date, alerts out.

Steps (the caller holds the run lock, :mod:`anystab.monitor.lock`):

1. Sources: fetch the configured collectors' files from ``start`` to now into the cache
   (:func:`anystab.sources.fetch.fetch`), and discover the files of the local archive folders.
2. New files (not cached with this size, mtime and target set) are read in batches of
   :data:`READ_BATCH` per worker, only for the configured targets; each file's elements are cached
   atomically as soon as its batch is read, so a killed run loses at most one batch of reading.
3. If the checkpoint already reflects exactly the cached files and the same settings, the dataset is up
   to date: skip to step 7 (a re-run over a processed window changes nothing).
4. Per service, recompute the stages over the cached elements of the whole monitored period, exactly as
   one analysis of all those files would (:func:`anystab.pipeline.choose_window`,
   :func:`~anystab.pipeline.select_elements`, :func:`~anystab.sources.missing_intervals`,
   :func:`~anystab.pipeline.run_stages`): each VP's route state carries over from one run to the next
   because every run starts from the same RIB dump and replays every update since.
5. Write the day partitions whose content changed (:func:`anystab.monitor.dataset.write_dataset`).
6. Find alert episodes, turn changes into notifications, queue them, and save the checkpoint (files,
   settings, windows, episodes, outbox) atomically. Everything before this step is idempotent, so a run
   killed anywhere is completed by the next one, with nothing lost and nothing twice.
7. Deliver the outbox (also what earlier runs could not deliver), save the checkpoint again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from anystab.errors import BadInputError
from anystab.monitor import alerts, dataset
from anystab.monitor.config import MonitorConfig
from anystab.monitor.state import (
    CachedFile,
    Checkpoint,
    ElementCache,
    FileKey,
    load_checkpoint,
    save_checkpoint,
)
from anystab.pipeline import AnalysisResult, choose_window, run_stages, select_elements
from anystab.service import Service
from anystab.sources import FileResult, SourceFile, describe, discover, missing_intervals, read_files
from anystab.sources.parallel import worker_count
from anystab.targets import TargetSet, target_set
from anystab.timeline import records_frame

READ_BATCH = 4
STATUS = {"ok": 0, "warning": 1, "critical": 2}
ReadProgress = Callable[[int, int], None]


@dataclass
class RunReport:
    """What one run did, for the terminal summary and ``--json``."""

    files_seen: int = 0
    files_read: int = 0
    files_cached: int = 0
    recomputed: bool = False
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


def gather_sources(config: MonitorConfig, notes: list[str]) -> list[SourceFile]:
    """Step 1: fetched files of the configured collectors, then the archive folders' files."""
    found: list[SourceFile] = []
    if config.collectors:
        from anystab.sources.fetch import FetchRequest, fetch
        from anystab.sources.registry import default_cache, load_config, merge_mirrors

        settings = load_config()
        assert config.fetch_start is not None
        request = FetchRequest(
            collectors=config.collectors,
            start=config.fetch_start,
            end=time.time(),
            cache=config.cache or default_cache(settings),
            mirrors=merge_mirrors(settings, config.mirrors),
        )
        report = fetch(request)
        notes += report.notes
        if report.failed:
            notes.append(f"{len(report.failed)} archive files could not be fetched; the next run retries")
        found += [describe(p) for p in report.paths()]
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
    batch = READ_BATCH * worker_count(config.jobs, len(todo) or 1)
    for first in range(0, len(todo), batch):
        chunk = todo[first : first + batch]
        results = read_files([s for s, _ in chunk], targets, config.jobs)
        for (source, key), result in zip(chunk, results, strict=True):
            cache.store(source, result, key)
        if progress:
            progress(first + len(chunk), len(todo))
    return len(todo)


def _for_service(result: FileResult, targets: TargetSet) -> FileResult:
    """The file's elements that one service's analysis would have kept (state changes always)."""
    table = result.elements
    prefixes = pc.unique(table["prefix"]).drop_null().to_pylist()
    keep = pa.array([p for p in prefixes if targets.matches(p)], pa.string())
    mask = pc.or_(pc.equal(table["elem_type"], "S"), pc.fill_null(pc.is_in(table["prefix"], keep), False))
    return FileResult(**{**vars(result), "elements": table.filter(mask)})


def analyse_service(config: MonitorConfig, service: Service, cached: Sequence[CachedFile]) -> AnalysisResult:
    """Step 4: the stages over every cached file, as one analysis of the whole period."""
    params = config.params(service)
    targets = params.targets.with_mode("any")
    files = [c.source for c in cached]
    results = [_for_service(c.result, targets) for c in cached]
    window = choose_window(files, results, None, None)
    elements = select_elements(files, results, window[0])
    rows = [
        {"collector": c, "start": s, "end": e, "reason": r}
        for c, s, e, r in missing_intervals(list(zip(files, results, strict=True)), *window)
    ]
    return run_stages(elements, records_frame("gaps", rows), params, window, files, results)


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


def recompute(
    config: MonitorConfig, cached: Sequence[CachedFile], checkpoint: Checkpoint, report: RunReport
) -> None:
    """Steps 4 to 6 (checkpoint updated in memory; the caller saves it)."""
    frames, episodes = [], []
    checkpoint.windows, checkpoint.summaries = {}, {}
    for service in config.services:
        try:
            result = analyse_service(config, service, cached)
        except BadInputError as exc:
            report.notes.append(f"{service.name}: not enough data yet ({exc})")
            continue
        tables = dataset.service_tables(service.name, result, config.interval_s)
        frames.append(tables)
        all_tables = {**result.tables, "estimates": tables["estimates"]}
        if config.alerts != alerts.AlertRules():
            episodes += alerts.find_episodes(service.name, all_tables, config.alerts, result.window[1])
        checkpoint.windows[service.name] = list(result.window)
        checkpoint.summaries[service.name] = service_summary(result)
    written = dataset.write_dataset(config.output_dir, dataset.to_partitions(frames))
    report.partitions_written, report.partitions_deleted = len(written.written), len(written.deleted)
    report.partitions_unchanged = written.unchanged
    w1 = max((w[1] for w in checkpoint.windows.values()), default=0.0)
    messages, checkpoint.episodes = alerts.notifications(
        episodes, checkpoint.episodes, w1, config.alerts.lookback_s, {s.name for s in config.services}
    )
    alerts.queue(checkpoint.outbox, messages, config.notify)
    report.notifications = messages
    report.recomputed = True


def run_monitor(config: MonitorConfig, progress: ReadProgress | None = None) -> RunReport:
    """One run (see the module docstring). The caller must hold :class:`anystab.monitor.lock.RunLock`."""
    report = RunReport()
    cache = ElementCache(config.state_dir)
    dataset.remove_stale_temporaries(config.state_dir)
    checkpoint = load_checkpoint(config.state_dir)
    sources = gather_sources(config, report.notes)
    report.files_seen = len(sources)
    report.files_read = read_new(config, cache, sources, progress)
    keys = cache.keys()
    report.files_cached = len(keys)
    if not checkpoint.reflects(config.fingerprint(), keys):
        recompute(config, cache.load(), checkpoint, report)
        checkpoint.fingerprint = config.fingerprint()
        checkpoint.files = {p: [k.size, k.mtime_ns, k.targets] for p, k in keys.items()}
        checkpoint.runs += 1
        save_checkpoint(config.state_dir, checkpoint)
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
