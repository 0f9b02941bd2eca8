"""A tiny anycast routing simulator that writes MRT archives and the results they should give.

Model: an anycast service (target prefixes, IPv4 and IPv6) is announced from sites; a site is an origin AS
behind its own upstream AS (with a prepend count and a community). A vantage point (VP) peers with one
collector over IPv4 or IPv6, carries the targets of its own address family, and routes to the first site
of its preference list that it believes is up. Steps:

1. Turn the script (:class:`SiteDown`, :class:`SiteUp`, :class:`Transient`, :class:`Prepend`,
   :class:`MoreSpecific`, :class:`SessionReset`) plus background noise into per-VP actions; each VP hears of
   a happening after its own small delay (drawn from the seed; whole seconds kept for BGP4MP collectors).
2. Replay each VP's actions in time order. After each action, recompute the VP's routes for the target
   prefixes and active more-specifics; a route that differs from the last one sent becomes an announcement
   or a withdrawal (a :class:`Change`). A session reset writes Established -> Idle, and on return
   Idle -> Connect -> OpenSent -> OpenConfirm -> Established, then the peer re-sends its whole table.
3. Write the archive: a RIB dump at the window start (every VP's table then) and update files per slot
   (RIS: 5 min, gzip; RouteViews: 15 min, bzip2), each holding the records of [slot, slot + cadence).
   Slots named in ``omit`` are not written (a missing archive file).
4. Expected events (:func:`expected_events`): replay each VP's :class:`Change` list directly (the effective
   route of a target is its more-specific when one is held, else the target prefix's route; its site is the
   label the simulator gave it), skip changes inside missing files, hold changes during a session gap
   (from the state change to Idle until the return to Established plus ``resync``) and judge them at the
   gap's end. With ``min_dwell`` > 0, the transient filter of the spec runs on that sequence's runs of one
   site, a removed run's time taking the route (site, path, origin) of the run it joins, and every event
   comes from the filtered sequence.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from anystab.generate.mrtwrite import (
    STATE_CONNECT,
    STATE_ESTABLISHED,
    STATE_IDLE,
    STATE_OPENCONFIRM,
    STATE_OPENSENT,
    Peer,
    Record,
    RibDump,
    RibEntry,
    Route,
    StateChange,
    Update,
    Withdrawal,
    write_rib,
    write_updates,
)
from anystab.units import US_PER_S

RIS_CADENCE_S = 300
ROUTEVIEWS_CADENCE_S = 900
MIN_DELAY_MS = 200
MAX_DELAY_MS = 8_000
RESEND_AFTER_US = US_PER_S
HANDSHAKE_STEP_US = 20_000
LONGER_PATH_ASN = 4_200_000_099
NOISE_SHARE = 0.35
NOISE_WITHDRAW_SHARE = 0.3
RIB_AGE_MAX_S = 86_400 * 20
DEFAULT_RESYNC_S = 300.0
LOCAL_ASN = {"ris": 12654, "routeviews": 6447}
SITE_KINDS = ("switch", "withdraw", "restore")
MIN_COVER = {4: 8, 6: 16}


# --- the scenario ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One anycast site: its name, the upstream AS it sits behind, its origin AS."""

    name: str
    upstream_asn: int
    origin_asn: int
    prepend: int = 0
    community: str | None = None

    @property
    def signature(self) -> str:
        """The site signature under the ``upstream`` strategy: ``"UPSTREAM ORIGIN"``."""
        return f"{self.upstream_asn} {self.origin_asn}"


@dataclass(frozen=True)
class Vp:
    """A vantage point: a collector's peer, the ASes between it and the sites, its site preference."""

    collector: str
    peer_asn: int
    peer_ip: str
    prefs: tuple[str, ...]
    transit: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, int, str]:
        return self.collector, self.peer_asn, self.peer_ip

    @property
    def version(self) -> int:
        return 6 if ":" in self.peer_ip else 4


