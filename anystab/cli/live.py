"""``anystab live``: follow RIS Live and report site switches as they happen."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from anystab.cli.options import DURATION, quiet_option, resync_option, target_options
from anystab.cli.params import build_params
from anystab.cli.paths import OutputDir
from anystab.cli.render import stderr_console, stdout_console
from anystab.collect import import_for_good
from anystab.params import DEFAULT_BATCH_S, DEFAULT_RETENTION_S, DEFAULT_SETTLE_S
from anystab.sources.rislive import DEFAULT_URL, LiveItem, ReplaySource, RisLiveSource, check_url
from anystab.text import plural

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, Group
    from rich.live import Live

    from anystab.live import LiveStats

SHOWN_EVENTS = 20
COLUMNS = ["time", "collector", "peer_asn", "peer_ip", "target", "kind", "old_site", "new_site"]


def event_records(events: pd.DataFrame) -> list[dict[str, Any]]:
    """Events as JSON-ready dicts (times as ISO 8601 UTC, missing values as null)."""
    from anystab.summary import json_scalar

    return [{key: json_scalar(value) for key, value in row.items()} for row in events.to_dict("records")]


class TerminalSink:
    """New events on stdout (a live table on a terminal, lines into a pipe, or JSON lines); notices on
    stderr."""

    def __init__(self, console: Console, as_json: bool, quiet: bool) -> None:
        self.console = console
        self.as_json = as_json
        self.quiet = quiet
        self.recent: deque[dict[str, Any]] = deque(maxlen=SHOWN_EVENTS)
        self.live: Live | None = None
        if not as_json and console.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=console, auto_refresh=False)

    def __enter__(self) -> TerminalSink:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def events(self, events: pd.DataFrame) -> None:
        records = event_records(events)
        if self.as_json:
            for record in records:
                click.echo(json.dumps(record))
            sys.stdout.flush()
            return
        if self.live is not None:
            self.recent.extend(records)
            self.live.update(self._table(), refresh=True)
            return
        for record in records:
            line = "  ".join("-" if record[c] is None else str(record[c]) for c in COLUMNS)
            self.console.print(line, soft_wrap=True, markup=False, highlight=False)  # one line an event

    def _table(self) -> Group:
        """The latest events, split by columns (time first in each part) where the terminal is narrow."""
        from rich.console import Group

        from anystab.events import BREAK_KINDS
        from anystab.report.terminal import Grid

        table = Grid([], title="anystab live: latest events", options={"expand": False})
        for column in COLUMNS:
            table.add_column(column)
        for record in self.recent:
            style = "bold red" if record["kind"] in BREAK_KINDS else None
            table.add_row(*("-" if record[c] is None else str(record[c]) for c in COLUMNS), style=style)
        return Group(*table.parts(self.console.width))

    def notice(self, item: LiveItem) -> None:
        if self.quiet and item.kind in ("connected", "disconnected"):
            return
        label = {"malformed": "malformed frame", "ris_error": "ris_error"}.get(item.kind, item.kind)
        stderr_console().print(
            f"[bold]{label}[/bold]: {item.note}", markup=True, highlight=False, soft_wrap=True
        )


def _summary(stats: LiveStats, out: Path | None) -> str:
    text = (
        f"live: {plural(stats.frames, 'frame')}, {plural(stats.elements, 'element')}, "
        f"{plural(stats.events, 'event')}, {stats.malformed} malformed, {stats.ris_errors} ris_error, "
        f"{plural(stats.disconnections, 'disconnection')}"
    )
    if out is not None:
        text += f"; {plural(len(stats.parts), 'event file')} in {out / 'events'}"
    return text


def _url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_url(value)
    except Exception as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@target_options
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    callback=_url,
    help="RIS Live websocket URL (or another server speaking its protocol).",
)
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.jsonl",
    help="Read a recorded stream instead (RIS Live frames, one a line, gzip allowed), at full speed.",
)
@click.option(
    "--out",
    type=OutputDir(),
    default=None,
    metavar="DIR",
    help="Append events to DIR/events/part-<n>.parquet, one file per batch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines on stdout.")
@click.option("--duration", type=DURATION, default=None, metavar="SECONDS", help="Stop after this long.")
@click.option(
    "--max-events", type=click.IntRange(min=1), default=None, metavar="N", help="Stop after N events."
)
@click.option(
    "--batch",
    type=DURATION,
    default=DEFAULT_BATCH_S,
    show_default=True,
    metavar="SECONDS",
    help="How often the events are recomputed.",
)
@click.option(
    "--settle",
    type=DURATION,
    default=DEFAULT_SETTLE_S,
    show_default=True,
    metavar="SECONDS",
    help="After this long without elements, events at the newest time count as final.",
)
@click.option(
    "--retention",
    type=DURATION,
    default=DEFAULT_RETENTION_S,
    show_default=True,
    metavar="SECONDS",
    help="Elements older than this are compacted to the route state they leave.",
)
@resync_option
@quiet_option("No connection notices on stderr.")
@click.pass_context
def live(ctx: click.Context, /, **opts: Any) -> None:
    """Follow RIS Live and report site switches of the targets as they happen.

    Subscribes to every target prefix with its more- and less-specifics, rebuilds each vantage point's
    route state with the same stages as analyze, and prints each event once it is final. Reconnects with
    backoff; malformed frames and ris_error messages are reported on stderr and skipped. With --replay,
    the same analysis runs on a recorded stream, as fast as it can be read.
    """
    import asyncio

    import_for_good("anystab.live")
    from anystab.live import LiveConfig, LiveStats, run_live

    params = build_params({**opts, "sessions": None})
    config = LiveConfig(
        params=params,
        batch_s=opts["batch"],
        settle_s=opts["settle"],
        retention_s=opts["retention"],
        duration_s=opts["duration"],
        max_events=opts["max_events"],
        out=opts["out"],
    )
    config.validate()
    if opts["replay"] is not None:
        if ctx.get_parameter_source("url") is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--replay reads a recording: leave out --url")
        source: RisLiveSource | ReplaySource = ReplaySource(params.targets, opts["replay"])
    else:
        source = RisLiveSource(params.targets, opts["url"])
    stats = LiveStats()
    sink = TerminalSink(stdout_console(), opts["as_json"], opts["quiet"])
    # Ctrl-C ends a live run; the events still pending are written first
    with sink, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_live(config, source, sink, stats))
    click.echo(_summary(stats, opts["out"]), err=True)
