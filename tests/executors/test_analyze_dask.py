"""``anystab analyze --dask``: the same parquet tables as a local run, through click and as a real
subprocess starting its own LocalCluster; URL sources; usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
from click.testing import CliRunner
from support.executors import SAMPLE

from anystab import schemas
from anystab.cli.main import cli

SERVICE = str(SAMPLE / "service.toml")


def _tables(folder) -> dict[str, list[dict]]:
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted(folder.glob("*.parquet"))}


def _analyze(*args: str) -> object:
    return CliRunner().invoke(cli, ["analyze", *args, "--service", SERVICE, "--json"])


def test_dask_address_gives_the_local_tables(dask_address, tmp_path):
    local = _analyze(str(SAMPLE), "--out", str(tmp_path / "local"))
    dask = _analyze(str(SAMPLE), "--dask", dask_address, "--out", str(tmp_path / "dask"))
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    assert json.loads(local.stdout) == json.loads(dask.stdout)
    tables = _tables(tmp_path / "local")
    assert set(tables) == set(schemas.TABLES) and tables["events"]
    assert tables == _tables(tmp_path / "dask")


def test_dask_local_n_as_a_real_command(tmp_path):
    base = [sys.executable, "-c", _MAIN]  # what the console script runs
    args = ["analyze", str(SAMPLE), "--service", SERVICE, "--json", "--out"]
    local = subprocess.run([*base, *args, str(tmp_path / "local")], capture_output=True, text=True)
    dask = subprocess.run(
        [*base, *args, str(tmp_path / "dask"), "--dask", "local:2"], capture_output=True, text=True
    )
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr
    assert json.loads(local.stdout) == json.loads(dask.stdout)
    assert _tables(tmp_path / "local") == _tables(tmp_path / "dask")


_MAIN = "import sys; from anystab.cli.main import main; sys.argv[0] = 'anystab'; main()"


def test_a_url_source_on_dask(http_folder, dask_address, tmp_path):
    base = http_folder(SAMPLE)
    result = _analyze(base, "--dask", dask_address, "--out", str(tmp_path / "url"))
    local = _analyze(str(SAMPLE), "--out", str(tmp_path / "local"))
    assert result.exit_code == 0 and local.exit_code == 0, result.output
    url_tables, local_tables = _tables(tmp_path / "url"), _tables(tmp_path / "local")
    for name in ("timeline", "events", "vp_stats", "estimates", "site_share", "collector_stats", "moas"):
        assert url_tables[name] == local_tables[name], name
    assert [r["path"].replace(base, str(SAMPLE) + "/") for r in url_tables["files"]] == [
        r["path"] for r in local_tables["files"]
    ]


def test_bad_dask_value_is_a_usage_error():
    result = _analyze(str(SAMPLE), "--dask", "scheduler:8786")
    assert result.exit_code == 2
    assert "--dask" in result.output and "tcp://scheduler:8786" in result.output


def test_dask_with_another_reader_is_a_usage_error():
    result = _analyze(str(SAMPLE), "--dask", "local:2", "--source", "bgpstream")
    assert result.exit_code == 2 and "leave out --source" in result.output


def test_a_missing_local_source_is_still_refused():
    result = _analyze(str(SAMPLE / "nothing-here"), "--dask", "local:2")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_url_source_without_dask_reads_on_local_processes(http_folder, tmp_path):
    base = http_folder(SAMPLE)
    result = _analyze(base + "route-views.linx/", "--out", str(tmp_path / "url"), "--jobs", "2")
    assert result.exit_code == 0, result.output
    files = _tables(tmp_path / "url")["files"]
    assert len(files) == 6 and all(r["path"].startswith(base + "route-views.linx/") for r in files)
    assert json.loads(result.stdout)["read"]["files"] == 6
