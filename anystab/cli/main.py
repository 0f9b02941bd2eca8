"""The ``anystab`` command group: one place that turns library errors into one line and exit 1."""

from __future__ import annotations

import sys
from typing import Any

import click

from anystab import __version__
from anystab.errors import AnystabError

OUT_OF_MEMORY = (
    "out of memory: the sources hold more matching elements than fit in this machine's memory; "
    "analyse fewer files or a shorter window per run, or run on a machine with more memory"
)


class AnystabGroup(click.Group):
    """A click group that reports :class:`AnystabError`, an operating system error on a named file, and
    running out of memory as a one-line error with exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AnystabError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a full disk, a folder removed under a run: one line, never a traceback
            if exc.filename is None:
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror or exc}") from None
        except MemoryError:
            raise click.ClickException(OUT_OF_MEMORY) from None


@click.group(cls=AnystabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anystab")
def cli() -> None:
    """How stable is an anycast service, as seen from BGP?

    Reads RouteViews and RIPE RIS MRT archives, follows each vantage point's route to your anycast
    prefixes, infers the site it reaches, and reports site switches and the probability that a TCP
    session of a given length breaks.
    """


def _register() -> None:
    from anystab.cli import analyze, collectors, fetch, live, report, sample
    from anystab.cli import lab as lab_command
    from anystab.cli import monitor as monitor_commands

    cli.add_command(analyze.analyze)
    cli.add_command(lab_command.lab)
    cli.add_command(collectors.collectors)
    cli.add_command(fetch.fetch)
    cli.add_command(live.live)
    cli.add_command(report.report)
    cli.add_command(sample.sample)
    cli.add_command(monitor_commands.init)
    cli.add_command(monitor_commands.monitor)
    cli.add_command(monitor_commands.history)
    _add_exit_status(cli)


def _add_exit_status(command: click.Command) -> None:
    """End every command's --help with its exit statuses (monitor's are the monitoring-plugin ones)."""
    from anystab.cli.options import EXIT_STATUS, MONITOR_EXIT_STATUS, exit_epilog

    command.epilog = exit_epilog(MONITOR_EXIT_STATUS if command.name == "monitor" else EXIT_STATUS)
    for sub in getattr(command, "commands", {}).values():
        _add_exit_status(sub)


_register()


def main() -> None:
    """Console-script entry point; a closed stdout pipe is not a crash."""
    try:
        cli(prog_name="anystab")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
