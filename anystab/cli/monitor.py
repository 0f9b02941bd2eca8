"""``anystab init``, ``anystab monitor`` and ``anystab history``: monitoring from cron.

``monitor`` exits 0 (OK), 1 (warning), 2 (critical) or 3 (its own failure, a busy lock included), as
monitoring plugins do; usage errors also exit 3, so that cron never reads them as "critical".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from anystab.cli.options import DURATION, TIME
from anystab.cli.paths import OutputFile, dir_problem
from anystab.collect import import_for_good
from anystab.errors import AnystabError, ConfigError
from anystab.text import plural

FAILURE_STATUS = 3
LEVEL_WORDS = {0: "OK", 1: "WARNING", 2: "CRITICAL"}


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))


class PluginUsageError(click.UsageError):
    """A usage error with the plugin convention's own-failure status."""

    exit_code = FAILURE_STATUS


class PluginCommand(click.Command):
    """A command whose usage errors exit with :data:`FAILURE_STATUS` instead of 2 (= critical)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise PluginUsageError(exc.format_message(), exc.ctx) from exc


def config_option(func: Any) -> Any:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        metavar="FILE.toml",
        help="Monitoring config file (write an example with `anystab init`).",
    )(func)


@click.command()
@click.argument("path", type=OutputFile(), default="anystab-monitor.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example monitoring config to PATH (default anystab-monitor.toml)."""
    from anystab.monitor import EXAMPLE_CONFIG
    from anystab.output import atomic_write_text

    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to overwrite it")
    atomic_write_text(path, EXAMPLE_CONFIG, private=True)  # it will hold the webhook URL
    click.echo(f"wrote {path}; edit it, then run: anystab monitor --config {path}", err=True)


def _lines(report: Any) -> list[str]:
    lines = [
        f"{LEVEL_WORDS[report.status]}: {plural(report.files_read, 'new file')} read "
        f"({report.files_cached} processed in all), "
        f"{plural(report.partitions_written, 'partition')} written, "
        f"{plural(len(report.notifications), 'new alert')}, {report.delivered} delivered, "
        f"{report.pending} pending"
    ]
    if report.fetched:
        lines.append(
            "fetched: " + ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in report.fetched.items())
        )
    for name, s in sorted(report.services.items()):
        lines.append(
            f"{name}: {s['window'][0]} .. {s['window'][1]}, {plural(s['vantage_points'], 'VP')}, "
            f"{plural(s['switches'], 'switch', 'switches')}, {plural(s['withdraws'], 'withdrawal')}"
        )
    for ep in report.open_episodes:
        where = ", ".join(f"{k}={v}" for k, v in ep["subject"].items())
        lines.append(f"{ep['level'].upper()} {ep['service']} {ep['rule']}: {ep['what']} ({where})")
    lines += _delivery_failures(report.failed)
    lines += [f"note: {note}" for note in report.notes]
    return lines


def check_folders(config: Any) -> None:
    """The folders a run writes, checked before it takes the lock: one line naming the folder otherwise."""
    folders = [("state_dir", config.state_dir), ("output_dir", config.output_dir)]
    if config.cache is not None:
        folders.append(("cache", config.cache))
    for key, folder in folders:
        problem = dir_problem(folder)
        if problem:
            raise ConfigError(f"{key} {folder}: {problem}")


def _delivery_failures(failed: list[dict[str, Any]]) -> list[str]:
    """One line per channel and error, with how many alerts it did not deliver (the alerts are in --json)."""
    counts: dict[tuple[str, str], int] = {}
    for entry in failed:
        key = (entry["channel"], entry["last_error"])
        counts[key] = counts.get(key, 0) + 1
    return [
        f"delivery failed ({channel}): {plural(n, 'alert')} not delivered: {error}"
        for (channel, error), n in counts.items()
    ]


