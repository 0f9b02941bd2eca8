"""The lab's topology: BGP routers and route collectors joined by point-to-point links.

Steps to lay it out:

1. Every router and collector gets its own network namespace, named after the node.
2. Every link is a veth pair; link number ``i`` takes ``LINK_NET`` addresses ``4i+1`` (first node) and
   ``4i+2`` (second node) in a /30. The addresses exist only inside the lab's namespaces.
3. Every router runs gobgpd with an AS number and a local preference per neighbour (the operator's
   choice that makes a vantage point prefer one site); every collector peers with every vantage point.

The anycast prefix is originated by the two sites (same origin AS, different upstreams); the other origin
announces a more-specific of it. Nothing here touches the host: it is a plain description.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

LINK_NET = ipaddress.ip_network("192.0.2.0/24")
ANYCAST_PREFIX = "203.0.113.0/24"
MORE_SPECIFIC = "203.0.113.0/25"
NON_COVERING = "203.0.113.128/25"
ORIGIN_AS = 64600
OTHER_ORIGIN_AS = 64666
DEFAULT_LOCAL_PREF = 100
COLLECTOR_KINDS = ("frr", "bird", "gobgp")


@dataclass(frozen=True)
class Router:
    """A gobgpd router. ``prefer`` maps a neighbour's name to the local preference of its routes;
    routes from the neighbours in ``refuse`` are not used (a provider ignoring what its customer re-sends);
    a ``stub`` (a vantage point) sends routes to the collectors only, never back to other routers.
    """

    name: str
    asn: int
    prefer: dict[str, int] = field(default_factory=dict)
    refuse: tuple[str, ...] = ()
    stub: bool = False


@dataclass(frozen=True)
class Collector:
    """A route collector of one daemon kind (frr, bird or gobgp), peering with every vantage point."""

    name: str
    kind: str
    asn: int


@dataclass(frozen=True)
class Link:
    """A veth link; ``a`` gets the /30's first host address, ``b`` the second."""

    index: int
    a: str
    b: str

    def address(self, node: str) -> str:
        offset = 1 if node == self.a else 2
        return str(LINK_NET.network_address + 4 * self.index + offset)

    def peer(self, node: str) -> str:
        return self.b if node == self.a else self.a

    def ifname(self, node: str) -> str:
        """Interface name on ``node``'s side (a dash keeps it from reading as an ``ip`` keyword)."""
        return f"{node}-{self.peer(node)}"[:15]


@dataclass(frozen=True)
class Topology:
    routers: tuple[Router, ...]
    collectors: tuple[Collector, ...]
    vantage_points: tuple[str, ...]
    links: tuple[Link, ...]

    def node_names(self) -> list[str]:
        return [r.name for r in self.routers] + [c.name for c in self.collectors]

    def router(self, name: str) -> Router:
        return next(r for r in self.routers if r.name == name)

    def asn(self, name: str) -> int:
        by_name = {r.name: r.asn for r in self.routers} | {c.name: c.asn for c in self.collectors}
        return by_name[name]

    def links_of(self, node: str) -> list[Link]:
        return [link for link in self.links if node in (link.a, link.b)]

    def link(self, a: str, b: str) -> Link:
        return next(link for link in self.links if {link.a, link.b} == {a, b})

    def router_id(self, node: str) -> str:
        return self.links_of(node)[0].address(node)


def _build() -> Topology:
    routers = (
        Router("sa", ORIGIN_AS),
        Router("sb", ORIGIN_AS),
        Router("ho", OTHER_ORIGIN_AS),
        Router("u1", 64501),
        Router("u2", 64502),
        Router("x", 64520),
        # The vantage points are stubs: a route sent back towards its origin would be refused for its AS
        # loop, and gobgpd 3.10 then keeps the route it had before from that peer (osrg/gobgp#2832), a
        # stale path that never goes away.
        Router("v1", 64511, prefer={"u1": 200, "x": 150}, stub=True),
        Router("v2", 64512, stub=True),
    )
    collectors = (
        Collector("cfrr", "frr", 65001),
        Collector("cbird", "bird", 65002),
        Collector("cgo", "gobgp", 65003),
    )
    pairs = [
        ("sa", "u1"),
        ("sb", "u2"),
        ("ho", "u2"),
        ("u1", "v1"),
        ("u1", "x"),
        ("x", "v1"),
        ("u2", "v1"),
        ("u2", "v2"),
    ]
    vantage_points = ("v1", "v2")
    pairs += [(vp, c.name) for c in collectors for vp in vantage_points]
    links = tuple(Link(i, a, b) for i, (a, b) in enumerate(pairs))
    return Topology(routers, collectors, vantage_points, links)


TOPOLOGY = _build()
