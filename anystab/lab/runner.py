"""Playing a scenario on the lab (runs inside the private namespaces made by :mod:`anystab.lab.netns`).

Steps:

1. Build the namespaces and links; write every daemon's configuration into a private run directory;
   start the routers, then the collectors, all as children of this process.
2. Wait until every BGP session is Established (polling, never sleeping).
3. Play the scenario's steps (the baseline announcements first) ``SPACING_S`` apart: note the time,
   act, and wait until every collector holds the step's expected routes (a reset also waits for the
   sessions to go down and come back).
4. Wait ``END_MARGIN_S``, stop the collectors, then the routers (SIGTERM, then kill), and return the
   record of every step; the namespaces disappear with the private namespace set.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anystab.errors import LabError
from anystab.lab import netns
from anystab.lab.daemons import (
    PROGRAMS,
    CollectorDaemon,
    GobgpDaemon,
    Routes,
    gobgp_policies,
    make_collector,
)
from anystab.lab.process import Daemon, wait_for
from anystab.lab.scenarios import Expected, Step, steps_of
from anystab.lab.topology import TOPOLOGY, Topology

SESSION_TIMEOUT_S = 60.0
CONVERGE_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 10.0
SPACING_S = 3.0
END_MARGIN_S = 2.0
RIBS_FILE = "ribs-at-failure.json"


@dataclass(frozen=True)
class StepRecord:
    """When a step's action was issued and when every collector held its expected routes."""

    step: Step
    time: float
    converged: float


@dataclass(frozen=True)
class LabRun:
    scenario: str
    start: float
    end: float
    sessions_up: float
    records: tuple[StepRecord, ...]


class Lab:
    """The running lab: routers and collectors of one topology."""

    def __init__(self, topology: Topology, rundir: Path, outdir: Path) -> None:
        self.topology = topology
        self.routers = {
            r.name: GobgpDaemon(topology, r.name, rundir, gobgp_policies(topology, r))
            for r in topology.routers
        }
        self.collectors: list[CollectorDaemon] = [
            make_collector(topology, c, rundir, outdir) for c in topology.collectors
        ]

    @property
    def daemons(self) -> list[Daemon]:
        return [r.daemon for r in self.routers.values()] + [c.daemon for c in self.collectors]

    def peer_ip(self, collector: str, vp: str) -> str:
        return self.topology.link(vp, collector).address(vp)

    def start(self) -> None:
        for daemon in self.daemons:
            daemon.start()

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()

    def _sessions_up(self) -> dict[str, set[str]]:
        missing: dict[str, set[str]] = {}
        for name, router in self.routers.items():
            want = {link.address(link.peer(name)) for link in self.topology.links_of(name)}
            missing[name] = want - router.established()
        for c in self.collectors:
            want = {self.peer_ip(c.spec.name, vp) for vp in self.topology.vantage_points}
            missing[c.spec.name] = want - c.established()
        return {k: v for k, v in missing.items() if v}

    def wait_sessions(self) -> None:
        wait_for(
            "every BGP session Established",
            self._sessions_up,
            lambda m: not m,
            SESSION_TIMEOUT_S,
            self.daemons,
        )

    def _routes_differ(self, expected: Expected) -> dict[str, Routes]:
        differ: dict[str, Routes] = {}
        for c in self.collectors:
            held = c.routes()
            want = {self.peer_ip(c.spec.name, vp): routes for vp, routes in expected.items()}
            got = {ip: held.get(ip, {}) for ip in want}
            if got != want:
                differ[c.spec.name] = got
        return differ

    def converge(self, what: str, expected: Expected) -> float:
        wait_for(
            what, lambda: self._routes_differ(expected), lambda d: not d, CONVERGE_TIMEOUT_S, self.daemons
        )
        return time.time()

    def dump_ribs(self, path: Path) -> None:
        """Every router's RIB and every collector's routes, as JSON (for a run that failed)."""
        ribs: dict[str, object] = {}
        for name, router in self.routers.items():
            try:
                ribs[name] = json.loads(router.gobgp("-j", "global", "rib", "-a", "ipv4") or "{}")
            except (LabError, ValueError) as exc:
                ribs[name] = str(exc)
        for c in self.collectors:
            try:
                ribs[c.spec.name] = c.routes()
            except (LabError, ValueError) as exc:
                ribs[c.spec.name] = str(exc)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ribs, indent=1))

    def reset(self, vp: str) -> None:
        for c in self.collectors:
            c.reset(self.peer_ip(c.spec.name, vp))
        for c in self.collectors:
            ip = self.peer_ip(c.spec.name, vp)
            wait_for(f"{c.spec.name} to drop {vp}", c.established, _without(ip), DOWN_TIMEOUT_S)
        self.wait_sessions()

    def act(self, step: Step) -> None:
        if step.action == "reset":
            self.reset(step.node)
            return
        router = self.routers[step.node]
        if step.action in ("disable", "enable"):
            peer_ip = self.topology.link(step.node, step.arg).address(step.arg)
            getattr(router, step.action)(peer_ip)
        elif step.action in ("announce", "withdraw"):
            getattr(router, step.action)(step.arg)
        else:
            raise LabError(f"unknown action {step.action!r} in step {step.name}")


def _without(ip: str) -> Callable[[set[str]], bool]:
    return lambda up: ip not in up


def _sleep_until(when: float) -> None:
    """Scripted spacing between events (not a wait for state: that is always polled)."""
    delay = when - time.time()
    if delay > 0:
        time.sleep(delay)


def play(lab: Lab, scenario: str) -> LabRun:
    """Steps 2 and 3: sessions, baseline, then every step of the scenario."""
    steps = steps_of(scenario)
    start = time.time()
    lab.start()
    lab.wait_sessions()
    sessions_up = time.time()
    last = sessions_up - SPACING_S  # the first step (an announcement: no break) needs no spacing
    records: list[StepRecord] = []
    for step in steps:
        _sleep_until(last + SPACING_S)
        issued = time.time()
        lab.act(step)
        last = lab.converge(f"the routes after step {step.name}", step.expected)
        records.append(StepRecord(step, issued, last))
    end = last + END_MARGIN_S
    _sleep_until(end)
    return LabRun(scenario, start, end, sessions_up, tuple(records))


def run_inside(outdir: Path, scenario: str, topology: Topology = TOPOLOGY) -> LabRun:
    """Steps 1 to 4, inside the private namespaces; daemons' configs and logs are copied to OUTDIR/logs."""
    netns.require(PROGRAMS)
    steps_of(scenario)
    netns.prepare()
    netns.build(topology)
    rundir = Path(tempfile.mkdtemp(prefix="anystab-lab-"))
    try:
        lab = Lab(topology, rundir, outdir)
        try:
            return play(lab, scenario)
        except LabError:
            lab.dump_ribs(outdir / "logs" / RIBS_FILE)
            raise
        finally:
            lab.stop()
            netns.teardown(topology)
    finally:
        _keep_logs(rundir, outdir / "logs")
        shutil.rmtree(rundir, ignore_errors=True)


def _keep_logs(rundir: Path, dest: Path) -> None:
    for path in rundir.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".out", ".conf", ".toml"):
            target = dest / path.relative_to(rundir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