@click.command(cls=PluginCommand)
@config_option
@click.option(
    "--wait",
    type=DURATION,
    default="60s",
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a run still holding the lock before giving up (exit 3).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON on stdout.")
@click.pass_context
def monitor(ctx: click.Context, config_path: Path, wait: float, as_json: bool) -> None:
    """Process the archive files not yet processed, update the dataset, raise and deliver alerts.

    Meant for cron: the exit status is the level of the alert episodes going on, as monitoring plugins
    report it (an alert that could not be delivered makes the run at least a warning).
    """
    from dataclasses import asdict

    import_for_good("anystab.monitor")
    from anystab.monitor import RunLock, load_config, run_monitor

    try:
        config = load_config(config_path)
        check_folders(config)
        with RunLock(config.state_dir, wait):
            report = run_monitor(config)
    except AnystabError as exc:
        click.echo(f"anystab monitor: UNKNOWN: {exc}", err=True)
        ctx.exit(FAILURE_STATUS)
    except Exception as exc:  # cron sees only the status: any crash is "unknown", never "ok"
        click.echo(f"anystab monitor: UNKNOWN: {type(exc).__name__}: {exc}", err=True)
        ctx.exit(FAILURE_STATUS)
    if as_json:
        click.echo(_json({**asdict(report), "status": report.status}))
    else:
        for line in _lines(report):
            click.echo(line)
    ctx.exit(report.status)


def _history_text(summary: dict[str, Any], since: float | None) -> None:
    from anystab.cli.render import stdout_console
    from anystab.report.terminal import Grid, print_grid

    console = stdout_console()
    if summary["from"] is None:
        from anystab.text import iso_utc

        why = "run anystab monitor first" if since is None else f"none from {iso_utc(since)} on"
        click.echo(f"history of {summary['dataset']}: no monitoring results ({why})")
        return
    console.print(f"history of {summary['dataset']}: {summary['from']} .. {summary['until']}")
    parts = [
        (
            "Switches per day",
            summary["switches_per_day"],
            ["day", "service", "target", "switches", "withdraws", "vps"],
        ),
        (
            "P(break) per day",
            summary["p_break"],
            ["day", "service", "target", "session_s", "mean_p", "max_p"],
        ),
        (
            "Worst VPs",
            summary["worst_vps"],
            ["service", "collector", "peer_asn", "peer_ip", "target", "breaks"],
        ),
    ]
    headers = {"session_s": "session", "mean_p": "mean P(break)", "max_p": "max P(break)"}
    for title, rows, columns in parts:
        table = Grid([], title=title, keep=3 if "day" in columns else 5)
        for column in columns:
            table.add_column(headers.get(column, column))
        for row in rows:
            table.add_row(*[_history_cell(c, row[c]) for c in columns])
        print_grid(table, console)


def _history_cell(column: str, value: Any) -> str:
    """A history table cell as the analysis report writes it (session lengths as 10s, 1h; P to 4 places)."""
    from anystab.report.terminal import fmt_duration, fmt_p

    if column == "session_s":
        return fmt_duration(float(value))
    if column in ("mean_p", "max_p"):
        return fmt_p(None if value is None else float(value))
    return str(value)


@click.command()
@config_option
@click.option(
    "--since", type=TIME, default=None, metavar="TIME", help="Only history from TIME on (ISO 8601 or Unix)."
)
@click.option("--service", default=None, metavar="NAME", help="Only this service (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def history(config_path: Path, since: float | None, service: str | None, as_json: bool) -> None:
    """Summarise the stored monitoring history: switches per day, P(break) over time, worst VPs."""
    from anystab.monitor import load_config, summarise

    config = load_config(config_path)
    if service is not None and service not in {s.name for s in config.services}:
        raise click.BadParameter(f"no service {service!r} in {config_path}", param_hint="--service")
    summary = summarise(config.output_dir, since, service)
    if as_json:
        click.echo(_json(summary))
    else:
        _history_text(summary, since)
    sys.stdout.flush()