@dataclass(frozen=True)
class Collector:
    """A collector: name, archive layout (``ris`` or ``routeviews``), record flavour and local side."""

    name: str
    layout: str = "ris"
    et: bool = True
    addpath: bool = False
    local_ip: str = "192.0.2.254"
    local_ip6: str = "2001:db8:ffff::254"
    collector_id: str = "192.0.2.254"

    @property
    def cadence_s(self) -> int:
        return RIS_CADENCE_S if self.layout == "ris" else ROUTEVIEWS_CADENCE_S


@dataclass(frozen=True)
class SiteDown:
    """At ``at`` seconds into the window the site withdraws its routes; VPs move to their next site."""

    at: float
    site: str


@dataclass(frozen=True)
class SiteUp:
    """The site announces again; VPs that prefer it move back."""

    at: float
    site: str


@dataclass(frozen=True)
class Transient:
    """Path exploration: the VPs see site ``via`` (None: a longer path to their site) for ``duration`` s."""

    at: float
    vps: tuple[tuple[str, int, str], ...]
    duration: float
    via: str | None = None


@dataclass(frozen=True)
class Prepend:
    """The site changes its prepend count: a path change, the same site."""

    at: float
    site: str
    prepend: int


@dataclass(frozen=True)
class MoreSpecific:
    """Another origin announces ``prefix`` (inside a target, covering its address) until ``until``."""

    at: float
    until: float
    prefix: str
    upstream_asn: int
    origin_asn: int
    vps: tuple[tuple[str, int, str], ...] | None = None

    @property
    def signature(self) -> str:
        return f"{self.upstream_asn} {self.origin_asn}"


@dataclass(frozen=True)
class SessionReset:
    """A VP's session goes down (Established -> Idle) and comes back ``down_for`` seconds later."""

    at: float
    vp: tuple[str, int, str]
    down_for: float


Table = dict[str, tuple["Route", str | None] | None]
Happening = SiteDown | SiteUp | Transient | Prepend | MoreSpecific | SessionReset


@dataclass(frozen=True)
class TargetSpec:
    """A target prefix and the address that represents it."""

    prefix: str
    address: str

    @property
    def version(self) -> int:
        return 6 if ":" in self.prefix else 4


@dataclass(frozen=True)
class Scenario:
    """Everything the simulator needs; ``start`` (epoch seconds) must fall on a 15-minute boundary."""

    start: int
    duration_s: int
    targets: tuple[TargetSpec, ...]
    sites: tuple[Site, ...]
    collectors: tuple[Collector, ...]
    vps: tuple[Vp, ...]
    script: tuple[Happening, ...] = ()
    noise_v4: int = 0
    noise_v6: int = 0
    noise_updates_per_vp: int = 0
    default_route_vps: tuple[tuple[str, int, str], ...] = ()
    omit: tuple[tuple[str, int], ...] = field(default=())
    seed: int = 1

    def validate(self) -> None:
        if self.start % ROUTEVIEWS_CADENCE_S:
            raise ValueError("the window start must fall on a 15-minute boundary")
        names = {s.name for s in self.sites}
        for vp in self.vps:
            if not vp.prefs or not set(vp.prefs) <= names:
                raise ValueError(f"VP {vp.key} prefers unknown sites {vp.prefs}")
        if {vp.collector for vp in self.vps} - {c.name for c in self.collectors}:
            raise ValueError("a VP names an unknown collector")

    def site(self, name: str) -> Site:
        return next(s for s in self.sites if s.name == name)

    def collector(self, name: str) -> Collector:
        return next(c for c in self.collectors if c.name == name)


# --- simulation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One route change a VP sends for a target-related prefix (``route`` None: a withdrawal)."""

    time_us: int
    prefix: str
    route: Route | None
    label: str | None


