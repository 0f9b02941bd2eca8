"""The project's own checks, run with the suite: ruff (lint and format), mypy --strict on the package."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint():
    r = _run("ruff", "check", "anystab", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format():
    r = _run("ruff", "format", "--check", "anystab", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict():
    # --strict also here, so that the check stays strict if the settings in pyproject.toml are loosened
    r = _run("mypy", "--strict", "anystab")
    assert r.returncode == 0, r.stdout + r.stderr
