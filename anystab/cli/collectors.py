"""``anystab collectors``: the collector registry (project, archive URL, cadences, active years)."""

from __future__ import annotations

import json
from typing import Any

import click

from anystab.cli.fetching import check_mirror
from anystab.cli.render import stdout_console
from anystab.sources.registry import (
    COLLECTORS,
    PROJECTS,
    Collector,
    base_url,
    load_config,
    merge_mirrors,
)


def _every(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def collector_rows(project: str | None, mirrors: dict[str, str]) -> list[dict[str, Any]]:
    """One row per listed collector: name, project, location, years, cadences and archive URL."""
    rows = []
    for coll in COLLECTORS.values():
        if project and coll.project != project:
            continue
        rows.append(_row(coll, mirrors))
    return rows


def _row(coll: Collector, mirrors: dict[str, str]) -> dict[str, Any]:
    proj = PROJECTS[coll.project]
    folder = coll.remote_folder + "/" if coll.remote_folder else ""
    suffix = "" if coll.project == "ris" else "bgpdata/"
    return {
        "collector": coll.name,
        "project": coll.project,
        "location": coll.location,
        "first_year": coll.first_year,
        "last_year": coll.last_year,
        "updates_every_s": proj.update_cadence_s,
        "ribs_every_s": proj.rib_cadence_s,
        "url": base_url(coll.project, mirrors) + folder + suffix,
    }


@click.command()
@click.option(
    "--project", type=click.Choice(sorted(PROJECTS)), default=None, help="Only this project's collectors."
)
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    callback=check_mirror,
    metavar="[PROJECT=]URL",
    help="Show URLs below a mirror (as in `anystab fetch --mirror`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON on stdout.")
def collectors(project: str | None, mirrors: tuple[str, ...], as_json: bool) -> None:
    """List the known route collectors: project, location, active years, cadences and archive URL.

    Any of them (or a project name, ris or routeviews, or all) can be named with --collector in
    `anystab fetch` and `anystab analyze`. Active years are approximate.
    """
    rows = collector_rows(project, merge_mirrors(load_config(), mirrors))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from anystab.report.terminal import Grid, print_grid

    table = Grid([], options={"box": None, "pad_edge": False})
    for column in ("collector", "project", "location", "years", "updates", "RIBs", "archive"):
        table.add_column(column)
    for row in rows:
        years = f"{row['first_year']}-{row['last_year'] or ''}"
        table.add_row(
            row["collector"],
            row["project"],
            row["location"],
            years,
            _every(row["updates_every_s"]),
            _every(row["ribs_every_s"]),
            row["url"],
        )
    print_grid(table, stdout_console())
