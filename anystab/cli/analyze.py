"""``anystab analyze``: the main job, from MRT files to session-break probabilities."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from anystab.cli.executor_options import SOURCE, check_source_choice, dask_option
from anystab.cli.fetching import build_request, cache_options, raise_on_failures, run_fetch
from anystab.cli.options import (
    SESSIONS,
    jobs_option,
    quiet_option,
    resync_option,
    target_options,
    window_options,
)
from anystab.cli.params import build_params
from anystab.cli.paths import OutputDir, OutputFile, OutputPathError
from anystab.cli.render import stderr_console, stdout_console
from anystab.collect import import_for_good
from anystab.errors import ConfigError, SourceUnavailableError
from anystab.sources.registry import check_collector_name

if TYPE_CHECKING:
    from anystab.pipeline import AnalysisRequest, AnalysisResult, ProgressCallback
    from anystab.sources.base import Source


def resolve_sources(
    sources: tuple[str, ...], opts: dict[str, Any], quiet: bool
) -> tuple[tuple[str, ...], str | None]:
    """(sources, collector): the SOURCE arguments, or the files fetched for --collector and the window."""
    collectors = opts["collector"]
    if sources:
        if len(collectors) > 1 or any("," in c for c in collectors):
            raise click.UsageError("with SOURCE files, --collector names the one collector of unnamed files")
        if opts["cache"] or opts["mirrors"] or opts["no_warm_up"]:
            raise click.UsageError("--cache, --mirror and --no-warm-up apply when fetching: name no SOURCE")
        return sources, check_collector_name(collectors[0].strip()) if collectors else None
    if not collectors or opts["start"] is None or opts["end"] is None:
        raise click.UsageError(
            "name SOURCE files or folders, or --collector with --start and --end to fetch them"
        )
    report = run_fetch(build_request(collectors, opts["start"], opts["end"], opts), quiet)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    raise_on_failures(report)
    if not report.paths():
        raise SourceUnavailableError("the archive has none of the files of this window")
    return tuple(str(p) for p in sorted(report.paths(), key=lambda p: p.parts)), None  # a folder walk's order


def _run(request: AnalysisRequest, quiet: bool, source: Source, dask: str | None = None) -> AnalysisResult:
    if quiet:  # no progress bar to show: rich is not even imported (--json, -q, stderr not a terminal)
        return _analysis(request, source, dask, None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = stderr_console()
    with Progress(
        TextColumn("reading MRT"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("read", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return _analysis(request, source, dask, progress)


def _analysis(
    request: AnalysisRequest, source: Source, dask: str | None, progress: ProgressCallback | None
) -> AnalysisResult:
    from anystab.executors.choose import make_executor
    from anystab.pipeline import analyze as run_analysis

    if dask is None:
        return run_analysis(request, source, None, progress)
    with make_executor(dask) as executor:
        return run_analysis(request, source, executor, progress)


@click.command()
@click.argument("sources", nargs=-1, required=False, type=SOURCE)
@target_options
@window_options
@click.option(
    "--collector",
    multiple=True,
    metavar="NAME",
    help="Collector name for files whose path does not tell it; without SOURCE, the collectors to fetch "
    "for --start/--end (names, ris, routeviews or all; repeatable).",
)
@cache_options
@click.option(
    "--source",
    "source_name",
    type=click.Choice(["files", "bgpstream"]),
    default="files",
    show_default=True,
    help="Read MRT with anystab's reader, or with libbgpstream (pybgpstream, extra 'bgpstream').",
)
@resync_option
@click.option(
    "--sessions",
    type=SESSIONS,
    default=None,
    metavar="LIST",
    help="Session lengths, comma-separated (default 10s,1m,10m,1h,1d).",
)
@click.option(
    "--out",
    type=OutputDir(beside=True),
    default=None,
    metavar="DIR",
    help="Write every table as DIR/<table>.parquet (all or nothing).",
)
@click.option(
    "--html",
    type=OutputFile(),
    default=None,
    metavar="FILE",
    help="Also write the self-contained HTML report to FILE (needs the [report] extra).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout, and nothing else."
)
@click.option("--strict", is_flag=True, help="Exit 1 if any input data had to be skipped.")
@jobs_option()
@dask_option
@quiet_option()
def analyze(sources: tuple[str, ...], **opts: Any) -> None:
    """Analyse anycast stability in MRT files or folders (SOURCE...).

    Sources are any mix of RIB and update dumps (gzip, bzip2 or plain) from any number of collectors.
    Without SOURCE, --collector with --start and --end fetches the archive files into the cache first.
    Reports, per collector and overall, how likely a TCP session of each length is to break because a
    vantage point's route moved to another site.
    """
    params = build_params(opts)
    if opts["out"]:
        from anystab.output import check_target

        try:  # a folder that is not ours is refused before the long part
            check_target(opts["out"])
        except ConfigError as exc:
            raise OutputPathError(str(exc), param_hint="'--out'") from None
    if opts["html"]:
        from anystab.report.html import load_plots

        load_plots()  # a missing optional extra fails before the long part, not after it
    quiet = opts["quiet"] or not sys.stderr.isatty()
    check_source_choice(sources, opts["dask"], opts["source_name"])
    import_for_good("anystab.pipeline")
    from anystab.pipeline import AnalysisRequest
    from anystab.sources.base import make_source

    source = make_source(opts["source_name"])
    sources, collector = resolve_sources(sources, opts, quiet)
    request = AnalysisRequest(
        sources=sources,
        params=params,
        start=opts["start"],
        end=opts["end"],
        collector=collector,
        jobs=opts["jobs"],
    )
    result = _run(request, quiet, source, opts["dask"])
    if opts["out"]:
        from anystab.output import write_tables

        write_tables(result, opts["out"])
    summary = result.summary(frames=opts["as_json"] and not opts["html"])  # records as columns: JSON only
    if opts["html"]:
        from anystab.report.html import write_html

        write_html(opts["html"], result.tables, summary)
    if opts["as_json"]:
        from anystab.output import write_indented  # pyarrow, through the schemas: not at start-up

        write_indented(summary, sys.stdout)  # ASCII text: no colour codes to strip, as click.echo would
        sys.stdout.write("\n")
        sys.stdout.flush()
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
