"""``anystab lab check`` and ``anystab lab run`` as users run them: on the committed lab run (no root, no
daemons needed), on a changed truth, and on folders they must refuse."""

import json

from click.testing import CliRunner
from support.lab import COLLECTORS
from support.lab import lab_copy as lab_copy
from support.lab import lab_data as lab_data

from anystab.cli.main import cli


def test_cli_check_passes_on_the_committed_run(lab_data):
    result = CliRunner().invoke(cli, ["lab", "check", str(lab_data)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == 3
    assert "MISMATCH" not in result.output


def test_cli_check_json(lab_data):
    result = CliRunner().invoke(cli, ["lab", "check", str(lab_data), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] is True and doc["scenario"] == "all"
    assert {c["collector"]: c["ok"] for c in doc["collectors"]} == dict.fromkeys(COLLECTORS, True)


def test_cli_check_exits_1_on_a_mismatch(lab_copy):
    truth = json.loads((lab_copy / "truth.json").read_text())
    truth["events"] = [e for e in truth["events"] if e["step"] != "site-a-withdraws"]
    (lab_copy / "truth.json").write_text(json.dumps(truth))
    result = CliRunner().invoke(cli, ["lab", "check", str(lab_copy)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output
    assert "does not match the lab's truth" in result.output


def test_cli_check_refuses_a_folder_without_truth(tmp_path):
    result = CliRunner().invoke(cli, ["lab", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a lab truth file" in result.output


def test_cli_run_refuses_a_used_folder(lab_copy):
    result = CliRunner().invoke(cli, ["lab", "run", str(lab_copy)])
    assert result.exit_code == 1
    assert "already holds a lab run" in result.output


def test_cli_run_refuses_an_unknown_scenario(tmp_path):
    result = CliRunner().invoke(cli, ["lab", "run", str(tmp_path / "x"), "--scenario", "nope"])
    assert result.exit_code == 2
