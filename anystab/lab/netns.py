"""Network namespaces and veth links for the lab, inside a private namespace set.

Steps:

1. :func:`private_command` wraps a command in ``unshare -nmpf --kill-child --mount-proc``: a new network,
   mount and pid namespace whose first process is the lab. When it ends, or is killed, the kernel kills
   every daemon in the pid namespace and drops every namespace and link: nothing is left behind, and
   parallel runs cannot collide.
2. Inside it, :func:`prepare` mounts a private tmpfs on ``/run/netns`` (named namespaces are bind mounts
   there) and brings up loopback.
3. :func:`build` adds one named namespace per node, each with loopback up (the daemons' control ports
   listen on 127.0.0.1), and one veth pair per link with its /30 addresses.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

from anystab.errors import LabError
from anystab.lab.process import in_ns, run
from anystab.lab.topology import Topology

PRIVATE_ENV = "ANYSTAB_LAB_PRIVATE"
NETNS_DIR = "/run/netns"
UNSHARE = ("unshare", "-nmpf", "--kill-child", "--mount-proc")


def private_command(module_args: Sequence[str], unprivileged: bool = False) -> list[str]:
    """The command line that runs ``python -m anystab.lab.inside ARGS`` in a private namespace set.

    ``unprivileged`` adds a user namespace in which the caller is root (``unshare -Ur``).
    """
    if shutil.which("unshare") is None:
        raise LabError("unshare (util-linux) is not installed")
    user = ["-Ur"] if unprivileged else []
    return [*UNSHARE[:1], *user, *UNSHARE[1:], sys.executable, "-m", "anystab.lab.inside", *module_args]


def is_private() -> bool:
    """True inside the namespace set made by :func:`private_command` (its first process is pid 1)."""
    return os.environ.get(PRIVATE_ENV) == "1" and os.getpid() == 1


def prepare() -> None:
    """Private /run/netns (a tmpfs only this mount namespace sees) and loopback up."""
    if not is_private():
        raise LabError("the lab must run inside its private namespaces (use anystab.lab.run_lab)")
    os.makedirs(NETNS_DIR, exist_ok=True)
    run(["mount", "-t", "tmpfs", "lab-netns", NETNS_DIR])
    run(["ip", "link", "set", "lo", "up"])


def build(topology: Topology) -> None:
    """One namespace per node, one veth pair per link, addresses on both ends, everything up."""
    for node in topology.node_names():
        run(["ip", "netns", "add", node])
        run(in_ns(node, "ip", "link", "set", "lo", "up"))
    for link in topology.links:
        ends = [(node, link.ifname(node)) for node in (link.a, link.b)]
        (a, a_if), (b, b_if) = ends
        run(["ip", "link", "add", a_if, "netns", a, "type", "veth", "peer", "name", b_if, "netns", b])
        for node, ifname in ends:
            run(in_ns(node, "ip", "addr", "add", f"{link.address(node)}/30", "dev", ifname))
            run(in_ns(node, "ip", "link", "set", ifname, "up"))


def teardown(topology: Topology) -> None:
    """Delete the namespaces (the private namespace set would drop them anyway when the lab ends)."""
    for node in topology.node_names():
        run(["ip", "netns", "del", node], check=False)


def missing_programs(programs: Sequence[str]) -> list[str]:
    """The programs of ``programs`` not found on PATH or as absolute paths."""
    return [
        p for p in programs if not (os.path.isabs(p) and os.access(p, os.X_OK)) and shutil.which(p) is None
    ]


def require(programs: Sequence[str]) -> None:
    missing = missing_programs(programs)
    if missing:
        raise LabError(
            "the lab needs "
            + ", ".join(missing)
            + ": apt-get install --no-install-recommends gobgpd frr bird2"
        )
