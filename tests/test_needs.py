"""A machine without bgpdump, Chromium or the lab's daemons: the tests that need them are skipped, each with
a one-line reason naming what to install, and listed at the end of the run; ``ANYSTAB_REQUIRE_ALL=1`` makes
each such skip a failure. Run as a user would: pytest in a child process, with those programs off PATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import needs
from support.needs import BGPDUMP, CHROMIUM, REQUIRE_ALL_ENV

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = ("bgpdump", "chromium", "gobgpd", "gobgp", "vtysh", "bird", "birdc")
# what the lab lacks then depends on where the machine has its other programs: named, with what to do
LAB = re.compile(r"needs [^:\n]+ for the lab: (apt-get install|add /usr/sbin:/sbin to PATH)[^\n]*")
TESTS = (
    "tests/sources/test_bgpdump_equal.py::test_trailing_bits_prefix_kept_as_written",
    "tests/sources/test_bgpdump_equal.py::test_committed_reference_is_what_bgpdump_prints"
    "[ris.updates.nlri_mask_trailing_bits.gz]",
    "tests/report/test_browser.py::test_the_harness_sees_console_errors_and_requests",
    "tests/lab/test_lab_run.py::test_one_scenario_alone",
)
TIMEOUT_S = 240


def _path_without(bin_dir: Path, hidden: tuple[str, ...]) -> str:
    """A PATH of one folder linking to every program on today's PATH except ``hidden``."""
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = bin_dir / entry.name
            if entry.name not in hidden and not link.is_symlink():
                link.symlink_to(entry.path)
    return str(bin_dir)


def _pytest(path: str, *args: str, require_all: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != REQUIRE_ALL_ENV}
    env["PATH"] = path
    if require_all:
        env[REQUIRE_ALL_ENV] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, *TESTS]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def test_missing_parts_are_skipped_with_what_to_install_and_summed_up(tmp_path: Path) -> None:
    path = _path_without(tmp_path / "bin", HIDDEN)
    done = _pytest(path, "-n", "0", "-q", "-rs", require_all=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "1 passed, 3 skipped" in out
    summary = out.split("skipped, and why", 1)[1]
    for reason in (BGPDUMP, CHROMIUM):
        assert f"   1 test: {reason}\n" in summary
    assert re.search(r"   1 test: " + LAB.pattern + "\n", summary), summary
    assert f"{REQUIRE_ALL_ENV}=1 makes each of these a failure" in summary


def test_with_require_all_a_missing_part_fails(tmp_path: Path) -> None:
    path = _path_without(tmp_path / "bin", HIDDEN)
    done = _pytest(path, "-n", "2", "-q", require_all=True)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "skipped" not in out.splitlines()[-1]
    assert "2 failed, 1 passed, 1 error" in out  # the Chromium fixture fails at setup: an error
    for reason in (BGPDUMP, CHROMIUM):
        assert f"{REQUIRE_ALL_ENV}=1: a skip is a failure here; {reason}" in out
    assert re.search(f"{REQUIRE_ALL_ENV}=1: a skip is a failure here; " + LAB.pattern, out), out
    assert "skipped, and why" not in out


def test_the_lab_says_which_programs_to_install_and_which_to_put_on_path(tmp_path, monkeypatch) -> None:
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    (sbin / "bird").write_text("#!/bin/sh\n")
    (sbin / "bird").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(needs, "SBIN", (str(sbin),))
    monkeypatch.setattr(needs, "PROGRAMS", ("gobgpd", "/nonexistent/bgpd", "bird", "ip"))
    assert needs.lab_lacks() == (
        "needs gobgpd, /nonexistent/bgpd, ip for the lab: apt-get install frr gobgpd iproute2; "
        f"needs bird on PATH for the lab: add {sbin} to PATH"
    )
    with pytest.raises(pytest.skip.Exception, match="^needs gobgpd"):
        needs.need_lab()
