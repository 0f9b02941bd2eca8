"""``anystab sample``: (re)generate the sample archive that the README demo analyses."""

from __future__ import annotations

from pathlib import Path

import click

from anystab.cli.paths import OutputDir


@click.command()
@click.argument("outdir", type=OutputDir())
def sample(outdir: Path) -> None:
    """Write the sample archive (a fictional anycast service seen by two collectors) to OUTDIR.

    The output is deterministic: the committed data/ folder is exactly what this writes.
    """
    from anystab.generate import write_sample

    write_sample(outdir)
    click.echo(f"sample archive written to {outdir}", err=True)
