"""System parts some tests need and a machine may lack: a test that needs one calls ``need_...`` first.

Without the part the test is skipped with a one-line reason that names what to install; tests/conftest.py
lists the skips at the end of the run, and with ``ANYSTAB_REQUIRE_ALL=1`` (set by ``.ci/run``, which
installs every part) turns every skip into a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from anystab.lab.daemons import PROGRAMS
from anystab.lab.netns import UNSHARE, missing_programs
from anystab.sources import framing

REQUIRE_ALL_ENV = "ANYSTAB_REQUIRE_ALL"
BGPDUMP = "needs bgpdump: apt-get install bgpdump"
CHROMIUM = "needs Chromium: apt-get install chromium"
REINSTALL = "pip install -e '.[test]' again"
COMPILED = f"needs the compiled scanner: apt-get install gcc python3-dev, then {REINSTALL}"
COMPILER = "needs a C compiler and Python's headers: apt-get install gcc python3-dev"
NAMESPACES = (
    "needs root or unprivileged user namespaces for the lab: run as root, "
    "or allow them (sysctl kernel.unprivileged_userns_clone=1)"
)
# the Debian package of each program the lab runs
LAB_PACKAGES = {"gobgpd": "gobgpd", "gobgp": "gobgpd", "bgpd": "frr", "vtysh": "frr", "bird": "bird2"}
LAB_PACKAGES |= {"birdc": "bird2", "ip": "iproute2", "unshare": "util-linux"}
NAMESPACE_PROBE_TIMEOUT_S = 30.0
# where Debian puts ip and bird, off a normal user's PATH
SBIN = ("/usr/sbin", "/sbin")


def need_bgpdump() -> str:
    """The path of Debian's bgpdump, the independent MRT reader the tests compare with."""
    program = shutil.which("bgpdump")
    if program is None:
        pytest.skip(BGPDUMP)
    return program


def need_chromium() -> str:
    """The path of Chromium, for the HTML report in a real browser."""
    program = shutil.which("chromium")
    if program is None:
        pytest.skip(CHROMIUM)
    return program


def need_compiled_scanner() -> None:
    """anystab/sources/_scan.c, built at install time when a C compiler and Python's headers are there."""
    if framing.scan is None:
        pytest.skip(COMPILED)


def need_c_compiler() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_path("include")) / "Python.h"
    if shutil.which(compiler) is None or not headers.exists():
        pytest.skip(COMPILER)


@functools.cache
def _namespaces_work() -> bool:
    """Whether the lab's private namespaces can be made here (as root, or in a user namespace)."""
    user = ["-Ur"] if os.geteuid() != 0 else []
    try:
        done = subprocess.run(
            [UNSHARE[0], *user, *UNSHARE[1:], "true"], capture_output=True, timeout=NAMESPACE_PROBE_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def lab_lacks() -> str | None:
    """What the lab lacks here and how to get it, in one line (``None``: nothing)."""
    missing = missing_programs(PROGRAMS)
    off_path = [p for p in missing if any(os.access(Path(d) / p, os.X_OK) for d in SBIN)]
    absent = [p for p in missing if p not in off_path]
    needs = []
    if absent:
        packages = sorted({LAB_PACKAGES[Path(p).name] for p in absent})
        needs.append(f"needs {', '.join(absent)} for the lab: apt-get install {' '.join(packages)}")
    if off_path:
        needs.append(f"needs {', '.join(off_path)} on PATH for the lab: add {':'.join(SBIN)} to PATH")
    if needs:
        return "; ".join(needs)
    return None if _namespaces_work() else NAMESPACES


def need_lab() -> None:
    """The lab's daemons (GoBGP, FRR, BIRD 2) and tools, and namespaces to run them in."""
    lacks = lab_lacks()
    if lacks is not None:
        pytest.skip(lacks)