@dataclass
class VpRun:
    """The simulated life of one VP: its table at the window start, its records, its target changes."""

    vp: Vp
    rib: dict[str, tuple[Route, int]] = field(default_factory=dict)
    records: list[tuple[int, int, Record]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _View:
    down: set[str] = field(default_factory=set)
    prepend: dict[str, int] = field(default_factory=dict)
    via: str | None = None
    longer: bool = False
    ms: dict[str, MoreSpecific] = field(default_factory=dict)
    noise: dict[str, Route] = field(default_factory=dict)
    sent: dict[str, Route] = field(default_factory=dict)
    up: bool = True


@dataclass(frozen=True)
class _Action:
    time_us: int
    seq: int
    kind: str
    arg: object = None


def simulate(scenario: Scenario) -> list[VpRun]:
    """Simulate every VP of the scenario (deterministic for a given seed)."""
    scenario.validate()
    rng = random.Random(scenario.seed)
    noise = _noise_prefixes(scenario, rng)
    runs = []
    for index, vp in enumerate(scenario.vps):
        vrng = random.Random(f"{scenario.seed}/{index}")
        runs.append(_run_vp(scenario, vp, noise, vrng))
    return runs


def _noise_prefixes(scenario: Scenario, rng: random.Random) -> list[str]:
    targets = [ipaddress.ip_network(t.prefix) for t in scenario.targets]
    out: set[str] = set()
    while len(out) < scenario.noise_v4:
        first = rng.choice([n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192, 198, 203)])
        length = rng.choice((16, 19, 20, 22, 23, 24, 24, 24, 24))
        net = ipaddress.ip_network(
            f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.0/{length}", strict=False
        )
        out.add(str(net))
    v6: set[str] = set()
    while len(v6) < scenario.noise_v6:
        net = ipaddress.ip_network(f"2001:db8:{rng.randrange(1, 0xFFFF):x}::/48")
        if not any(net.overlaps(t) for t in targets if t.version == 6):
            v6.add(str(net))
    return sorted(out) + sorted(v6)


def _when(scenario: Scenario, vp: Vp, at: float, rng: random.Random) -> int:
    """When the VP hears of something that happens ``at`` seconds into the window."""
    t = scenario.start * US_PER_S + round(at * US_PER_S) + rng.randrange(MIN_DELAY_MS, MAX_DELAY_MS) * 1000
    t += rng.randrange(1000)
    return _quantize(scenario, vp, t)


def _quantize(scenario: Scenario, vp: Vp, time_us: int) -> int:
    return time_us if scenario.collector(vp.collector).et else time_us // US_PER_S * US_PER_S


def _actions(scenario: Scenario, vp: Vp, noise: list[str], rng: random.Random) -> list[_Action]:
    acts: list[_Action] = []
    for happening in scenario.script:
        acts.extend(_happening_actions(scenario, vp, happening, rng))
    held = [p for p in noise if (":" in p) == (vp.version == 6)]
    end_us = (scenario.start + scenario.duration_s) * US_PER_S
    for _ in range(scenario.noise_updates_per_vp):
        t = _quantize(scenario, vp, rng.randrange(scenario.start * US_PER_S + US_PER_S, end_us))
        acts.append(_Action(t, 0, "noise", rng.choice(held) if held else None))
    acts = [replace(a, seq=i) for i, a in enumerate(acts)]
    return sorted((a for a in acts if a.time_us < end_us), key=lambda a: (a.time_us, a.seq))


def _happening_actions(scenario: Scenario, vp: Vp, h: Happening, rng: random.Random) -> Iterator[_Action]:
    if isinstance(h, SiteDown | SiteUp | Prepend):
        kind = {SiteDown: "down", SiteUp: "up", Prepend: "prepend"}[type(h)]
        yield _Action(_when(scenario, vp, h.at, rng), 0, kind, h)
    elif isinstance(h, Transient) and vp.key in h.vps:
        t = _when(scenario, vp, h.at, rng)
        yield _Action(t, 0, "via_on", h)
        yield _Action(_quantize(scenario, vp, t + round(h.duration * US_PER_S)), 0, "via_off", h)
    elif isinstance(h, MoreSpecific) and (h.vps is None or vp.key in h.vps) and _same_family(h.prefix, vp):
        yield _Action(_when(scenario, vp, h.at, rng), 0, "ms_on", h)
        yield _Action(_when(scenario, vp, h.until, rng), 0, "ms_off", h)
    elif isinstance(h, SessionReset) and h.vp == vp.key:
        t = _quantize(scenario, vp, scenario.start * US_PER_S + round(h.at * US_PER_S))
        yield _Action(t, 0, "reset_down", h)
        yield _Action(_quantize(scenario, vp, t + round(h.down_for * US_PER_S)), 0, "reset_up", h)


