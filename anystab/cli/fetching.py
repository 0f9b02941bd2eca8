"""The fetch pieces several commands share (``fetch``, ``analyze``, ``collectors``): the cache options, a
fetch request from options and the config file, and a fetch with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from anystab.cli.paths import OutputDir, dir_problem
from anystab.cli.render import stderr_console
from anystab.errors import ConfigError, SourceUnavailableError
from anystab.sources.registry import (
    DEFAULT_JOBS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    default_cache,
    load_config,
    merge_mirrors,
    parse_mirror,
    redact_url,
)
from anystab.text import plural

if TYPE_CHECKING:
    from anystab.sources.fetch import FetchReport, FetchRequest

F = TypeVar("F", bound=Callable[..., Any])


def check_mirror(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            parse_mirror(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None
    return values


def cache_options(func: F) -> F:
    """--cache, --mirror and --no-warm-up (used by ``fetch`` and ``analyze``)."""
    func = click.option(
        "--mirror",
        "mirrors",
        multiple=True,
        callback=check_mirror,
        metavar="[PROJECT=]URL",
        help="Fetch from a mirror with the archive's layout: URL for every project, or ris=URL / "
        "routeviews=URL (repeatable; overrides the config file's [mirrors]).",
    )(func)
    func = click.option(
        "--no-warm-up",
        is_flag=True,
        help="Fetch no update files between the RIB dump and --start: the analysis then starts from the "
        "dump's table, up to 8 h (RIS) or 2 h (RouteViews) old, and says so.",
    )(func)
    func = click.option(
        "--cache",
        type=OutputDir(),
        default=None,
        metavar="DIR",
        help="Cache folder (default: $ANYSTAB_CACHE, the config file's cache, or ~/.cache/anystab).",
    )(func)
    return func


def build_request(collectors: Sequence[str], start: float, end: float, opts: dict[str, Any]) -> FetchRequest:
    """A fetch request from options, filled in from the config file."""
    from anystab.sources.fetch import FetchRequest

    settings = load_config()
    cache = opts.get("cache")
    if cache is None:
        cache = default_cache(settings)
        problem = dir_problem(cache)
        if problem:
            raise ConfigError(f"cannot use the cache {cache} ($ANYSTAB_CACHE or the config file): {problem}")
    return FetchRequest(
        collectors=tuple(collectors),
        start=start,
        end=end,
        cache=cache,
        ribs=opts.get("ribs", True),
        warm_up=not opts.get("no_warm_up", False),
        mirrors=merge_mirrors(settings, opts.get("mirrors", ())),
        jobs=opts.get("fetch_jobs") or DEFAULT_JOBS,
        retries=opts.get("retries", DEFAULT_RETRIES),
        timeout_s=opts.get("timeout") or DEFAULT_TIMEOUT_S,
        verify=opts.get("verify", False),
    )


def run_fetch(request: FetchRequest, quiet: bool) -> FetchReport:
    """Fetch with a progress bar (files and bytes) on stderr."""
    from rich.filesize import decimal
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from anystab.sources.fetch import FetchProgress
    from anystab.sources.fetch import fetch as fetch_files

    with Progress(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, {task.fields[size]}"),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("fetch", total=None, size="0 bytes")

        def progress(p: FetchProgress) -> None:
            bar.update(task, completed=p.files_done, total=p.files_total, size=decimal(p.bytes_done))

        return fetch_files(request, progress)


def raise_on_failures(report: FetchReport) -> None:
    if report.failed:
        first = report.failed[0]
        raise SourceUnavailableError(
            f"{plural(len(report.failed), 'file')} could not be fetched "
            f"(first: {redact_url(first.file.url)}: {first.error}); run again to resume"
        )
