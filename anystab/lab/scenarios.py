"""Scripted scenarios: the steps played on the lab, and the routes every vantage point must end up with.

Steps of a scenario run (played by :mod:`anystab.lab.runner`):

1. Baseline, in every scenario: site B announces the anycast prefix, then site A (one at a time, so
   that the initial convergence is scripted too); v1 then prefers site A (through u1), v2 site B (u2).
2. Each step is one action on one daemon, then a wait until every collector holds, from every vantage
   point, exactly the AS paths the step expects (``expected``: VP -> prefix -> path, absent = no route).
3. The expected paths are the ground truth: the site of each VP after each step follows from them, and a
   change of site between consecutive steps is a scripted switch.

Scenarios (all on one topology; ``all`` plays every step in one run):

- ``withdraw``: site A withdraws the prefix (v1 moves to B), then returns (v1 back to A).
- ``reset``: every collector resets its session with v1; routing does not change, so no switch.
- ``explore``: v1 loses its session to u1 and takes a temporary longer path to the same site (via x),
  then gets it back: two path changes, no switch.
- ``more-specific``: another origin announces a /25 covering the target address behind u2 (both VPs
  switch to it), then withdraws it (both switch back).

Every scenario ends with ``non-covering-more-specific``: the other origin announces the /25 that does
not hold the target address. It changes no site (longest match for the target address is unchanged),
and it makes every collector, including gobgpd that writes no state records, record something after the
last scripted switch, so the archive covers the window past it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from anystab.lab.topology import ANYCAST_PREFIX, MORE_SPECIFIC, NON_COVERING

P = ANYCAST_PREFIX
M = MORE_SPECIFIC
N = NON_COVERING
TARGET_ADDRESS = ipaddress.ip_network(P).network_address
V1_VIA_U1 = "64511 64501 64600"
V1_VIA_X = "64511 64520 64501 64600"
V1_VIA_U2 = "64511 64502 64600"
V2_VIA_U2 = "64512 64502 64600"
V1_MORE = "64511 64502 64666"
V2_MORE = "64512 64502 64666"
AFTER_END: Expected = {"v1": {P: V1_VIA_U1, N: V1_MORE}, "v2": {P: V2_VIA_U2, N: V2_MORE}}
SITE_NAMES = {"64501 64600": "site-a", "64502 64600": "site-b", "64502 64666": "other-origin"}

Expected = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Step:
    """One scripted action and the routes every VP holds once it has converged.

    ``action``: ``announce``/``withdraw`` (router, prefix), ``disable``/``enable`` (router, neighbour
    router), or ``reset`` (vantage point: every collector resets its session with it).
    """

    name: str
    scenario: str
    action: str
    node: str
    arg: str = ""
    expected: Expected = field(default_factory=dict)


BASELINE: Expected = {"v1": {P: V1_VIA_U1}, "v2": {P: V2_VIA_U2}}

STEPS: tuple[Step, ...] = (
    Step("site-b-announces", "baseline", "announce", "sb", P, {"v1": {P: V1_VIA_U2}, "v2": {P: V2_VIA_U2}}),
    Step("site-a-announces", "baseline", "announce", "sa", P, BASELINE),
    Step("site-a-withdraws", "withdraw", "withdraw", "sa", P, {"v1": {P: V1_VIA_U2}, "v2": {P: V2_VIA_U2}}),
    Step("site-a-returns", "withdraw", "announce", "sa", P, BASELINE),
    Step("collectors-reset-v1", "reset", "reset", "v1", "", BASELINE),
    Step("v1-loses-u1", "explore", "disable", "v1", "u1", {"v1": {P: V1_VIA_X}, "v2": {P: V2_VIA_U2}}),
    Step("v1-regains-u1", "explore", "enable", "v1", "u1", BASELINE),
    Step(
        "more-specific-announced",
        "more-specific",
        "announce",
        "ho",
        M,
        {"v1": {P: V1_VIA_U1, M: V1_MORE}, "v2": {P: V2_VIA_U2, M: V2_MORE}},
    ),
    Step("more-specific-withdrawn", "more-specific", "withdraw", "ho", M, BASELINE),
    Step("non-covering-more-specific", "end", "announce", "ho", N, AFTER_END),
)

SCENARIOS: tuple[str, ...] = ("all", "withdraw", "reset", "explore", "more-specific")


def steps_of(scenario: str) -> list[Step]:
    """The steps a scenario plays, in order (``all``: every step)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    return [s for s in STEPS if scenario in ("all", s.scenario) or s.scenario in ("baseline", "end")]


def site_of(as_path: str | None) -> str | None:
    """The site (upstream strategy, named) of a lab AS path; None when unrouted."""
    if not as_path:
        return None
    tokens = as_path.split()
    signature = " ".join(tokens[-2:]) if len(tokens) >= 2 else f"{tokens[-1]} {tokens[-1]}"
    return SITE_NAMES.get(signature, signature)


def effective_path(routes: dict[str, str]) -> str | None:
    """The path of the longest prefix the VP holds that covers the target address; None if none does."""
    covering = [p for p in routes if TARGET_ADDRESS in ipaddress.ip_network(p)]
    if not covering:
        return None
    return routes[max(covering, key=lambda prefix: ipaddress.ip_network(prefix).prefixlen)]
