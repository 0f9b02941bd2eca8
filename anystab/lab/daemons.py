"""The lab's daemons: gobgpd routers and three kinds of route collector, behind one small interface.

Steps, per daemon:

1. Write its configuration into its own run directory (the filesystem is shared by every namespace, so
   pid files, control sockets and dumps need a path per instance).
2. Start it inside its node's namespace as a child of the lab process (:class:`~anystab.lab.process.Daemon`).
3. Answer the lab's polls: which BGP sessions are Established, and (collectors) which AS path each peer
   announced for each prefix. The answers come from the daemon's own JSON or text output.

Collectors write MRT: FRR ``dump bgp all-et`` (BGP4MP_ET, microseconds, state changes 7 and 8), BIRD
``mrtdump`` (BGP4MP, seconds, some state records with peer 0.0.0.0), gobgpd ``[[mrt-dump]]`` updates
(BGP4MP, seconds, no state records at all).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Protocol

from anystab.lab.process import Daemon, in_ns, run
from anystab.lab.topology import Collector, Router, Topology

FRR_BGPD = "/usr/lib/frr/bgpd"
PROGRAMS = ("gobgpd", "gobgp", FRR_BGPD, "vtysh", "bird", "birdc", "ip", "unshare")
HOLD_TIME_S = 9
KEEPALIVE_S = 3
GOBGP_API = "127.0.0.1:50051"
# One update file per hour, as FRR and gobgpd name them (gobgpd's default is its minimum, 60 s: the
# archive names carry seconds, which archive readers that parse YYYYMMDD.HHMM cannot tell from minutes)
ROTATION_S = 3600
TIME_NAME = "%Y%m%d.%H%M%S"
GOBGP_TIME_NAME = "20060102.150405"

# AS paths per peer address and prefix, as a collector holds them: {peer_ip: {prefix: "asn asn ..."}}
Routes = dict[str, dict[str, str]]


class CollectorDaemon(Protocol):
    """What the lab asks of a route collector, whatever its daemon."""

    spec: Collector
    daemon: Daemon
    archive: Path

    def start(self) -> None: ...

    def established(self) -> set[str]: ...

    def routes(self) -> Routes: ...

    def reset(self, peer_ip: str) -> None: ...

    def finish(self) -> None: ...


def _gobgp_neighbors(topology: Topology, node: str) -> str:
    """Neighbour sections; a link's first node waits passively (it starts first: no connection collision)."""
    lines = []
    for link in topology.links_of(node):
        peer = link.peer(node)
        lines += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{link.address(peer)}"',
            f"    peer-as = {topology.asn(peer)}",
            "  [neighbors.transport.config]",
            f"    passive-mode = {'true' if node == link.a else 'false'}",
            "  [neighbors.timers.config]",
            f"    hold-time = {HOLD_TIME_S}",
            f"    keepalive-interval = {KEEPALIVE_S}",
            "    connect-retry = 1",
        ]
    return "\n".join(lines)


def _statement(peer: str, actions: list[str]) -> list[str]:
    return [
        "  [[policy-definitions.statements]]",
        f'    name = "from-{peer}"',
        "    [policy-definitions.statements.conditions.match-neighbor-set]",
        f'      neighbor-set = "from-{peer}"',
        *actions,
    ]


def gobgp_prefer_policy(topology: Topology, router: Router) -> str:
    """Import policy: local preference per neighbour (the VP's choice of site); neighbours refused."""
    peers = [*router.prefer, *router.refuse]
    if not peers:
        return ""
    lines: list[str] = []
    for peer in peers:
        address = topology.link(router.name, peer).address(peer)
        lines += [
            "[[defined-sets.neighbor-sets]]",
            f'  neighbor-set-name = "from-{peer}"',
            f'  neighbor-info-list = ["{address}"]',
        ]
    lines += ["[[policy-definitions]]", '  name = "import"']
    for peer, pref in router.prefer.items():
        accept = ["    [policy-definitions.statements.actions]", '      route-disposition = "accept-route"']
        pref_action = [
            "    [policy-definitions.statements.actions.bgp-actions]",
            f"      set-local-pref = {pref}",
        ]
        lines += _statement(peer, accept + pref_action)
    for peer in router.refuse:
        lines += _statement(
            peer, ["    [policy-definitions.statements.actions]", '      route-disposition = "reject-route"']
        )
    return "\n".join(lines)


