"""Every table and the JSON summary of ``anystab analyze`` equal stored outputs of an earlier version.

The stored outputs (``tests/data/golden/<case>/``) were written by the code of the main line before the
redesign of the analysis entry point; a change of shape must give the same rows, in the same order, and
the same summary. Cases:

- the repository's sample archive: the default and the path strategy, min_dwell on, its RIB dumps alone;
- a generated archive (:func:`generated_scenario`, written into a temporary folder: two collectors, a
  session reset, a missing update file, a more-specific) under every site strategy, min_dwell off and on;
- every real MRT file in ``tests/data/mrt`` that anystab reads, with a few prefixes that occur in it (the
  et-header file with 159 of its prefixes, /10 and /11 among them; a 2016 file with 100, IPv6 among them);
- a generated file whose every record matches.

Runs with ``--jobs 2`` and ``--dask local:2`` (a real Dask LocalCluster, in a real ``anystab`` process)
are compared with the stored outputs of the one-job run of the same input (:data:`RERUNS`). The generated
inputs' SHA-256 are stored too, so a change of the generator is told apart from a change of the analysis.

Store the outputs of cases that have none yet: ``python tests/analysis/test_same_results.py``; rewrite
every case (only when a change of results is intended): add ``--all``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from anystab import schemas
from anystab.cli.main import cli
from anystab.generate.mrtwrite import Route, Update, write_repeated_update
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
    write_archive,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
MRT = "tests/data/mrt"
REPEATED = "rrc99/2023.11/updates.20231114.2210.gz"  # the slot holding its time
REPEATED_COUNT = 3_000
GENERATED = "generated"  # the generated archive's folder under the inputs folder
GEN_SERVICE = "tests/data/golden/generated.toml"
GEN_DWELL_S = "30"
STRATEGIES = ("upstream", "origin", "path", "community", "nexthop")


def _prefixes(*targets: str) -> list[str]:
    return [a for t in targets for a in ("--prefix", t)]


def _real(name: str, collector: str, *targets: str, end: str | None = None) -> list[str]:
    """A real file's case; ``end`` for a file of one instant (a RIB dump, a single update)."""
    return [f"{MRT}/{name}", "--collector", collector, *_prefixes(*targets), *(["--end", end] if end else [])]


CASES: dict[str, list[str]] = {
    "sample": ["data", "--service", "data/service.toml"],
    "sample-path": ["data", "--service", "data/service.toml", "--site-by", "path", "--sessions", "1m,1h"],
    "sample-dwell60": ["data", "--service", "data/service.toml", "--min-dwell", "60"],
    "sample-rib": [  # RIB dumps alone: one instant's snapshot
        "data/rrc00/2025.06/bview.20250602.0000.gz",
        "data/route-views.linx/bgpdata/2025.06/RIBS/rib.20250602.0000.bz2",
        "--service",
        "data/service.toml",
        "--end",
        "2025-06-02T00:05:00Z",
    ],
    **{
        f"gen-{how}{dwell}": ["{tmp}/" + GENERATED, "--service", GEN_SERVICE, "--site-by", how, *extra]
        for how in STRATEGIES
        for dwell, extra in (("", []), (f"-dwell{GEN_DWELL_S}", ["--min-dwell", GEN_DWELL_S]))
    },
    "et-header": [
        f"{MRT}/ris.updates.et-header.2015.gz",
        "--collector",
        "rrc99",
        "--resync",
        "0",
        "--service",
        "tests/data/golden/et-header/service.toml",
    ],
    "ris-2016": [
        f"{MRT}/ris.updates.20160811.1600.gz",
        "--collector",
        "rrc00",
        "--service",
        "tests/data/golden/ris-2016/service.toml",
    ],
    "ris-2007": _real(
        "ris.updates.20070211.0141.gz",
        "rrc00",
        *("2001:500:6::/48", "2001:500:e::/48", "194.42.208.0/20", "200.189.160.0/24", "69.51.0.0/19"),
    ),
    "ris-rrc06": _real(
        "ris.rrc06.updates.1401488100.gz",
        "rrc06",
        *("177.54.145.0/24", "202.134.53.0/24", "41.200.0.0/15", "2800:130::/32"),
    ),
    "ris-long-withdrawal": _real(
        "ris.updates.long_withdrawal.gz",
        "rrc00",
        "2001:db8::/64",
        "2001:db8:0:ff::/64",
        "2001:db8:0:fff::/64",
        end="2019-12-31T11:45:00Z",
    ),
    "ris-nlri-trailing-bits": _real(
        "ris.updates.nlri_mask_trailing_bits.gz", "rrc00", "11.8.0.0/13", end="2010-11-07T22:30:00Z"
    ),
    "ris-bview-2002": _real(
        "ris.bview.20020722.2337.gz",
        "rrc00",
        "80.81.128.0/20",
        "213.202.64.0/18",
        "192.5.5.0/24",
        end="2002-07-22T23:40:00Z",
    ),
    "ris-bview-addpath-v4": _real(
        "ris.bview.ipv4_unicast_add_path.gz",
        "rrc00",
        "10.0.9.0/24",
        "10.0.31.0/24",
        end="2016-01-07T12:05:00Z",
    ),
    "ris-bview-addpath-v6": _real(
        "ris.bview.ipv6_unicast_add_path.gz",
        "rrc00",
        "2001:db8:9::/48",
        "2001:db8:31::/48",
        end="2016-01-07T12:30:00Z",
    ),
    "ris-bview-64k": _real(
        "ris.bview.64k_stream_overflow.gz", "rrc00", "2001:579:1040::/46", end="2018-09-19T08:05:00Z"
    ),
    "routeviews-2013": _real(
        "routeviews.updates.20131201.bz2",
        "route-views2",
        *("103.20.237.0/24", "109.161.64.0/20", "38.87.227.0/24", "103.243.220.0/22"),
    ),
    "repeated": ["{tmp}/" + REPEATED, "--prefix", "192.0.2.0/24", "--resync", "0"],
}
# other ways of running a case: (the case whose stored outputs they must give, the options added)
RERUNS: dict[str, tuple[str, list[str]]] = {
    "sample-jobs2": ("sample", ["--jobs", "2"]),
    "sample-dask": ("sample", ["--dask", "local:2"]),
    "gen-upstream-jobs2": ("gen-upstream", ["--jobs", "2"]),
    "gen-community-dwell-dask": (f"gen-community-dwell{GEN_DWELL_S}", ["--dask", "local:2"]),
}