def _same_family(prefix: str, vp: Vp) -> bool:
    return (":" in prefix) == (vp.version == 6)


def _target_routes(scenario: Scenario, vp: Vp, view: _View) -> dict[str, tuple[Route, str]]:
    """The VP's routes for its targets and active more-specifics, each with its site label."""
    out: dict[str, tuple[Route, str]] = {}
    site_name = view.via or next((p for p in vp.prefs if p not in view.down), None)
    path_id = 1 if scenario.collector(vp.collector).addpath else None
    if site_name is not None:
        site = scenario.site(site_name)
        prepend = view.prepend.get(site.name, site.prepend)
        longer = (LONGER_PATH_ASN,) if view.longer else ()
        path = (vp.peer_asn, *vp.transit, *longer, site.upstream_asn, *[site.origin_asn] * (1 + prepend))
        path = _collapse_self(path)
        comms = (site.community,) if site.community else ()
        for t in scenario.targets:
            if t.version == vp.version:
                out[t.prefix] = (
                    Route(t.prefix, path, vp.peer_ip, communities=comms, path_id=path_id),
                    site.name,
                )
    for ms in view.ms.values():
        path = _collapse_self((vp.peer_asn, *vp.transit, ms.upstream_asn, ms.origin_asn))
        out[ms.prefix] = (Route(ms.prefix, path, vp.peer_ip, path_id=path_id), ms.signature)
    return out


def _collapse_self(path: tuple[int, ...]) -> tuple[int, ...]:
    """A peer that is itself the upstream does not repeat its own ASN."""
    return path[1:] if len(path) > 1 and path[0] == path[1] else path


def _apply(view: _View, act: _Action) -> None:
    h = act.arg
    if act.kind == "down" and isinstance(h, SiteDown):
        view.down.add(h.site)
    elif act.kind == "up" and isinstance(h, SiteUp):
        view.down.discard(h.site)
    elif act.kind == "prepend" and isinstance(h, Prepend):
        view.prepend[h.site] = h.prepend
    elif act.kind == "via_on" and isinstance(h, Transient):
        view.via, view.longer = (h.via, h.via is None)
        if h.via is not None and h.via in view.down:
            view.via = None
    elif act.kind == "via_off":
        view.via, view.longer = None, False
    elif act.kind == "ms_on" and isinstance(h, MoreSpecific):
        view.ms[h.prefix] = h
    elif act.kind == "ms_off" and isinstance(h, MoreSpecific):
        view.ms.pop(h.prefix, None)


def _run_vp(scenario: Scenario, vp: Vp, noise: list[str], rng: random.Random) -> VpRun:
    run = VpRun(vp)
    view = _View()
    _initial_table(scenario, vp, view, noise, rng)
    labels = _target_routes(scenario, vp, view)
    view.sent = {p: r for p, (r, _) in labels.items()}
    run.labels = {p: label for p, (_, label) in labels.items()}
    ages = {p: scenario.start - rng.randrange(60, RIB_AGE_MAX_S) for p in sorted({*view.sent, *view.noise})}
    run.rib = {p: (r, ages[p]) for p, r in {**view.noise, **view.sent}.items()}
    for act in _actions(scenario, vp, noise, rng):
        if act.kind == "noise":
            _noise_step(scenario, vp, view, run, act, rng)
        elif act.kind == "reset_down":
            _session_down(scenario, vp, view, run, act)
        elif act.kind == "reset_up":
            _session_up(scenario, vp, view, run, act)
        else:
            _apply(view, act)
            if view.up:
                _send_diff(scenario, vp, view, run, act.time_us)
    return run


