"""`anystab history` over a stored dataset, and before any monitoring run."""

import json

from click.testing import CliRunner
from support.monitor import full_archive as full_archive
from support.monitor import run_cli, write_config

from anystab.cli.main import cli
from anystab.monitor.dataset import read_dataset


def test_history_summarises_the_dataset(tmp_path, full_archive):
    config = write_config(tmp_path, full_archive[0])
    assert run_cli("monitor", "--config", str(config)).returncode in (0, 1, 2)
    result = CliRunner().invoke(cli, ["history", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    events = read_dataset(tmp_path / "dataset", "events")
    assert sum(r["switches"] for r in summary["switches_per_day"]) == int((events["kind"] == "switch").sum())
    assert {r["day"] for r in summary["switches_per_day"]} == {"2025-06-01", "2025-06-02"}
    assert summary["services"] == ["dns"] and summary["worst_vps"]
    worst = summary["worst_vps"]
    assert [w["breaks"] for w in worst] == sorted((w["breaks"] for w in worst), reverse=True)
    assert all(0 <= r["mean_p"] <= r["max_p"] <= 1 for r in summary["p_break"])

    later = CliRunner().invoke(
        cli, ["history", "--config", str(config), "--json", "--since", "2025-06-02T00:00:00Z"]
    )
    days = {r["day"] for r in json.loads(later.output)["switches_per_day"]}
    assert days == {"2025-06-02"}
    text = CliRunner().invoke(cli, ["history", "--config", str(config)])
    assert text.exit_code == 0 and "Worst VPs" in text.output
    assert "mean P(break)" in text.output and " 10m " in text.output and "600.0" not in text.output
    other = CliRunner().invoke(cli, ["history", "--config", str(config), "--service", "nope"])
    assert other.exit_code == 2 and "no service" in other.output


def test_history_before_any_monitor_run_is_one_line(tmp_path):
    config = tmp_path / "m.toml"
    assert CliRunner().invoke(cli, ["init", str(config)]).exit_code == 0
    r = CliRunner().invoke(cli, ["history", "--config", str(config)])
    assert r.exit_code == 0
    assert (
        r.stdout == f"history of {tmp_path / 'dataset'}: no monitoring results (run anystab monitor first)\n"
    )
