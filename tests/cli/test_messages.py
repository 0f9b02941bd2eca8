"""Output people read and paste: times, plurals, how to install a missing extra."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from rich.console import Console

from anystab.cli.main import cli
from anystab.report.terminal import render_summary
from anystab.text import iso_utc, pip_install, plural

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def test_times_have_at_most_milliseconds_and_a_z():
    assert iso_utc(pd.Timestamp("2015-10-23T02:01:18.509480952Z")) == "2015-10-23T02:01:18.509Z"
    assert iso_utc(1445565678) == "2015-10-23T02:01:18Z"
    assert iso_utc("2015-10-23T04:01:18.25+02:00") == "2015-10-23T02:01:18.250Z"


def test_plurals():
    assert [plural(n, "file") for n in (0, 1, 2, 1500)] == ["0 files", "1 file", "2 files", "1,500 files"]
    assert plural(1, "switch", "switches") == "1 switch" and plural(3, "switch", "switches") == "3 switches"


def test_the_report_of_one_file_from_one_collector_says_so_in_the_singular():
    r = CliRunner().invoke(
        cli, ["analyze", str(DATA / "rrc00"), "--service", str(DATA / "service.toml"), "--json"]
    )
    summary = json.loads(r.stdout)
    summary["read"] |= {"files": 1, "files_by_kind": {"updates": 1}}
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=160))
    assert "Read: 1 file (1 updates) from 1 collector (rrc00)" in out.getvalue()


def test_install_hint_names_the_extra_and_from_a_checkout_the_checkout(tmp_path):
    assert (
        pip_install("report")
        == f"pip install 'anystab[report]' (from the checkout {ROOT}: pip install '.[report]')"
    )
    package = tmp_path / "site-packages" / "anystab"  # an installed copy: no pyproject.toml beside it
    package.mkdir(parents=True)
    shutil.copy(ROOT / "anystab" / "text.py", package / "text.py")
    spec = importlib.util.spec_from_file_location("installed_text", package / "text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.pip_install("report") == "pip install 'anystab[report]'"
