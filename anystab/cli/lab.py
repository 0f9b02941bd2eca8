"""``anystab lab``: a lab of real BGP daemons with known events, and a check of the analysis against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from anystab.cli.options import jobs_option
from anystab.cli.paths import OutputDir
from anystab.lab.scenarios import SCENARIOS


@click.group()
def lab() -> None:
    """A lab of real BGP daemons (gobgpd, FRR, BIRD) with scripted routing events.

    `lab run` plays a scenario and writes one MRT archive per route collector plus truth.json;
    `lab check` analyses each archive and compares the site switches with the truth. Needs root (or
    unprivileged user namespaces) and the Debian packages gobgpd, frr and bird2.
    """


@lab.command("run")
@click.argument("outdir", type=OutputDir())
@click.option(
    "--scenario",
    type=click.Choice(SCENARIOS),
    default="all",
    show_default=True,
    help="Scripted events to play (all = every scenario in one run).",
)
def run(outdir: Path, scenario: str) -> None:
    """Play a scenario on the lab; write OUTDIR/<collector>/ archives, truth.json and sites.toml."""
    from anystab.lab import run_lab

    truth = run_lab(outdir, scenario)
    click.echo(_run_summary(truth), nl=False)
    click.echo(f"lab archives and truth written to {outdir}", err=True)


def _run_summary(truth: dict[str, Any]) -> str:
    start = truth["window"]["start"]
    lines = [f"scenario {truth['scenario']}: window {truth['window']['end'] - start:.1f} s"]
    for step in truth["steps"]:
        took = step["converged"] - step["time"]
        lines.append(f"  +{step['time'] - start:6.2f} s  {step['name']:<26} converged in {took:.2f} s")
    for ev in truth["events"]:
        lines.append(f"  {ev['step']:<26} {ev['vp']}: {ev['kind']} {ev['old_site']} -> {ev['new_site']}")
    return "\n".join(lines) + "\n"


@lab.command("check")
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON on stdout.")
@jobs_option(default=1)
def check(outdir: Path, as_json: bool, jobs: int) -> None:
    """Analyse each collector's archive in OUTDIR and compare with truth.json; exit 1 on a mismatch."""
    from anystab.lab import check_lab

    result = check_lab(outdir, jobs)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(_check_text(result), nl=False)
    if not result.ok:
        raise click.ClickException("the analysis does not match the lab's truth")


def _check_text(result: Any) -> str:
    lines = []
    for c in result.collectors:
        lines.append(f"{c.collector} ({c.kind}, +/- {c.tolerance_s:g} s): {'ok' if c.ok else 'MISMATCH'}")
        for s in c.steps:
            if any(s.expected.values()) or not s.ok:
                late = f", {s.off_time} off time" if s.off_time else ""
                found = f"expected {_counts(s.expected)}, found {_counts(s.found)}{late}"
                lines.append(f"  {s.step:<26} {s.vp}: {found}  {'ok' if s.ok else 'MISMATCH'}")
        lines += [f"  unexpected break: {peer}  MISMATCH" for peer in c.unexpected_peers]
    return "\n".join(lines) + "\n"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none"