def _initial_table(scenario: Scenario, vp: Vp, view: _View, noise: list[str], rng: random.Random) -> None:
    for prefix in noise:
        if _same_family(prefix, vp) and rng.random() < NOISE_SHARE:
            view.noise[prefix] = _noise_route(scenario, vp, prefix, rng)
    if vp.key in scenario.default_route_vps:
        default = "::/0" if vp.version == 6 else "0.0.0.0/0"
        view.noise[default] = _noise_route(scenario, vp, default, rng)


def _noise_route(scenario: Scenario, vp: Vp, prefix: str, rng: random.Random) -> Route:
    hops = tuple(rng.randrange(4_200_000_100, 4_200_009_999) for _ in range(rng.randrange(1, 4)))
    origin = rng.choice((rng.randrange(64_512, 65_534), rng.randrange(4_200_010_000, 4_200_099_999)))
    path = _collapse_self((vp.peer_asn, *vp.transit, *hops, origin))
    path_id = 1 if scenario.collector(vp.collector).addpath else None
    comms = (f"{vp.peer_asn % 65536}:{rng.randrange(100, 999)}",) if rng.random() < 0.4 else ()
    return Route(prefix, path, vp.peer_ip, communities=comms, med=rng.choice((None, 0, 10)), path_id=path_id)


def _update(scenario: Scenario, vp: Vp, time_us: int, announce: list[Route], withdraw: list[str]) -> Update:
    coll = scenario.collector(vp.collector)
    path_id = 1 if coll.addpath else None
    local_ip = coll.local_ip6 if vp.version == 6 else coll.local_ip
    gone = tuple(Withdrawal(p, path_id) for p in withdraw)
    return Update(time_us, vp.peer_asn, vp.peer_ip, tuple(announce), gone, LOCAL_ASN[coll.layout], local_ip)


def _send_diff(scenario: Scenario, vp: Vp, view: _View, run: VpRun, time_us: int) -> None:
    now = _target_routes(scenario, vp, view)
    announce = [r for p, (r, _) in now.items() if view.sent.get(p) != r]
    withdraw = [p for p in view.sent if p not in now]
    for route in announce:
        run.changes.append(Change(time_us, route.prefix, route, now[route.prefix][1]))
    for prefix in withdraw:
        run.changes.append(Change(time_us, prefix, None, None))
    view.sent = {p: r for p, (r, _) in now.items()}
    if announce or withdraw:
        run.records.append((time_us, len(run.records), _update(scenario, vp, time_us, announce, withdraw)))


def _noise_step(
    scenario: Scenario, vp: Vp, view: _View, run: VpRun, act: _Action, rng: random.Random
) -> None:
    prefix = act.arg
    if not isinstance(prefix, str):
        return
    if prefix in view.noise and rng.random() < NOISE_WITHDRAW_SHARE:
        del view.noise[prefix]
        update = _update(scenario, vp, act.time_us, [], [prefix])
    else:
        view.noise[prefix] = _noise_route(scenario, vp, prefix, rng)
        update = _update(scenario, vp, act.time_us, [view.noise[prefix]], [])
    if view.up:
        run.records.append((act.time_us, len(run.records), update))


def _state(scenario: Scenario, vp: Vp, time_us: int, old: int, new: int) -> StateChange:
    coll = scenario.collector(vp.collector)
    local_ip = coll.local_ip6 if vp.version == 6 else coll.local_ip
    return StateChange(time_us, vp.peer_asn, vp.peer_ip, old, new, LOCAL_ASN[coll.layout], local_ip)


def _session_down(scenario: Scenario, vp: Vp, view: _View, run: VpRun, act: _Action) -> None:
    view.up = False
    run.records.append(
        (act.time_us, len(run.records), _state(scenario, vp, act.time_us, STATE_ESTABLISHED, 1))
    )
    run.gaps.append((act.time_us, -1))


