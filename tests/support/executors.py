"""Helpers for the executor tests: generated multi-collector archives (with RIB dumps inside the window, so
slices have edges that events cross), requests, and a strict comparison of two analyses."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from anystab.generate.mrtwrite import Peer, RibDump, RibEntry, StateChange, Update, write_rib
from anystab.generate.scenario import (
    Collector,
    MoreSpecific,
    Prepend,
    Scenario,
    SessionReset,
    SiteDown,
    SiteUp,
    TargetSpec,
    Transient,
    Vp,
    VpRun,
    rib_path,
    simulate,
    write_archive,
)
from anystab.output import write_tables
from anystab.params import AnalysisParams, SiteMap
from anystab.pipeline import AnalysisRequest, AnalysisResult
from anystab.targets import make_target, target_set
from anystab.units import US_PER_S

# the generated scenarios' sites and vantage points (A to E), shared with the generator tests
from support.scenario import ESTABLISHED, SITES, START, A, B, C, D, E

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data"
EDGES = (1200, 2400)  # seconds after START: RIB dumps inside the window, i.e. slice edges


F = ("rrc05", 64505, "198.51.100.9")
G = ("rrc05", 64506, "2001:db8:100::7")


def edge_scenario(*, addpath: bool = False, omit: tuple[tuple[str, int], ...] = ()) -> Scenario:
    """Three collectors; a session gap, a more-specific, a site outage and transients across slice edges."""
    vps = (
        Vp(*A, ("ams", "sin", "iad"), (65546,)),
        Vp(*B, ("sin", "iad")),
        Vp(*C, ("sin", "ams")),
        Vp(*D, ("iad", "ams")),
        Vp(*E, ("sin",), (65549,)),
        Vp(*F, ("sin", "ams", "iad")),
        Vp(*G, ("ams", "sin")),
    )
    script = (
        MoreSpecific(1000, 2500, "192.0.2.0/25", 64510, 64511, (A, D, F)),
        SessionReset(1150, A, 40.0),  # the gap and its resync cross the first edge
        SiteDown(1190, "sin"),
        Transient(2390, (B, E, G), 30.0, via="iad"),  # crosses the second edge: min_dwell matters
        SiteUp(2410, "sin"),
        Prepend(3000, "ams", 2),
    )
    return Scenario(
        start=START, duration_s=3600,
        targets=(TargetSpec("192.0.2.0/24", "192.0.2.53"), TargetSpec("2001:db8:53::/48", "2001:db8:53::53")),
        sites=SITES,
        collectors=(
            Collector("rrc01"),
            Collector("route-views3", "routeviews", et=False, addpath=addpath),
            Collector("rrc05"),
        ),
        vps=vps, script=script, noise_v4=60, noise_v6=10, noise_updates_per_vp=10,
        default_route_vps=(A, D), omit=omit, seed=17,
    )  # fmt: skip


def _table_at(run: VpRun, at_us: int) -> dict[str, tuple]:
    """The VP's routes after every record at or before ``at_us`` (what a RIB dump then would hold)."""
    table = dict(run.rib)
    for time_us, _, record in sorted(run.records, key=lambda r: (r[0], r[1])):
        if time_us > at_us:
            break
        if isinstance(record, StateChange) and record.new_state != ESTABLISHED:
            table.clear()
        elif isinstance(record, Update):
            for gone in record.withdraw:
                table.pop(gone.prefix, None)
            for route in record.announce:
                table[route.prefix] = (route, time_us // US_PER_S)
    return table


def write_rib_at(scenario: Scenario, runs: list[VpRun], coll: Collector, at: int, outdir: Path) -> Path:
    """A RIB dump of ``coll`` at ``at`` (epoch seconds), from the simulated records."""
    mine = [r for r in runs if r.vp.collector == coll.name]
    peers = tuple(Peer(r.vp.peer_asn, r.vp.peer_ip, "192.0.2.1") for r in mine)
    tables = [_table_at(r, at * US_PER_S) for r in mine]
    entries = [
        RibEntry(index, tables[index][prefix][0], tables[index][prefix][1])
        for prefix in sorted({p for t in tables for p in t})
        for index in range(len(mine))
        if prefix in tables[index]
    ]
    path = outdir / rib_path(coll, at)
    write_rib(path, RibDump(at, peers, tuple(entries), coll.collector_id))
    return path


def write_edge_archive(scenario: Scenario, outdir: Path) -> list[Path]:
    """The scenario's archive plus RIB dumps at every slice edge of every collector."""
    runs = simulate(scenario)
    written = write_archive(scenario, outdir, runs)
    for coll in scenario.collectors:
        written += [write_rib_at(scenario, runs, coll, START + edge, outdir) for edge in EDGES]
    return written


def request(
    sources: tuple[str, ...], scenario: Scenario, min_dwell: float = 0.0, start: float | None = None
) -> AnalysisRequest:
    targets = target_set([make_target(t.prefix, t.address) for t in scenario.targets])
    names = {f"{s.upstream_asn} {s.origin_asn}": s.name for s in scenario.sites}
    params = AnalysisParams(targets=targets, site_map=SiteMap(names), min_dwell_s=min_dwell)
    return AnalysisRequest(sources=sources, params=params, start=start, jobs=2)


def sample_request(sources: tuple[str, ...] = (str(SAMPLE),)) -> AnalysisRequest:
    from anystab.service import load_service

    service = load_service(SAMPLE / "service.toml")
    params = AnalysisParams(targets=target_set(service.targets), site_map=service.site_map)
    return AnalysisRequest(sources=sources, params=params, jobs=2)


def assert_identical(a: AnalysisResult, b: AnalysisResult, tmp: Path) -> None:
    """Same window, same tables (values, types, row order), same parquet files row for row, same summary."""
    assert a.window == b.window
    assert sorted(a.tables) == sorted(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)
        assert a.table(name).equals(b.table(name)), name
    write_tables(a, tmp / "a")
    write_tables(b, tmp / "b")
    for path in sorted((tmp / "a").glob("*.parquet")):
        left, right = pq.read_table(path), pq.read_table(tmp / "b" / path.name)
        assert left.schema == right.schema, path.name
        assert left.to_pylist() == right.to_pylist(), path.name
    assert json.dumps(a.summary(), sort_keys=True, default=str) == json.dumps(
        b.summary(), sort_keys=True, default=str
    )


def with_paths(result: AnalysisResult, mapping: dict[str, str]) -> AnalysisResult:
    """A copy of ``result`` with file names (files, problems, elements' source) mapped through ``mapping``."""
    tables = dict(result.tables)
    for name, column in (("files", "path"), ("problems", "path"), ("elements", "source")):
        frame = tables[name].copy()
        frame[column] = frame[column].map(lambda p: mapping.get(p, p))
        tables[name] = frame
    return replace(result, tables=tables)
