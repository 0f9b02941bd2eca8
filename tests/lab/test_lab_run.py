"""The lab with real daemons (gobgpd, FRR, BIRD 2) in private namespaces: every scenario, every collector.

Needs root (or unprivileged user namespaces) and the Debian packages gobgpd, frr and bird2 (``.ci/run``
installs them); skipped without them (tests/support/needs.py). One run plays every scenario (about a
minute); a second plays one scenario alone.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.needs import need_lab

from anystab.lab import LabError, check_lab, run_lab
from anystab.lab.netns import PRIVATE_ENV, private_command

COLLECTORS = ["cfrr", "cbird", "cgo"]
SCENARIOS = ["baseline", "withdraw", "reset", "explore", "more-specific", "end"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    need_lab()
    outdir = tmp_path_factory.mktemp("lab") / "all"
    truth = run_lab(outdir, "all")
    return outdir, truth, check_lab(outdir)


def test_run_writes_an_archive_per_collector_and_the_truth(full_run):
    outdir, truth, _ = full_run
    for name in COLLECTORS:
        files = sorted((outdir / name).iterdir())
        assert files and files[0].stat().st_size > 0
        assert truth["collectors"][name]["dir"] == name
    assert (outdir / "sites.toml").read_text().count(" = ") == 3
    assert [s["name"] for s in truth["steps"]][:2] == ["site-b-announces", "site-a-announces"]
    assert len([e for e in truth["events"] if e["kind"] == "switch"]) == 7
    assert truth["window"]["end"] - truth["window"]["start"] < 120


def test_steps_are_spaced_and_converge_fast(full_run):
    _, truth, _ = full_run
    steps = truth["steps"]
    for before, after in zip(steps, steps[1:], strict=False):
        assert after["time"] - before["converged"] >= 3.0 - 0.01
    routing = [s for s in steps if s["action"] in ("announce", "withdraw")]
    assert all(s["converged"] - s["time"] < 5.0 for s in routing)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("collector", COLLECTORS)
def test_scripted_switches_recovered_exactly(full_run, collector, scenario):
    _, truth, checked = full_run
    c = next(c for c in checked.collectors if c.collector == collector)
    rows = [s for s in c.steps if s.scenario == scenario]
    assert rows and all(s.ok for s in rows), rows
    expected = sum(1 for e in truth["events"] if e["scenario"] == scenario and e["kind"] == "switch")
    assert sum(s.found["switch"] for s in rows) == expected
    assert not c.unexpected_peers


@pytest.mark.parametrize("collector", COLLECTORS)
def test_session_reset_is_never_a_switch(full_run, collector):
    _, _, checked = full_run
    c = next(c for c in checked.collectors if c.collector == collector)
    reset = [s for s in c.steps if s.scenario == "reset"]
    assert reset and all(s.found == {"switch": 0, "withdraw": 0} for s in reset)


def test_one_scenario_alone(tmp_path):
    need_lab()
    truth = run_lab(tmp_path / "lab", "more-specific")
    names = [s["name"] for s in truth["steps"]]
    assert names == [
        "site-b-announces",
        "site-a-announces",
        "more-specific-announced",
        "more-specific-withdrawn",
        "non-covering-more-specific",
    ]
    assert check_lab(tmp_path / "lab").ok
    with pytest.raises(LabError, match="already holds a lab run"):
        run_lab(tmp_path / "lab", "more-specific")


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_run_leaves_no_daemon_behind(tmp_path):
    need_lab()
    outdir = tmp_path / "killed"
    outdir.mkdir()
    env = {**os.environ, PRIVATE_ENV: "1"}
    proc = subprocess.Popen(private_command([str(outdir), "all"], unprivileged=os.geteuid() != 0), env=env)
    try:
        deadline = time.monotonic() + 30
        daemons: set[int] = set()
        while time.monotonic() < deadline and len(daemons) < 11:
            daemons = {p for p in _descendants(proc.pid) if b"bgpd" in _cmdline(p) or b"bird" in _cmdline(p)}
            time.sleep(0.2)
        assert len(daemons) == 11  # 8 routers and 3 collectors
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in daemons):
        time.sleep(0.1)
    assert not [p for p in daemons if _running(p)]
    assert not (outdir / "truth.json").exists()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