def _session_up(scenario: Scenario, vp: Vp, view: _View, run: VpRun, act: _Action) -> None:
    steps = [(STATE_IDLE, STATE_CONNECT), (STATE_CONNECT, STATE_OPENSENT)]
    steps += [(STATE_OPENSENT, STATE_OPENCONFIRM), (STATE_OPENCONFIRM, STATE_ESTABLISHED)]
    for i, (old, new) in enumerate(steps):
        t = _quantize(scenario, vp, act.time_us + i * HANDSHAKE_STEP_US)
        run.records.append((t, len(run.records), _state(scenario, vp, t, old, new)))
    up_us = _quantize(scenario, vp, act.time_us + (len(steps) - 1) * HANDSHAKE_STEP_US)
    run.gaps[-1] = (run.gaps[-1][0], up_us)
    view.up = True
    resend = _quantize(scenario, vp, up_us + RESEND_AFTER_US)
    view.sent = {}
    table = list(view.noise.values())
    run.records.append((resend, len(run.records), _update(scenario, vp, resend, table, [])))
    _send_diff(scenario, vp, view, run, resend)


# --- the archive -------------------------------------------------------------------------------------


def _stamp(epoch: int, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(epoch))


def update_path(collector: Collector, slot: int) -> str:
    """Archive path of the update file of the slot starting at ``slot`` (epoch seconds)."""
    month, stamp = _stamp(slot, "%Y.%m"), _stamp(slot, "%Y%m%d.%H%M")
    if collector.layout == "ris":
        return f"{collector.name}/{month}/updates.{stamp}.gz"
    return f"{collector.name}/bgpdata/{month}/UPDATES/updates.{stamp}.bz2"


def rib_path(collector: Collector, at: int) -> str:
    """Archive path of the RIB dump taken at ``time``."""
    month, stamp = _stamp(at, "%Y.%m"), _stamp(at, "%Y%m%d.%H%M")
    if collector.layout == "ris":
        return f"{collector.name}/{month}/bview.{stamp}.gz"
    return f"{collector.name}/bgpdata/{month}/RIBS/rib.{stamp}.bz2"


def slots(scenario: Scenario, collector: Collector) -> list[int]:
    """Start times of the update files covering the window."""
    step = collector.cadence_s
    return list(range(scenario.start, scenario.start + scenario.duration_s, step))


def write_archive(scenario: Scenario, outdir: Path, runs: list[VpRun] | None = None) -> list[Path]:
    """Write the scenario's RIB dumps and update files under ``outdir``; returns the files written."""
    runs = simulate(scenario) if runs is None else runs
    written = []
    for coll in scenario.collectors:
        mine = [r for r in runs if r.vp.collector == coll.name]
        path = outdir / rib_path(coll, scenario.start)
        write_rib(path, _rib_dump(scenario, coll, mine))
        written.append(path)
        records = sorted((t, i, seq, rec) for i, r in enumerate(mine) for t, seq, rec in r.records)
        for slot in slots(scenario, coll):
            if (coll.name, slot) in scenario.omit:
                continue
            lo, hi = slot * US_PER_S, (slot + coll.cadence_s) * US_PER_S
            path = outdir / update_path(coll, slot)
            write_updates(path, [rec for t, _, _, rec in records if lo <= t < hi], coll.et)
            written.append(path)
    return written


def _rib_dump(scenario: Scenario, coll: Collector, runs: list[VpRun]) -> RibDump:
    peers = tuple(Peer(r.vp.peer_asn, r.vp.peer_ip, _bgp_id(r.vp)) for r in runs)
    entries = []
    for prefix in _rib_order({p for r in runs for p in r.rib}):
        for index, run in enumerate(runs):
            if prefix in run.rib:
                route, originated = run.rib[prefix]
                entries.append(RibEntry(index, route, originated))
    return RibDump(scenario.start, peers, tuple(entries), coll.collector_id)


def _rib_order(prefixes: set[str]) -> list[str]:
    nets = sorted((ipaddress.ip_network(p) for p in prefixes), key=lambda n: (n.version, n))
    return [str(n) for n in nets]