def generated_scenario() -> Scenario:
    """Three sites (one with another origin AS, each with a community), a RIS collector with BGP4MP_ET and
    a RouteViews one with BGP4MP, every kind of happening, and one RIS update file missing."""
    sites = (
        Site("ams", 64497, 64496, community="64496:1"),
        Site("sin", 64498, 64496, prepend=1, community="64496:2"),
        Site("iad", 64499, 64505, community="64496:3"),
    )
    a, b, c = (
        ("rrc01", 64501, "198.51.100.1"),
        ("rrc01", 4_200_000_001, "198.51.100.2"),
        ("rrc01", 64502, "2001:db8:100::3"),
    )
    d, e, f = (
        ("route-views3", 65536, "203.0.113.4"),
        ("route-views3", 64503, "203.0.113.5"),
        ("route-views3", 64504, "203.0.113.6"),
    )
    vps = (
        Vp(*a, ("ams", "sin", "iad"), (65546,)),
        Vp(*b, ("sin", "iad"), (65547, 65548)),
        Vp(*c, ("sin", "ams")),
        Vp(*d, ("iad", "ams")),
        Vp(*e, ("sin",), (65549,)),
        Vp(*f, ("ams", "iad")),
    )
    script = (
        Transient(300, (a, d), 5.0, via="sin"),
        Transient(400, (f,), 3.0),
        Transient(700, (b, e), 40.0, via="iad"),
        SiteDown(900, "sin"),
        SessionReset(1000, a, 30.0),
        SiteUp(1500, "sin"),
        Prepend(2000, "ams", 3),
        MoreSpecific(2400, 2700, "192.0.2.0/25", 64510, 64511, (a, b, d)),
    )
    start = 1_748_822_400  # 2025-06-02 00:00 UTC
    return Scenario(
        start=start, duration_s=3600,
        targets=(TargetSpec("192.0.2.0/24", "192.0.2.53"), TargetSpec("2001:db8:53::/48", "2001:db8:53::53")),
        sites=sites,
        collectors=(Collector("rrc01"), Collector("route-views3", "routeviews", et=False)),
        vps=vps, script=script, noise_v4=40, noise_v6=10, noise_updates_per_vp=8,
        default_route_vps=(a, d), omit=(("rrc01", start + 1800),), seed=11,
    )  # fmt: skip