def gobgp_stub_policy(topology: Topology, router: Router) -> str:
    """Export policy of a stub: routes go to the collectors only."""
    if not router.stub:
        return ""
    collectors = {c.name for c in topology.collectors}
    addresses = [link.address(link.peer(router.name)) for link in topology.links_of(router.name)]
    to_collectors = [a for a, link in zip(addresses, topology.links_of(router.name), strict=True)
                     if link.peer(router.name) in collectors]  # fmt: skip
    return "\n".join(
        [
            "[[defined-sets.neighbor-sets]]",
            '  neighbor-set-name = "collectors"',
            "  neighbor-info-list = [" + ", ".join(f'"{a}"' for a in to_collectors) + "]",
            "[[policy-definitions]]",
            '  name = "export"',
            "  [[policy-definitions.statements]]",
            '    name = "to-collectors"',
            "    [policy-definitions.statements.conditions.match-neighbor-set]",
            '      neighbor-set = "collectors"',
            "    [policy-definitions.statements.actions]",
            '      route-disposition = "accept-route"',
        ]
    )


def gobgp_policies(topology: Topology, router: Router) -> str:
    """A router's import policy (local preference, refused neighbours) and, for a stub, its export policy."""
    imports, exports = gobgp_prefer_policy(topology, router), gobgp_stub_policy(topology, router)
    lines = [imports, exports] if imports or exports else []
    if imports or exports:
        lines.append("[global.apply-policy.config]")
    if imports:
        lines += ['  import-policy-list = ["import"]', '  default-import-policy = "accept-route"']
    if exports:
        lines += ['  export-policy-list = ["export"]', '  default-export-policy = "reject-route"']
    return "\n".join(line for line in lines if line)


def gobgp_config(topology: Topology, node: str, extra: str = "") -> str:
    """gobgpd TOML: global AS and router id, every link's neighbour, short timers, plus ``extra``."""
    head = f'[global.config]\n  as = {topology.asn(node)}\n  router-id = "{topology.router_id(node)}"\n'
    return head + extra + "\n" + _gobgp_neighbors(topology, node) + "\n"


class GobgpDaemon:
    """A gobgpd in a namespace, driven with the ``gobgp`` client inside the same namespace."""

    def __init__(
        self, topology: Topology, node: str, rundir: Path, extra: str = "", cwd: Path | None = None
    ) -> None:
        self.node = node
        self.dir = rundir / node
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "gobgpd.toml"
        conf.write_text(gobgp_config(topology, node, extra))
        args = in_ns(node, "gobgpd", "-f", str(conf), "-p", "--pprof-disable", "--api-hosts", GOBGP_API)
        self.daemon = Daemon(node, args, self.dir / "gobgpd.log", cwd)

    def start(self) -> None:
        self.daemon.start()

    def gobgp(self, *args: str) -> str:
        return run(in_ns(self.node, "gobgp", "-u", "127.0.0.1", *args))

    def established(self) -> set[str]:
        neighbors = json.loads(self.gobgp("-j", "neighbor") or "[]")
        return {n["state"]["neighbor_address"] for n in neighbors if n["state"].get("session_state") == 6}

    def announce(self, prefix: str) -> None:
        self.gobgp("global", "rib", "add", "-a", "ipv4", prefix)

    def withdraw(self, prefix: str) -> None:
        self.gobgp("global", "rib", "del", "-a", "ipv4", prefix)

    def disable(self, peer_ip: str) -> None:
        self.gobgp("neighbor", peer_ip, "disable")

    def enable(self, peer_ip: str) -> None:
        self.gobgp("neighbor", peer_ip, "enable")


def _gobgp_path(path: dict[str, Any]) -> str:
    asns: list[int] = []
    for attr in path.get("attrs", []):
        if attr.get("type") == 2:
            for segment in attr.get("as_paths", []):
                asns += segment.get("asns", [])
    return " ".join(str(a) for a in asns)