def _bgp_id(vp: Vp) -> str:
    return vp.peer_ip if vp.version == 4 else str(ipaddress.IPv4Address(vp.peer_asn & 0xFFFFFFFF))


# --- expected results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedEvent:
    """An event the analysis should report for one VP and target."""

    collector: str
    peer_asn: int
    peer_ip: str
    target: str
    time_us: int
    kind: str
    old_site: str | None = None
    new_site: str | None = None
    old_path: str | None = None
    new_path: str | None = None
    across_gap: bool = False


def expected_events(
    scenario: Scenario,
    min_dwell_s: float = 0.0,
    resync_s: float = DEFAULT_RESYNC_S,
    runs: list[VpRun] | None = None,
) -> list[ExpectedEvent]:
    """Expected events per VP and target, after the transient filter when ``min_dwell_s`` > 0."""
    runs = simulate(scenario) if runs is None else runs
    end_us = (scenario.start + scenario.duration_s) * US_PER_S
    out = []
    for run in runs:
        for target in scenario.targets:
            if target.version != run.vp.version:
                continue
            segs = expected_segments(scenario, run, target, resync_s)
            if min_dwell_s > 0:
                segs = _dwell_filter(segs, round(min_dwell_s * US_PER_S), end_us)
            out.extend(_events(run.vp, target, segs))
    return sorted(out, key=lambda e: (e.collector, e.peer_asn, e.peer_ip, e.target, e.time_us))


def expected_segments(scenario: Scenario, run: VpRun, target: TargetSpec, resync_s: float) -> list[Segment]:
    """The VP's observed state of ``target`` over the window: one segment per change, gaps included."""
    table: Table = {p: (r, run.labels.get(p)) for p, (r, _) in run.rib.items()}
    segs = [Segment(scenario.start * US_PER_S, *_effective(table, target))]
    points: list[tuple[int, int, object]] = [
        (a, 0, (b + round(resync_s * US_PER_S), True)) for a, b in run.gaps
    ]
    points += [(a, 0, (b, False)) for a, b in _missing(scenario, run.vp)]
    points += [(c.time_us, 1, c) for c in run.changes if not _in_missing(scenario, run.vp, c.time_us)]
    gap_until: int | None = None
    for time_us, _, item in sorted(points, key=lambda p: (p[0], p[1])):
        if gap_until is not None and time_us >= gap_until:
            segs.append(Segment(gap_until, *_effective(table, target)))
            gap_until = None
        if isinstance(item, Change):
            table[item.prefix] = (item.route, item.label) if item.route is not None else None
        elif isinstance(item, tuple):
            if item[1]:
                table = {}
            if gap_until is None:
                segs.append(Segment(time_us, None, None, None, gap=True))
            gap_until = max(gap_until or 0, item[0])
            continue
        if gap_until is None and segs[-1].state != _effective(table, target):
            segs.append(Segment(time_us, *_effective(table, target)))
    end_us = (scenario.start + scenario.duration_s) * US_PER_S
    if gap_until is not None and gap_until < end_us:
        segs.append(Segment(gap_until, *_effective(table, target)))
    return segs


@dataclass
class Segment:
    """A stretch of one VP's state of a target from ``start`` to the next segment (``gap``: unobserved)."""

    start: int
    site: str | None
    path: str | None
    origin: str | None
    gap: bool = False

    @property
    def state(self) -> tuple[str | None, str | None, str | None]:
        return self.site, self.path, self.origin


def _effective(table: Table, target: TargetSpec) -> tuple[str | None, str | None, str | None]:
    """(site label, AS path, origin) of the longest held prefix containing the target's address."""
    addr = ipaddress.ip_address(target.address)
    best: tuple[int, Route, str | None] | None = None
    for prefix, held in table.items():
        net = ipaddress.ip_network(prefix)
        if held is None or addr not in net or net.prefixlen < MIN_COVER[net.version]:
            continue
        if best is None or net.prefixlen > best[0]:
            best = (net.prefixlen, *held)
    if best is None:
        return None, None, None
    _, route, label = best
    return label, " ".join(map(str, route.as_path)), str(route.as_path[-1])


