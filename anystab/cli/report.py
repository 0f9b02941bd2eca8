"""``anystab report``: the HTML report of a results folder that ``analyze --out`` wrote."""

from __future__ import annotations

from pathlib import Path

import click

from anystab.cli.paths import OutputFile, check_output_file
from anystab.params import MAX_TIMELINE_VPS


@click.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=OutputFile(),
    default=None,
    metavar="FILE",
    help="HTML file to write (default: RESULTS/report.html).",
)
@click.option(
    "--max-vps",
    type=click.IntRange(min=1),
    default=MAX_TIMELINE_VPS,
    show_default=True,
    help="Vantage points drawn in the site timeline (the least stable ones).",
)
def report(results: Path, output: Path | None, max_vps: int) -> None:
    """Write a self-contained HTML report of RESULTS, a folder written by ``analyze --out``.

    One file, no network needed to view it: the session-break curve, a timeline of the site each vantage
    point was routed to, catchment share and switches over time, and the least stable vantage points.
    """
    from anystab.report.html import load_plots, read_results, write_html

    output = output or check_output_file(results / "report.html", "RESULTS/report.html")
    load_plots()  # a missing optional extra is told before the tables are read
    tables, summary = read_results(results)
    path = write_html(output, tables, summary, max_vps)
    click.echo(f"report written to {path}", err=True)
