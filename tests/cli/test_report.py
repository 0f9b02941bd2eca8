"""``anystab report`` and ``analyze --html`` through click, on the sample archive."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from anystab.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One ``analyze --out DIR --html FILE`` run of the sample archive."""
    base = tmp_path_factory.mktemp("cli-report")
    out, html = base / "results", base / "direct.html"
    args = [
        "analyze",
        str(DATA),
        "--service",
        str(DATA / "service.toml"),
        "--out",
        str(out),
        "--html",
        str(html),
    ]
    result = CliRunner().invoke(cli, [*args, "--quiet", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return out, html


def test_analyze_html_writes_the_report(analysed):
    _, html = analysed
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Where each vantage point was routed" in text and "192.0.2.0/24" in text


def test_report_from_the_folder_equals_the_one_written_by_analyze(analysed, tmp_path):
    out, direct = analysed
    target = tmp_path / "later.html"
    result = CliRunner().invoke(cli, ["report", str(out), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"report written to {target}" in result.output
    assert target.read_text() == direct.read_text()


def test_report_defaults_to_a_file_in_the_results_folder(analysed, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(analysed[0], out)
    result = CliRunner().invoke(cli, ["report", str(out), "--max-vps", "3"])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    assert "Showing the 3 least stable of 27 vantage points" in text  # IPv4 target
    assert "Showing the 3 least stable of 6 vantage points" in text  # IPv6 target


def test_a_folder_that_is_not_results_is_one_error_line(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path} holds no manifest.json: name a folder written by anystab analyze --out"
    ]


def test_max_vps_must_be_positive(analysed):
    result = CliRunner().invoke(cli, ["report", str(analysed[0]), "--max-vps", "0"])
    assert result.exit_code == 2