def site_label(scenario: Scenario, route: Route) -> str:
    """The site of a route under the ``upstream`` strategy: its name when a site has that signature."""
    path = [a for i, a in enumerate(route.as_path) if i == 0 or a != route.as_path[i - 1]]
    signature = f"{path[-2] if len(path) > 1 else path[-1]} {path[-1]}"
    return next((s.name for s in scenario.sites if s.signature == signature), signature)


def _missing(scenario: Scenario, vp: Vp) -> list[tuple[int, int]]:
    coll = scenario.collector(vp.collector)
    return sorted((s * US_PER_S, (s + coll.cadence_s) * US_PER_S) for c, s in scenario.omit if c == coll.name)


def _in_missing(scenario: Scenario, vp: Vp, time_us: int) -> bool:
    return any(a <= time_us < b for a, b in _missing(scenario, vp))


def _dwell_filter(segs: list[Segment], min_us: int, end_us: int) -> list[Segment]:
    """The spec's transient filter on runs of one site, each run keeping its route segments: a removed run's
    time goes to the last segment before it, or (after a gap or the start) to the first one after it."""
    runs = _runs(segs)
    stuck: set[int] = set()
    while True:
        short = [i for i in range(len(runs)) if not runs[i][0].gap and runs[i][0].start not in stuck]
        short = [i for i in short if _run_end(runs, i, end_us) - runs[i][0].start < min_us]
        if not short:
            return [seg for run in runs for seg in run]
        i = short[0]
        if i > 0 and not runs[i - 1][0].gap:
            del runs[i]
        elif i + 1 < len(runs) and not runs[i + 1][0].gap:
            runs[i + 1][0] = replace(runs[i + 1][0], start=runs[i][0].start)
            del runs[i]
        else:
            stuck.add(runs[i][0].start)
        runs = _runs([seg for run in runs for seg in run])


def _runs(segs: list[Segment]) -> list[list[Segment]]:
    """Segments grouped into runs of one site (a gap is a run of its own)."""
    out: list[list[Segment]] = []
    for seg in _merge(segs):
        if out and not seg.gap and not out[-1][0].gap and out[-1][0].site == seg.site:
            out[-1].append(seg)
        else:
            out.append([seg])
    return out


def _run_end(runs: list[list[Segment]], i: int, end_us: int) -> int:
    return runs[i + 1][0].start if i + 1 < len(runs) else end_us


def _merge(segs: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segs:
        if out and not seg.gap and not out[-1].gap and out[-1].state == seg.state:
            continue
        out.append(seg)
    return out


def _events(vp: Vp, target: TargetSpec, segs: list[Segment]) -> list[ExpectedEvent]:
    out = []
    before = segs[0]
    for k, seg in enumerate(segs[1:], start=1):
        if seg.gap:
            out.append(_event(vp, target, seg.start, "gap_start", before, seg))
            continue
        across = segs[k - 1].gap
        if across:
            out.append(_event(vp, target, seg.start, "gap_end", before, seg))
        for kind in _kinds(before, seg):
            out.append(_event(vp, target, seg.start, kind, before, seg, across))
        before = seg
    return out


def _kinds(old: Segment, new: Segment) -> list[str]:
    kinds = []
    if old.site != new.site:
        kinds.append("switch" if old.site and new.site else "withdraw" if old.site else "restore")
    elif old.site is not None and old.path != new.path:
        kinds.append("path_change")
    if old.origin and new.origin and old.origin != new.origin:
        kinds.append("origin_change")
    return kinds


def _event(
    vp: Vp, target: TargetSpec, time_us: int, kind: str, old: Segment, new: Segment, across: bool = False
) -> ExpectedEvent:
    return ExpectedEvent(
        vp.collector, vp.peer_asn, vp.peer_ip, target.prefix, time_us, kind,
        old.site, new.site, old.path, new.path, across,
    )  # fmt: skip