def write_inputs(tmp: Path) -> dict[str, str]:
    """Write the generated inputs into ``tmp``; the SHA-256 of each file, by path relative to ``tmp``."""
    write_archive(generated_scenario(), tmp / GENERATED)
    routes = tuple(Route(p, (64500, 64496), "198.51.100.1") for p in ("192.0.2.0/24", "192.0.2.128/25"))
    update = Update(1_700_000_000_000_000, 64500, "198.51.100.1", announce=routes)
    (tmp / REPEATED).parent.mkdir(parents=True, exist_ok=True)
    write_repeated_update(tmp / REPEATED, update, REPEATED_COUNT, et=True)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    return {str(p.relative_to(tmp)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    write_inputs(folder)
    return folder


def _args(case: str, tmp: Path, out: Path) -> list[str]:
    args = [a.replace("{tmp}", str(tmp)) for a in CASES[case]]
    return ["analyze", *args, "--jobs", "1", "--out", str(out), "--json"]


def _tmp_free(summary: dict, tmp: Path) -> dict:
    """The summary with the inputs folder written as ``{tmp}`` (the generated inputs' place is the test's)."""
    return json.loads(json.dumps(summary).replace(str(tmp), "{tmp}"))


def run_case(case: str, out: Path, tmp: Path, extra: list[str] = ()) -> dict:  # type: ignore[assignment]
    """Run one case from the repository root (so paths in the tables are relative); the JSON summary."""
    args = [*_args(case, tmp, out), *extra]
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return _tmp_free(json.loads(result.stdout), tmp)


def run_process(case: str, out: Path, tmp: Path, extra: list[str]) -> dict:
    """Run one case as a real ``anystab`` process from the repository root; the JSON summary."""
    main = "import sys; from anystab.cli.main import main; sys.argv[0] = 'anystab'; main()"
    args = [sys.executable, "-c", main, *_args(case, tmp, out), *extra]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return _tmp_free(json.loads(done.stdout), tmp)


def _relative(table, tmp: Path):  # type: ignore[no-untyped-def]
    """A table's rows with the inputs folder written as ``{tmp}``."""
    rows = table.to_pylist()
    for row in rows:
        for key in ("path", "source"):
            if isinstance(row.get(key), str):
                row[key] = row[key].replace(str(tmp), "{tmp}")
    return rows


def assert_same_as_stored(golden: str, summary: dict, out: Path, tmp: Path) -> None:
    stored = json.loads((GOLDEN / golden / "summary.json").read_text())
    for key, value in stored.items():  # keys added later (new summary parts) do not count
        assert summary[key] == value, key
    for name in schemas.TABLES:
        new = pq.read_table(out / f"{name}.parquet")
        old = pq.read_table(GOLDEN / golden / f"{name}.parquet")
        assert new.schema.equals(old.schema), name
        assert _relative(new, tmp) == _relative(old, Path("{tmp}")), name


def test_generated_inputs_are_the_stored_ones(tmp_path: Path) -> None:
    """The generator writes the same bytes as when the outputs were stored (else regenerate deliberately)."""
    stored = json.loads((GOLDEN / "inputs.sha256.json").read_text())
    assert write_inputs(tmp_path) == stored


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_tables_and_summary(case: str, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_same_as_stored(case, run_case(case, out, inputs), out, inputs)


@pytest.mark.parametrize("rerun", sorted(RERUNS))
def test_parallel_runs_give_the_one_job_outputs(rerun: str, inputs: Path, tmp_path: Path) -> None:
    case, extra = RERUNS[rerun]
    out = tmp_path / "out"
    run = run_process if "--dask" in extra else run_case
    assert_same_as_stored(case, run(case, out, inputs, extra), out, inputs)


def write_golden(every: bool) -> None:
    """Store the current code's outputs of the cases without any (``every``: of every case), and the
    generated inputs' SHA-256."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hashes = write_inputs(tmp)
        (GOLDEN / "inputs.sha256.json").write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        for case in CASES:
            if (GOLDEN / case / "summary.json").exists() and not every:
                continue
            out = tmp / "out"
            summary = run_case(case, out, tmp)
            dest = GOLDEN / case
            dest.mkdir(parents=True, exist_ok=True)
            for name in schemas.TABLES:
                table = pq.read_table(out / f"{name}.parquet")
                rows = _relative(table, tmp)
                pq.write_table(type(table).from_pylist(rows, schema=table.schema), dest / f"{name}.parquet")
            (dest / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            shutil.rmtree(out)
            print(f"wrote {dest.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    write_golden("--all" in sys.argv[1:])
