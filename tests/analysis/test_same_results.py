"""Every table and the JSON summary of ``anystab analyze`` equal stored outputs of an earlier version.

The stored outputs (``tests/data/golden/<case>/``) were written by the code before the many-targets and
many-elements speed work; faster code must give the same rows, in the same order, and the same summary.
Cases: the repository's generated sample archive (two site strategies, and its RIB dumps alone), real
RIS update files with many targets (the et-header file with 159 of its prefixes, /10 and /11 among them;
a 2016 file with 100, IPv6 among them), and a generated file whose every record matches. ``min_dwell`` is
0 throughout. The stored outputs were written by the code of the main line this work was merged with.

Rewrite the stored outputs (only when a change of results is intended): ``python
tests/analysis/test_same_results.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from anystab import schemas
from anystab.cli.main import cli
from anystab.generate.mrtwrite import Route, Update, write_repeated_update

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
MRT = "tests/data/mrt"
REPEATED = "rrc99/2023.11/updates.20231114.2210.gz"  # the slot holding its time
REPEATED_COUNT = 3_000
CASES: dict[str, list[str]] = {
    "sample": ["data", "--service", "data/service.toml"],
    "sample-path": ["data", "--service", "data/service.toml", "--site-by", "path", "--sessions", "1m,1h"],
    "sample-rib": [  # RIB dumps alone: one instant's snapshot
        "data/rrc00/2025.06/bview.20250602.0000.gz",
        "data/route-views.linx/bgpdata/2025.06/RIBS/rib.20250602.0000.bz2",
        "--service",
        "data/service.toml",
        "--end",
        "2025-06-02T00:05:00Z",
    ],
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
    "repeated": ["{tmp}/" + REPEATED, "--prefix", "192.0.2.0/24", "--resync", "0"],
}


def repeated_file(path: Path, count: int = REPEATED_COUNT) -> None:
    """One UPDATE announcing the target and a more-specific, written ``count`` times (same time)."""
    routes = tuple(Route(p, (64500, 64496), "198.51.100.1") for p in ("192.0.2.0/24", "192.0.2.128/25"))
    update = Update(1_700_000_000_000_000, 64500, "198.51.100.1", announce=routes)
    write_repeated_update(path, update, count, et=True)


def run_case(case: str, out: Path, tmp: Path) -> dict:
    """Run one case from the repository root (so paths in the tables are relative); the JSON summary."""
    args = [a.replace("{tmp}", str(tmp)) for a in CASES[case]]
    if case == "repeated":
        (tmp / REPEATED).parent.mkdir(parents=True, exist_ok=True)
        repeated_file(tmp / REPEATED)
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, ["analyze", *args, "--jobs", "1", "--out", str(out), "--json"])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    if case == "repeated":  # the generated file's place is the test's own
        summary = json.loads(json.dumps(summary).replace(str(tmp), "{tmp}"))
    return summary


def _relative(table, tmp: Path):  # type: ignore[no-untyped-def]
    """A table with the temporary folder of the generated case written as ``{tmp}``."""
    rows = table.to_pylist()
    for row in rows:
        for key in ("path", "source"):
            if isinstance(row.get(key), str):
                row[key] = row[key].replace(str(tmp), "{tmp}")
    return rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_tables_and_summary(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_case(case, out, tmp_path)
    golden = json.loads((GOLDEN / case / "summary.json").read_text())
    for key, value in golden.items():  # keys added later (new summary parts) do not count
        assert summary[key] == value, key
    for name in schemas.TABLES:
        new = pq.read_table(out / f"{name}.parquet")
        old = pq.read_table(GOLDEN / case / f"{name}.parquet")
        assert new.schema.equals(old.schema), name
        assert _relative(new, tmp_path) == _relative(old, Path("{tmp}")), name


def write_golden() -> None:
    """Store the current code's outputs of every case."""
    import shutil
    import tempfile

    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            summary = run_case(case, out, Path(tmp))
            dest = GOLDEN / case
            dest.mkdir(parents=True, exist_ok=True)
            for name in schemas.TABLES:
                table = pq.read_table(out / f"{name}.parquet")
                rows = _relative(table, Path(tmp))
                pq.write_table(type(table).from_pylist(rows, schema=table.schema), dest / f"{name}.parquet")
            (dest / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
            shutil.rmtree(out)
        print(f"wrote {dest.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    write_golden()
