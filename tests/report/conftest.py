"""Fixtures for the HTML report tests: results folders for the sample archive and a generated scenario."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from anystab.generate.scenario import (
    Collector,
    Scenario,
    SessionReset,
    Site,
    SiteDown,
    SiteUp,
    TargetSpec,
    Transient,
    Vp,
    write_archive,
)
from anystab.output import write_tables
from anystab.params import AnalysisParams, SiteMap
from anystab.pipeline import AnalysisRequest, AnalysisResult, analyze
from anystab.service import load_service
from anystab.targets import make_target, target_set

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
START = 1_748_822_400  # 2025-06-02 00:00 UTC
SITE_NAMES = ("ams", "sin", "iad", "gru", "fra", "lhr", "nrt", "syd", "jnb", "mia", "sea", "bom")
VPS_PER_COLLECTOR = 40
MISSING_SLOT_S = 2100


def sample_result() -> AnalysisResult:
    service = load_service(DATA / "service.toml")
    params = AnalysisParams(
        targets=target_set(list(service.targets)),
        site_by=service.site_by or "upstream",
        site_map=service.site_map,
    )
    return analyze(AnalysisRequest(sources=(str(DATA),), params=params, jobs=1))


def busy_scenario() -> Scenario:
    """Twelve sites, 80 vantage points on two collectors, site outages, path exploration, a session reset
    and a missing archive file: more sites and vantage points than the sample, so colours and caps show."""
    rng = random.Random(11)
    sites = tuple(Site(name, 64501 + i, 64496) for i, name in enumerate(SITE_NAMES))
    vps = []
    for c, coll in enumerate(("rrc05", "route-views.sydney")):
        for i in range(VPS_PER_COLLECTOR):
            prefs = tuple(rng.sample(SITE_NAMES, 3))
            vps.append(Vp(coll, 65000 + 100 * c + i, f"198.51.{100 + c}.{i + 1}", prefs, (64900 + i % 7,)))
    script = (
        SiteDown(600, "ams"), SiteDown(1200, "sin"), SiteUp(1500, "ams"),
        Transient(900, tuple(v.key for v in vps[::9]), 10.0, via="fra"),
        SessionReset(1800, vps[3].key, 60.0), SiteUp(2400, "sin"), SiteDown(3000, "iad"),
    )  # fmt: skip
    return Scenario(
        start=START, duration_s=3600, targets=(TargetSpec("192.0.2.0/24", "192.0.2.53"),), sites=sites,
        collectors=(Collector("rrc05"), Collector("route-views.sydney", "routeviews", et=False)),
        vps=tuple(vps), script=script, noise_v4=50, noise_updates_per_vp=4,
        omit=(("rrc05", START + MISSING_SLOT_S),), seed=11,
    )  # fmt: skip


def busy_result(archive: Path) -> AnalysisResult:
    write_archive(busy_scenario(), archive)
    names = {s.signature: s.name for s in busy_scenario().sites}
    params = AnalysisParams(
        targets=target_set([make_target("192.0.2.0/24", "192.0.2.53")]), site_map=SiteMap(names=names)
    )
    return analyze(AnalysisRequest(sources=(str(archive),), params=params, jobs=1))


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``analyze --out`` of the sample archive."""
    return write_tables(sample_result(), tmp_path_factory.mktemp("sample") / "results")


@pytest.fixture(scope="session")
def busy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``analyze --out`` of the generated twelve-site scenario."""
    base = tmp_path_factory.mktemp("busy")
    return write_tables(busy_result(base / "archive"), base / "results")


@pytest.fixture(scope="session", params=["sample", "busy"])
def results_dir(request: pytest.FixtureRequest) -> Path:
    """Each results folder in turn."""
    return request.getfixturevalue(f"{request.param}_dir")
