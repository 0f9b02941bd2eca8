"""Fixtures for the lab tests: the committed output of one real lab run (scenario ``all``), its collectors."""

import json
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "lab" / "data" / "all"
COLLECTORS = ["cfrr", "cbird", "cgo"]


@pytest.fixture(scope="session")
def lab_data() -> Path:
    """The committed lab run, read-only (copy it before changing anything)."""
    return DATA


@pytest.fixture
def lab_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "lab"
    shutil.copytree(DATA, dest)
    return dest


@pytest.fixture(scope="session")
def lab_truth() -> dict:
    return json.loads((DATA / "truth.json").read_text())