class GobgpCollector(GobgpDaemon):
    """gobgpd as a route collector: exports nothing, writes an MRT updates dump."""

    def __init__(self, topology: Topology, spec: Collector, rundir: Path, outdir: Path) -> None:
        self.spec = spec
        self.archive = outdir / spec.name
        self.archive.mkdir(parents=True, exist_ok=True)
        extra = (
            '[global.apply-policy.config]\n  default-export-policy = "reject-route"\n'
            "[[mrt-dump]]\n  [mrt-dump.config]\n"
            '    dump-type = "updates"\n'
            f'    file-name = "updates.{GOBGP_TIME_NAME}.mrt"\n'
            f"    rotation-interval = {ROTATION_S}\n"
        )
        # gobgpd formats the whole file name as a Go time layout (digits in a folder name would change):
        # a bare name, relative to the daemon's working directory, the archive folder.
        super().__init__(topology, spec.name, rundir, extra, cwd=self.archive)

    def routes(self) -> Routes:
        rib = json.loads(self.gobgp("-j", "global", "rib", "-a", "ipv4") or "{}")
        out: Routes = {}
        for prefix, paths in rib.items():
            for path in paths:
                out.setdefault(path["neighbor-ip"], {})[prefix] = _gobgp_path(path)
        return out

    def reset(self, peer_ip: str) -> None:
        """Disable then enable (``neighbor reset`` would leave the session idle for 30 s)."""
        self.disable(peer_ip)
        self.enable(peer_ip)

    def finish(self) -> None:
        self.daemon.stop()


class FrrCollector:
    """FRR bgpd without zebra, writing ``dump bgp all-et``; queried with vtysh over its own socket."""

    def __init__(self, topology: Topology, spec: Collector, rundir: Path, outdir: Path) -> None:
        self.spec = spec
        self.dir = rundir / spec.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.archive = outdir / spec.name
        self.archive.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "bgpd.conf"
        conf.write_text(self._config(topology))
        args = in_ns(
            spec.name, FRR_BGPD, "-f", str(conf), "-Z", "-S", "-P", "0", "--vty_socket", str(self.dir),
            "-i", str(self.dir / "bgpd.pid"), "--log", f"file:{self.dir / 'bgpd.log'}",
        )  # fmt: skip
        self.daemon = Daemon(spec.name, args, self.dir / "bgpd.out")

    def _config(self, topology: Topology) -> str:
        node = self.spec.name
        lines = ["frr defaults traditional", f"hostname {node}", "!", f"router bgp {self.spec.asn}"]
        lines += [f" bgp router-id {topology.router_id(node)}", " no bgp ebgp-requires-policy"]
        peers = [link.address(link.peer(node)) for link in topology.links_of(node)]
        for link, ip in zip(topology.links_of(node), peers, strict=True):
            lines += [f" neighbor {ip} remote-as {topology.asn(link.peer(node))}"]
            lines += [
                f" neighbor {ip} timers {KEEPALIVE_S} {HOLD_TIME_S}",
                f" neighbor {ip} timers connect 1",
            ]
        lines += [" address-family ipv4 unicast"]
        for ip in peers:
            lines += [f"  neighbor {ip} route-map ALL in", f"  neighbor {ip} route-map NONE out"]
        lines += [" exit-address-family", "!", "route-map ALL permit 10", "route-map NONE deny 10", "!"]
        lines += [f"dump bgp all-et {self.archive}/updates.{TIME_NAME} {ROTATION_S}", ""]
        return "\n".join(lines)

    def start(self) -> None:
        self.daemon.start()

    def vtysh(self, command: str) -> str:
        return run(["vtysh", "--vty_socket", str(self.dir), "-c", command])

    def established(self) -> set[str]:
        summary = json.loads(self.vtysh("show bgp ipv4 unicast summary json") or "{}")
        peers = summary.get("peers", {})
        return {ip for ip, peer in peers.items() if peer.get("state") == "Established"}

    def routes(self) -> Routes:
        table = json.loads(self.vtysh("show bgp ipv4 unicast json") or "{}")
        out: Routes = {}
        for prefix, paths in table.get("routes", {}).items():
            for path in paths:
                peer = path.get("peerId") or path.get("nexthops", [{}])[0].get("ip", "")
                out.setdefault(peer, {})[prefix] = path.get("path", "")
        return out

    def reset(self, peer_ip: str) -> None:
        self.vtysh(f"clear bgp {peer_ip}")

    def finish(self) -> None:
        self.daemon.stop()


