"""What the command line loads before a command runs: none of the heavy libraries (start-up time itself is
measured by benchmarks/startup.py, never asserted here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "pyarrow", "numpy", "rich", "asyncio", "http.client", "ssl", "anystab.pipeline")


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
