"""``anystab analyze``: the main job, from MRT files to session-break probabilities."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from anystab.cli.options import SESSIONS, target_options, window_options
from anystab.cli.render import stderr_console, stdout_console
from anystab.params import DEFAULT_SESSIONS_S, AnalysisParams, SiteMap
from anystab.pipeline import AnalysisRequest, AnalysisResult
from anystab.pipeline import analyze as run_analysis
from anystab.service import load_service, load_site_map
from anystab.targets import IPAddress, IPNetwork, Target, target_set


def build_targets(
    prefixes: Sequence[IPNetwork], addresses: Sequence[IPAddress], service_targets: Sequence[Target]
) -> list[Target]:
    """Targets from --prefix/--address and a service file; each address to its longest prefix."""
    chosen: dict[IPNetwork, IPAddress] = {}
    for addr in addresses:
        holders = [p for p in prefixes if p.version == addr.version and addr in p]
        if not holders:
            raise click.BadParameter(f"{addr} is inside no --prefix", param_hint="--address")
        chosen[max(holders, key=lambda p: p.prefixlen)] = addr
    targets = list(service_targets)
    targets += [Target(p, chosen.get(p, p.network_address)) for p in prefixes]
    if not targets:
        raise click.UsageError("name at least one target with --prefix or --service")
    return targets


def build_params(opts: dict[str, Any]) -> AnalysisParams:
    service = load_service(opts["service_file"]) if opts["service_file"] else None
    site_map = service.site_map if service else SiteMap()
    if opts["site_map_file"]:
        extra = load_site_map(opts["site_map_file"])
        site_map = SiteMap({**site_map.names, **extra.names}, {**site_map.communities, **extra.communities})
    targets = build_targets(opts["prefixes"], opts["addresses"], service.targets if service else ())
    return AnalysisParams(
        targets=target_set(targets),
        site_by=opts["site_by"] or (service.site_by if service and service.site_by else "upstream"),
        site_map=site_map,
        min_dwell_s=opts["min_dwell"]
        if opts["min_dwell"] is not None
        else (service.min_dwell_s if service and service.min_dwell_s is not None else 0.0),
        sessions_s=opts["sessions"] or DEFAULT_SESSIONS_S,
    )


def _run(request: AnalysisRequest, quiet: bool) -> AnalysisResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = stderr_console()
    with Progress(
        TextColumn("reading MRT"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("read", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_analysis(request, progress)


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@target_options
@window_options
@click.option(
    "--collector", default=None, metavar="NAME", help="Collector name for files whose path does not tell it."
)
@click.option(
    "--sessions",
    type=SESSIONS,
    default=None,
    metavar="LIST",
    help="Session lengths, comma-separated (default 10s,1m,10m,1h,1d).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write every table as DIR/<table>.parquet (all or nothing).",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Also write the self-contained HTML report to FILE (needs the [report] extra).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout, and nothing else."
)
@click.option("--strict", is_flag=True, help="Exit 1 if any input data had to be skipped.")
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Files read in parallel (0 = all cores).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def analyze(sources: tuple[str, ...], **opts: Any) -> None:
    """Analyse anycast stability in MRT files or folders (SOURCE...).

    Sources are any mix of RIB and update dumps (gzip, bzip2 or plain) from any number of collectors.
    Reports, per collector and overall, how likely a TCP session of each length is to break because a
    vantage point's route moved to another site.
    """
    params = build_params(opts)
    if opts["html"]:
        from anystab.report.html import load_plots

        load_plots()  # a missing optional extra fails before the long part, not after it
    request = AnalysisRequest(
        sources=sources,
        params=params,
        start=opts["start"],
        end=opts["end"],
        collector=opts["collector"],
        jobs=opts["jobs"],
    )
    result = _run(request, opts["quiet"] or not sys.stderr.isatty())
    if opts["out"]:
        from anystab.output import write_tables

        write_tables(result, opts["out"])
    summary = result.summary()
    if opts["html"]:
        from anystab.report.html import write_html

        write_html(opts["html"], result.tables, summary)
    if opts["as_json"]:
        click.echo(json.dumps(summary, indent=2))
    else:
        from anystab.report.terminal import render_summary

        render_summary(summary, stdout_console())
    if opts["out"] and not opts["as_json"]:
        click.echo(f"tables written to {opts['out']}", err=True)
    if opts["html"] and not opts["as_json"]:
        click.echo(f"report written to {opts['html']}", err=True)
    if opts["strict"] and summary["read"]["skipped"]:
        raise click.ClickException(
            f"--strict: {summary['read']['skipped']} records or bytes of input were skipped "
            f"({summary['read']['problems_total']} problems)"
        )