_BIRD_ROUTE = re.compile(r"^(\S+)?\s+unicast \[(\S+) ")
_BIRD_PATH = re.compile(r"^\s+BGP\.as_path:\s*(.*)$")


def parse_bird_routes(text: str, protocols: dict[str, str]) -> Routes:
    """``birdc show route all`` text -> AS paths per peer; ``protocols`` maps protocol names to peer IPs."""
    out: Routes = {}
    prefix = protocol = None
    for line in text.splitlines():
        m = _BIRD_ROUTE.match(line)
        if m:
            prefix = m.group(1) or prefix
            protocol = m.group(2)
            continue
        m = _BIRD_PATH.match(line)
        if m and prefix and protocol in protocols:
            out.setdefault(protocols[protocol], {})[prefix] = m.group(1).strip()
    return out


class BirdCollector:
    """BIRD 2 with ``mrtdump`` (one update file, named here with its start time), queried with birdc."""

    def __init__(self, topology: Topology, spec: Collector, rundir: Path, outdir: Path) -> None:
        self.spec = spec
        self.dir = rundir / spec.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.archive = outdir / spec.name
        self.archive.mkdir(parents=True, exist_ok=True)
        node = spec.name
        self.protocols = {
            f"p_{link.peer(node)}": link.address(link.peer(node)) for link in topology.links_of(node)
        }
        conf = self.dir / "bird.conf"
        conf.write_text(self._config(topology))
        self.socket = self.dir / "bird.ctl"
        args = in_ns(
            node, "bird", "-f", "-c", str(conf), "-s", str(self.socket), "-P", str(self.dir / "bird.pid")
        )
        self.daemon = Daemon(node, args, self.dir / "bird.out")

    def _config(self, topology: Topology) -> str:
        node = self.spec.name
        dump = self.archive / f"updates.{time.strftime(TIME_NAME, time.gmtime())}.mrt"
        lines = [f"router id {topology.router_id(node)};", f'mrtdump "{dump}";']
        lines += ["mrtdump protocols {states, messages};", "protocol device {}"]
        for link in topology.links_of(node):
            peer = link.peer(node)
            lines += [
                f"protocol bgp p_{peer} {{",
                f"  local {link.address(node)} as {self.spec.asn};",
                f"  neighbor {link.address(peer)} as {topology.asn(peer)};",
                f"  hold time {HOLD_TIME_S}; keepalive time {KEEPALIVE_S};",
                "  connect retry time 1; error wait time 1,5;",
                "  ipv4 { import all; export none; };",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        self.daemon.start()

    def birdc(self, *args: str) -> str:
        return run(["birdc", "-s", str(self.socket), *args])

    def established(self) -> set[str]:
        text = self.birdc("show", "protocols")
        up = {line.split()[0] for line in text.splitlines() if "Established" in line}
        return {ip for name, ip in self.protocols.items() if name in up}

    def routes(self) -> Routes:
        return parse_bird_routes(self.birdc("show", "route", "all"), self.protocols)

    def reset(self, peer_ip: str) -> None:
        name = next(n for n, ip in self.protocols.items() if ip == peer_ip)
        self.birdc("restart", name)

    def finish(self) -> None:
        self.daemon.stop()


def make_collector(topology: Topology, spec: Collector, rundir: Path, outdir: Path) -> CollectorDaemon:
    kinds: dict[str, Any] = {"frr": FrrCollector, "bird": BirdCollector, "gobgp": GobgpCollector}
    collector: CollectorDaemon = kinds[spec.kind](topology, spec, rundir, outdir)
    return collector
