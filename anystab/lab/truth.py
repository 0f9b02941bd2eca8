"""``truth.json``: what the lab scripted, when, and the site changes every vantage point must show.

Steps to derive the truth from a run:

1. Every step records when its action was issued and when every collector held its expected routes.
2. Each vantage point's site after each step is the site (upstream strategy, named by ``SITE_NAMES``) of
   the longest expected prefix, which covers the target address (lab prefixes nest).
3. A change of site between consecutive states is an event: ``switch`` (site to site), ``withdraw``
   (site to none) or ``restore`` (none to site), dated [issued, converged] of its step.

The file also names the analysis window, the collectors (kind, directory, time resolution, the address
each vantage point has on its session with that collector) and the ``resync_s`` the check uses.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from anystab.lab.runner import LabRun
from anystab.lab.scenarios import SITE_NAMES, Expected, effective_path, site_of
from anystab.lab.topology import ANYCAST_PREFIX, Topology

TRUTH_FORMAT = 1
TRUTH_FILE = "truth.json"
SITE_MAP_FILE = "sites.toml"
LAB_RESYNC_S = 2.0
TIME_RESOLUTION_S = {"frr": 1e-6, "bird": 1.0, "gobgp": 1.0}


def site_events(states: list[tuple[dict[str, Any], Expected]], vps: list[str]) -> list[dict[str, Any]]:
    """Events from consecutive expected states; ``states`` holds (step fields, expected routes) pairs."""
    events: list[dict[str, Any]] = []
    for (_, before), (step, after) in zip(states, states[1:], strict=False):
        for vp in vps:
            old = site_of(effective_path(before.get(vp, {})))
            new = site_of(effective_path(after.get(vp, {})))
            if old == new:
                continue
            kind = "switch" if old and new else ("withdraw" if old else "restore")
            event = {"step": step["name"], "scenario": step["scenario"], "vp": vp, "kind": kind}
            events.append(
                {
                    **event,
                    "old_site": old,
                    "new_site": new,
                    "time": step["time"],
                    "converged": step["converged"],
                }
            )
    return events


def build_truth(run: LabRun, topology: Topology) -> dict[str, Any]:
    steps = [
        {**{k: v for k, v in asdict(r.step).items()}, "time": r.time, "converged": r.converged}
        for r in run.records
    ]
    start = {"name": "sessions-up", "scenario": "baseline", "time": run.start, "converged": run.sessions_up}
    states: list[tuple[dict[str, Any], Expected]] = [(start, {})] + [(s, s["expected"]) for s in steps]
    vps = list(topology.vantage_points)
    collectors = {
        c.name: {
            "kind": c.kind,
            "dir": c.name,
            "asn": c.asn,
            "time_resolution_s": TIME_RESOLUTION_S[c.kind],
            "peers": {vp: topology.link(vp, c.name).address(vp) for vp in vps},
        }
        for c in topology.collectors
    }
    return {
        "format": TRUTH_FORMAT,
        "scenario": run.scenario,
        "target": {"prefix": ANYCAST_PREFIX, "address": ANYCAST_PREFIX.split("/")[0]},
        "window": {"start": run.start, "end": run.end},
        "resync_s": LAB_RESYNC_S,
        "sites": SITE_NAMES,
        "vantage_points": {vp: topology.asn(vp) for vp in vps},
        "collectors": collectors,
        "sessions_up": run.sessions_up,
        "steps": steps,
        "events": site_events(states, vps),
    }


def site_map_toml(sites: dict[str, str]) -> str:
    lines = ["# Site names for the lab's site signatures (upstream strategy).", "[sites]"]
    return "\n".join(lines + [f'"{sig}" = "{name}"' for sig, name in sites.items()]) + "\n"


def write_truth(outdir: Path, truth: dict[str, Any]) -> Path:
    """truth.json and sites.toml (the lab's site map, usable with ``anystab analyze --site-map``)."""
    (outdir / SITE_MAP_FILE).write_text(site_map_toml(truth["sites"]))
    path = outdir / TRUTH_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(truth, indent=2) + "\n")
    tmp.replace(path)
    return path


def load_truth(outdir: Path) -> dict[str, Any]:
    from anystab.errors import BadInputError

    path = outdir / TRUTH_FILE
    try:
        truth: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path}: not a lab truth file ({exc})") from None
    if truth.get("format") != TRUTH_FORMAT:
        raise BadInputError(f"{path}: truth format {truth.get('format')!r}, expected {TRUTH_FORMAT}")
    return truth
