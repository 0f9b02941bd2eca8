"""``anystab sample`` writes exactly the committed sample, and every site strategy works on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anystab.cli.main import cli

DATA = Path(__file__).resolve().parents[2] / "data"
SERVICE = str(DATA / "service.toml")


def test_sample_command_regenerates_the_committed_data(tmp_path):
    r = CliRunner().invoke(cli, ["sample", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    written = sorted(p.relative_to(tmp_path / "s") for p in (tmp_path / "s").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(DATA) for p in DATA.rglob("*") if p.is_file())
    assert written == committed
    for rel in written:
        assert (tmp_path / "s" / rel).read_bytes() == (DATA / rel).read_bytes(), rel


def _sites(*args: str) -> set[str]:
    r = CliRunner().invoke(cli, ["analyze", str(DATA), "--service", SERVICE, "--json", "--jobs", "1", *args])
    assert r.exit_code == 0, r.output
    return {s["site"] for s in json.loads(r.stdout)["sites"] if s["scope"] == "all"}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("upstream", {"ams", "sin", "iad", "gru", "64510 64511"}),
        ("community", {"ams", "sin", "iad", "gru", "64510 64511"}),
        ("origin", {"64496", "64511"}),
    ],
)
def test_site_strategies(strategy, expected):
    assert _sites("--site-by", strategy) == expected


def test_path_and_nexthop_strategies_see_more_sites():
    upstream = _sites()
    assert len(_sites("--site-by", "path")) > len(upstream)
    assert all(s.count(".") == 3 or ":" in s for s in _sites("--site-by", "nexthop"))


def test_site_map_file_overrides_the_service_names(tmp_path):
    site_map = tmp_path / "map.toml"
    site_map.write_text('[sites]\n"64497 64496" = "Amsterdam"\n"64510 64511" = "hijack?"\n')
    sites = _sites("--site-map", str(site_map))
    assert {"Amsterdam", "hijack?", "sin"} <= sites and "ams" not in sites
