"""Helpers for the generator tests: a small scenario, and an independent replay of MRT files via bgpdump."""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from anystab.generate.scenario import (
    Collector,
    MoreSpecific,
    Prepend,
    Scenario,
    SessionReset,
    Site,
    SiteDown,
    SiteUp,
    TargetSpec,
    Transient,
    Vp,
)
from support.needs import need_bgpdump

REPO = Path(__file__).resolve().parents[2]
START = 1_748_822_400  # 2025-06-02 00:00 UTC
RESYNC_US = 300_000_000
ESTABLISHED = 6

SITES = (
    Site("ams", 64497, 64496, community="64496:1"),
    Site("sin", 64498, 64496, prepend=1),
    Site("iad", 64499, 64496),
)
A = ("rrc01", 64501, "198.51.100.1")
B = ("rrc01", 4_200_000_001, "198.51.100.2")
C = ("rrc01", 64502, "2001:db8:100::3")
D = ("route-views3", 65536, "203.0.113.4")
E = ("route-views3", 64503, "203.0.113.5")
F = ("route-views3", 64504, "203.0.113.6")


def small_scenario(*, addpath: bool = False, omit: tuple[tuple[str, int], ...] = ()) -> Scenario:
    """Three sites, two collectors (RIS with BGP4MP_ET, RouteViews with BGP4MP), every kind of happening."""
    vps = (
        Vp(*A, ("ams", "sin", "iad"), (65546,)),
        Vp(*B, ("sin", "iad"), (65547, 65548)),
        Vp(*C, ("sin", "ams")),
        Vp(*D, ("iad", "ams")),
        Vp(*E, ("sin",), (65549,)),
        Vp(*F, ("ams", "iad")),
    )
    script = (
        Transient(300, (A, D), 5.0, via="sin"),
        Transient(400, (F,), 3.0),
        SiteDown(900, "sin"),
        SessionReset(1000, A, 30.0),
        SiteUp(1500, "sin"),
        Prepend(2000, "ams", 3),
        MoreSpecific(2400, 2700, "192.0.2.0/25", 64510, 64511, (A, B, D)),
    )
    return Scenario(
        start=START, duration_s=3600,
        targets=(TargetSpec("192.0.2.0/24", "192.0.2.53"), TargetSpec("2001:db8:53::/48", "2001:db8:53::53")),
        sites=SITES,
        collectors=(Collector("rrc01"), Collector("route-views3", "routeviews", et=False, addpath=addpath)),
        vps=vps, script=script, noise_v4=40, noise_v6=10, noise_updates_per_vp=8,
        default_route_vps=(A, D), omit=omit, seed=7,
    )  # fmt: skip


def bgpdump_lines(path: Path) -> list[list[str]]:
    out = subprocess.run([need_bgpdump(), "-m", str(path)], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


def _time_us(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000 + int(frac.ljust(6, "0"))


@dataclass
class _Vp:
    table: dict[str, str] = field(default_factory=dict)
    state: tuple[str | None, str | None, str | None] = (None, None, None)
    gap_since: int | None = None
    gap_until: int | None = None
    events: list[tuple[int, str, str | None, str | None, bool]] = field(default_factory=list)


class Replay:
    """Per-VP site events rebuilt from bgpdump's text output, following the spec with min_dwell 0."""

    def __init__(self, scenario: Scenario, target: TargetSpec) -> None:
        self.names = {s.signature: s.name for s in scenario.sites}
        self.address = ipaddress.ip_address(target.address)
        self.vps: dict[tuple[str, int, str], _Vp] = {}

    def site(self, table: dict[str, str]) -> tuple[str | None, str | None, str | None]:
        best = None
        for prefix, path in table.items():
            net = ipaddress.ip_network(prefix)
            if self.address in net and net.prefixlen >= 8 and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, path)
        if best is None:
            return None, None, None
        asns = [a for i, a in enumerate(best[1].split()) if i == 0 or a != best[1].split()[i - 1]]
        signature = f"{asns[-2] if len(asns) > 1 else asns[-1]} {asns[-1]}"
        return self.names.get(signature, signature), best[1], asns[-1]

    def _covers(self, prefix: str) -> bool:
        net = ipaddress.ip_network(prefix)
        return net.version == self.address.version and self.address in net

    def feed(self, collector: str, fields: list[str]) -> None:
        ap = fields[0].endswith("_AP")
        time_us, kind, key = _time_us(fields[1]), fields[2], (collector, int(fields[4]), fields[3])
        vp = self.vps.setdefault(key, _Vp())
        self._close_gap(vp, time_us)
        if kind == "STATE":
            self._state(vp, time_us, int(fields[6]))
            return
        prefix = fields[5]
        if not self._covers(prefix):
            return
        if kind == "B":
            vp.table[prefix] = fields[7 if ap else 6]
            vp.state = self.site(vp.table)
            return
        if kind == "A":
            vp.table[prefix] = fields[7 if ap else 6]
        else:
            vp.table.pop(prefix, None)
        if vp.gap_since is None:
            self._judge(vp, time_us, False)

    def _state(self, vp: _Vp, time_us: int, new: int) -> None:
        if new != ESTABLISHED:
            vp.table.clear()
            vp.gap_since = vp.gap_since if vp.gap_since is not None else time_us
        elif vp.gap_since is not None:
            vp.gap_until = time_us + RESYNC_US

    def _close_gap(self, vp: _Vp, time_us: int) -> None:
        if vp.gap_until is not None and time_us >= vp.gap_until:
            at = vp.gap_until
            vp.gap_since = vp.gap_until = None
            self._judge(vp, at, True)

    def finish(self, end_us: int) -> None:
        for vp in self.vps.values():
            if vp.gap_until is not None and vp.gap_until < end_us:
                self._close_gap(vp, vp.gap_until)

    def _judge(self, vp: _Vp, time_us: int, across: bool) -> None:
        new = self.site(vp.table)
        old = vp.state
        vp.state = new
        if old[0] != new[0]:
            kind = "switch" if old[0] and new[0] else "withdraw" if old[0] else "restore"
            vp.events.append((time_us, kind, old[0], new[0], across))
        elif old[0] is not None and old[1] != new[1]:
            vp.events.append((time_us, "path_change", old[0], new[0], across))
        if old[2] and new[2] and old[2] != new[2]:
            vp.events.append((time_us, "origin_change", old[0], new[0], across))


def replay_archive(scenario: Scenario, root: Path, target: TargetSpec) -> dict[tuple[str, int, str], list]:
    """Replay every written file of ``root`` (RIB first, then updates in time order) for one target."""
    replay = Replay(scenario, target)
    for coll in scenario.collectors:
        files = sorted(
            (p for p in (root / coll.name).rglob("*") if p.is_file()),
            key=lambda p: (not p.name.startswith(("bview", "rib")), p.name),
        )
        for path in files:
            for fields in bgpdump_lines(path):
                replay.feed(coll.name, fields)
    replay.finish((scenario.start + scenario.duration_s) * 1_000_000)
    return {key: vp.events for key, vp in replay.vps.items()}
