"""``check_run``: analyse each collector's lab archive and compare the site changes with truth.json.

Steps:

1. Read truth.json; build the analysis parameters from it: the target, the lab's site names, default
   settings except ``resync_s`` (the lab's sessions come back within seconds, so the truth's
   ``resync_s``, shorter than the spacing of scripted events, replaces the default 300 s).
2. Per collector, run :func:`anystab.pipeline.analyze` on its folder, with the collector's name and the
   truth's window given explicitly (lab files follow no RIS or RouteViews cadence).
3. Attribute every break event found (``switch``, ``withdraw``) to the last step issued at or before it
   (less ``tolerance``); events before the first step, or from a peer that is no vantage point of the
   truth, are unexpected.
4. Per step and vantage point: the counts found must equal the truth's exactly, every event must fall in
   [issued - tolerance, converged + tolerance] of its step, and no other peer (such as BIRD's state
   records from 0.0.0.0) may show a break. Tolerance: 1 s for second-resolution formats, else ``SLACK_S``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from anystab.events import BREAK_KINDS
from anystab.lab.truth import load_truth
from anystab.params import AnalysisParams, SiteMap
from anystab.targets import make_target, target_set

SLACK_S = 0.05
SECOND_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class StepCheck:
    """Expected and found break events of one vantage point in one step."""

    step: str
    scenario: str
    vp: str
    expected: dict[str, int]
    found: dict[str, int]
    off_time: int = 0

    @property
    def ok(self) -> bool:
        return self.expected == self.found and self.off_time == 0


@dataclass(frozen=True)
class CollectorCheck:
    collector: str
    kind: str
    tolerance_s: float
    steps: list[StepCheck]
    unexpected_peers: list[str] = field(default_factory=list)
    path_changes: dict[str, int] = field(default_factory=dict)
    problems: int = 0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and not self.unexpected_peers


@dataclass(frozen=True)
class LabCheck:
    scenario: str
    collectors: list[CollectorCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.collectors)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        for c, d in zip(self.collectors, out["collectors"], strict=True):
            d["ok"] = c.ok
            for s, ds in zip(c.steps, d["steps"], strict=True):
                ds["ok"] = s.ok
        return out


def lab_params(truth: dict[str, Any]) -> AnalysisParams:
    target = make_target(truth["target"]["prefix"], truth["target"]["address"])
    return AnalysisParams(
        targets=target_set([target]), site_map=SiteMap(names=dict(truth["sites"])), resync_s=truth["resync_s"]
    )


def analyse_collector(outdir: Path, truth: dict[str, Any], name: str, jobs: int = 1) -> pd.DataFrame:
    """The events table of one collector's archive, over the truth's window."""
    from anystab.pipeline import AnalysisRequest, analyze

    window = truth["window"]
    folder = outdir / truth["collectors"][name]["dir"]
    request = AnalysisRequest(
        sources=(str(folder),),
        params=lab_params(truth),
        start=window["start"],
        end=window["end"],
        collector=name,
        jobs=jobs,
    )
    result = analyze(request)
    events = result.tables["events"].copy()
    events.attrs["problems"] = len(result.tables["problems"])
    return events


def _step_of(steps: list[dict[str, Any]], when: float, tolerance: float) -> dict[str, Any] | None:
    issued = [s for s in steps if s["time"] - tolerance <= when]
    return issued[-1] if issued else None


def compare(truth: dict[str, Any], name: str, events: pd.DataFrame) -> CollectorCheck:
    """Step 3 and 4 for one collector's events table."""
    info = truth["collectors"][name]
    tolerance = SECOND_TOLERANCE_S if info["time_resolution_s"] >= 1 else SLACK_S
    by_ip = {ip: vp for vp, ip in info["peers"].items()}
    steps = truth["steps"]
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for step in steps:
        for vp in info["peers"]:
            expected[(step["name"], vp)] = dict.fromkeys(BREAK_KINDS, 0)
    for ev in truth["events"]:
        if ev["kind"] in BREAK_KINDS and (ev["step"], ev["vp"]) in expected:
            expected[(ev["step"], ev["vp"])][ev["kind"]] += 1
    found = {key: dict.fromkeys(BREAK_KINDS, 0) for key in expected}
    off_time = dict.fromkeys(expected, 0)
    unexpected: list[str] = []
    breaks = events[events["kind"].isin(BREAK_KINDS)]
    for row in breaks.itertuples(index=False):
        when = pd.Timestamp(row.time).timestamp()
        vp = by_ip.get(str(row.peer_ip))
        step = _step_of(steps, when, tolerance)
        if vp is None or step is None:
            unexpected.append(f"{row.peer_ip} {row.kind} at {when:.6f}")
            continue
        key = (step["name"], vp)
        found[key][str(row.kind)] += 1
        if not step["time"] - tolerance <= when <= step["converged"] + tolerance:
            off_time[key] += 1
    scenario_of = {s["name"]: s["scenario"] for s in steps}
    checks = [
        StepCheck(step, scenario_of[step], vp, expected[(step, vp)], found[(step, vp)], off_time[(step, vp)])
        for step, vp in expected
    ]
    paths = events[events["kind"] == "path_change"]
    path_changes = {vp: int((paths["peer_ip"] == ip).sum()) for vp, ip in info["peers"].items()}
    problems = int(events.attrs.get("problems", 0))
    return CollectorCheck(name, info["kind"], tolerance, checks, unexpected, path_changes, problems)


def check_run(outdir: Path, jobs: int = 1) -> LabCheck:
    """Steps 1 to 4 for every collector of a lab run."""
    truth = load_truth(outdir)
    collectors = [
        compare(truth, name, analyse_collector(outdir, truth, name, jobs)) for name in truth["collectors"]
    ]
    return LabCheck(truth["scenario"], collectors)
