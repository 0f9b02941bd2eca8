"""Every command that writes, given an output it cannot write: one line on stderr, no traceback, no work.

The outputs tried: under a file (a file where a folder is needed), under a folder that does not exist (for
a file: its folder must exist; a folder output is created with its parents instead), under a folder nobody
may write in (a read-only folder, or ``/sys`` for root, who may write in any ordinary folder), and under
``/proc``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from anystab.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SERVICE = str(DATA / "service.toml")
WINDOW = ["--start", "2025-06-02T00:00Z", "--end", "2025-06-02T00:10Z"]


def _analyze(path: str, option: str) -> list[str]:
    return ["analyze", str(DATA), "--service", SERVICE, option, path, "-q"]


# command -> (arguments with the output path, whether the output is a file, a text the message names)
COMMANDS = {
    "analyze --out": (lambda p: _analyze(p, "--out"), False, "--out"),
    "analyze --html": (lambda p: _analyze(p, "--html"), True, "--html"),
    "analyze --cache": (
        lambda p: ["analyze", "--collector", "rrc00", *WINDOW, "--service", SERVICE, "--cache", p],
        False,
        "--cache",
    ),
    "report -o": (lambda p: ["report", str(DATA), "-o", p], True, "--output"),
    "init": (lambda p: ["init", p], True, "PATH"),
    "sample": (lambda p: ["sample", p], False, "OUTDIR"),
    "fetch --cache": (
        lambda p: ["fetch", "--collector", "rrc00", *WINDOW, "--cache", p, "-q"],
        False,
        "--cache",
    ),
    "live --out": (lambda p: ["live", "--service", SERVICE, "--out", p, "--duration", "1"], False, "--out"),
    "lab run": (lambda p: ["lab", "run", p], False, "OUTDIR"),
}


@pytest.fixture
def unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        return Path("/sys/fs")  # root writes in any ordinary folder, but not in sysfs
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _outputs(tmp_path: Path, unwritable: Path, is_file: bool) -> dict[str, tuple[str, str]]:
    """case -> (output path, what the message must say)."""
    (tmp_path / "a-file").write_text("x")
    name = "out.html" if is_file else "out"
    cases = {
        "file-instead-of-folder": (str(tmp_path / "a-file" / name), "a-file is a file, not a folder"),
        "unwritable": (str(unwritable / name), f"cannot create files in {unwritable}"),
        "proc": (f"/proc/{name}", "cannot create files in /proc"),
    }
    if is_file:
        cases["missing-parent"] = (str(tmp_path / "no" / "such" / name), "does not exist")
        cases["folder-instead-of-file"] = (str(tmp_path), "is a folder, not a file")
    return cases


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unusable_output_is_one_line_and_exit_2(command, tmp_path, unwritable):
    args, is_file, hint = COMMANDS[command]
    for case, (path, reason) in _outputs(tmp_path, unwritable, is_file).items():
        r = CliRunner().invoke(cli, args(path))
        assert isinstance(r.exception, SystemExit), (command, case, r.exception)
        assert r.exit_code == 2, (command, case, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (command, case, r.stderr)
        assert reason in lines[0] and hint in lines[0], (command, case, lines)
        assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing was written anywhere


def test_the_installed_command_shows_no_traceback(tmp_path):
    """The console script as a user runs it, output under a file: the exit status and one line."""
    (tmp_path / "a-file").write_text("x")
    exe = Path(sys.executable).with_name("anystab")
    r = subprocess.run(
        [str(exe), *_analyze(str(tmp_path / "a-file" / "r.html"), "--html")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2
    assert r.stderr == f"Error: Invalid value for '--html': {tmp_path / 'a-file'} is a file, not a folder\n"


def test_missing_parents_of_an_output_folder_are_created(tmp_path):
    out = tmp_path / "a" / "b" / "results"
    r = CliRunner().invoke(cli, _analyze(str(out), "--out"))
    assert r.exit_code == 0, r.stderr
    assert (out / "manifest.json").is_file()


def test_report_default_output_in_an_unwritable_results_folder(unwritable, tmp_path):
    """``report RESULTS`` writes RESULTS/report.html: an unwritable RESULTS is told before the work."""
    r = CliRunner().invoke(cli, ["report", str(unwritable)])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        f"Error: Invalid value for RESULTS/report.html: cannot create files in {unwritable} "
        "(Permission denied)"
    ]


def test_monitor_with_an_unusable_state_folder_says_so_in_one_line(tmp_path):
    (tmp_path / "a-file").write_text("x")
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "m.toml")])
    assert r.exit_code == 0
    config = tmp_path / "m.toml"
    config.write_text(config.read_text().replace('state_dir = "state"', 'state_dir = "a-file/state"'))
    r = CliRunner().invoke(cli, ["monitor", "--config", str(config)])
    assert r.exit_code == 3
    assert r.stderr == (
        f"anystab monitor: UNKNOWN: state_dir {tmp_path / 'a-file' / 'state'}: {tmp_path / 'a-file'} is a "
        "file, not a folder\n"
    )
