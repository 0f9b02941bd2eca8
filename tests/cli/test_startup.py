"""What the command line loads before a command runs: none of the heavy libraries, for ``--help`` nor while
a command's options are parsed and checked (start-up time itself is measured by benchmarks/startup.py, never
asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "pyarrow", "numpy", "rich", "asyncio", "http.client", "ssl", "anystab.pipeline")
MRT = Path(__file__).resolve().parents[1] / "data" / "mrt" / "ris.updates.et-header.2015.gz"


@pytest.mark.parametrize(
    "args", [["--help"], ["analyze", "--help"], ["fetch", "--help"], ["monitor", "--help"]]
)
def test_help_loads_no_heavy_module(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from anystab.cli.main import cli\n"
        "try:\n"
        f"    cli.main({args!r}, prog_name='anystab')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_analyze_options_are_checked_without_heavy_modules(tmp_path: Path) -> None:
    """Every option of an ``analyze`` run parsed and checked (a real MRT file as source, targets, the
    output choices): the heavy libraries come with the analysis, not before it."""
    args = [str(MRT), "--collector", "rrc99", "--resync", "0", "--prefix", "8.8.8.0/24", "--prefix"]
    args += ["2001:4860:4860::/48", "--json", "--jobs", "1", "--out", str(tmp_path / "out")]
    code = (
        "import sys\n"
        "from anystab.cli.main import cli\n"
        f"context = cli.commands['analyze'].make_context('analyze', {args!r})\n"
        "assert context.params['sources'], context.params\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_a_quiet_analysis_does_without_rich(tmp_path: Path) -> None:
    """``analyze --json`` with stderr not a terminal shows no progress bar: rich is never imported (the
    analysis itself needs pandas and pyarrow)."""
    args = [str(MRT), "--collector", "rrc99", "--resync", "0", "--prefix", "193.0.14.0/24", "--json"]
    code = (
        "import sys\n"
        "from anystab.cli.main import cli\n"
        "try:\n"
        f"    cli.main({['analyze', *args]!r}, prog_name='anystab')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('rich', 'pandas') if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"estimates"' in done.stdout
    assert done.stderr.splitlines()[-1] == "['pandas']"
