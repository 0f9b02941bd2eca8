"""``anystab fetch``: bring the archive files of collectors and a window into the local cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from anystab.cli.fetching import build_request, cache_options, raise_on_failures, run_fetch
from anystab.cli.options import TIME, jobs_option, quiet_option
from anystab.sources.registry import DEFAULT_JOBS, DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, redact_url
from anystab.text import plural

if TYPE_CHECKING:
    from anystab.sources.fetch import FetchReport, FetchRequest

MAX_LISTED_PROBLEMS = 20


def report_text(report: FetchReport) -> list[str]:
    """Lines for people: counts, then the files that are missing or failed."""
    from rich.filesize import decimal

    lines = [
        f"{report.count('downloaded')} downloaded ({decimal(report.bytes_downloaded)}), "
        f"{report.count('cached')} already cached, "
        f"{report.count('missing') + report.count('known_missing')} missing in the archive, "
        f"{len(report.failed)} failed; cache: {report.cache}"
    ]
    lines += [f"note: {note}" for note in report.notes]
    trouble = [o for o in report.outcomes if o.status in ("missing", "failed")]
    for outcome in trouble[:MAX_LISTED_PROBLEMS]:
        lines.append(f"{outcome.status}: {redact_url(outcome.file.url)} ({outcome.error})")
    if len(trouble) > MAX_LISTED_PROBLEMS:
        lines.append(f"... and {len(trouble) - MAX_LISTED_PROBLEMS} more (see --json)")
    return lines


def dry_run(request: FetchRequest, as_json: bool) -> None:
    """The planned files, RIB dumps first, then the warm-up files, then the window's: URLs (or JSON) on
    stdout, counts on stderr. Sizes are known for the files already in the cache only."""
    from anystab.sources.fetch import planned_files

    files = sorted(planned_files(request), key=lambda f: ("rib", "warm_up", "window").index(f.role))
    sizes = {f.path: _size(request.cache / f.path) for f in files}
    if as_json:
        rows = [
            {"url": redact_url(f.url), "path": f.path, "collector": f.collector, "kind": f.kind,
             "role": f.role, "cached": sizes[f.path] is not None, "bytes": sizes[f.path]}
            for f in files
        ]  # fmt: skip
        click.echo(json.dumps({"cache": str(request.cache), "files": rows}, indent=2))
    else:
        for f in files:
            click.echo(redact_url(f.url))
    counts = {role: [f for f in files if f.role == role] for role in ("rib", "warm_up", "window")}
    cached = sum(1 for size in sizes.values() if size is not None)
    warm = counts["warm_up"]
    warm_bytes = sum(sizes[f.path] or 0 for f in warm)
    click.echo(
        f"{plural(len(files), 'file')}: {plural(len(counts['rib']), 'RIB dump')}, "
        f"{plural(len(warm), 'warm-up file')} (from the RIB dump to --start; "
        f"{sum(1 for f in warm if sizes[f.path] is not None)} cached, {warm_bytes:,} bytes), "
        f"{len(counts['window'])} for the window; {cached} already in {request.cache}",
        err=True,
    )


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


@click.command()
@click.option(
    "--collector",
    "collectors",
    multiple=True,
    required=True,
    metavar="NAME",
    help="Collector (rrc00, route-views2, ...), project (ris, routeviews) or all; repeatable, or "
    "comma-separated.",
)
@click.option(
    "--start", type=TIME, required=True, metavar="TIME", help="Window start (ISO 8601 UTC or Unix)."
)
@click.option("--end", type=TIME, required=True, metavar="TIME", help="Window end (ISO 8601 UTC or Unix).")
@click.option(
    "--ribs/--no-ribs", default=True, show_default=True, help="Also fetch the RIB dump at or before --start."
)
@cache_options
@click.option("--dry-run", is_flag=True, help="Print the URLs of the files the window needs; fetch nothing.")
@jobs_option(default=DEFAULT_JOBS, minimum=1, dest="fetch_jobs", help="Downloads in parallel.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=DEFAULT_RETRIES,
    show_default=True,
    help="Retries per file after a failed attempt.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="Network time-out per attempt.",
)
@click.option("--verify", is_flag=True, help="Decompress cached files again; fetch damaged ones anew.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of every file as JSON on stdout.")
@quiet_option()
def fetch(collectors: tuple[str, ...], start: float, end: float, **opts: Any) -> None:
    """Download the MRT files of collectors for a window into the cache.

    Fetches the update files that cover [--start, --end), the RIB dump at or before --start and the update
    files from that dump up to --start (the warm-up, so that the analysis starts from the exact state at
    --start; --no-warm-up skips them), in parallel, with retries; partial downloads are resumed, every
    file is checked to decompress whole and is moved into place atomically, in the archive's own layout.
    Files already cached are not downloaded again; files the archive lacks (404) are recorded in the cache
    so that analysis knows the gap.
    """

    request = build_request(collectors, start, end, opts)
    if opts["dry_run"]:
        dry_run(request, opts["as_json"])
        return
    report = run_fetch(request, opts["quiet"] or not sys.stderr.isatty())
    if opts["as_json"]:
        click.echo(json.dumps(report.summary(), indent=2))
    else:
        for line in report_text(report):
            click.echo(line)
    raise_on_failures(report)
