"""``anystab monitor`` as a monitoring system runs it: exit statuses of the Nagios convention."""

import json

from click.testing import CliRunner

from anystab.cli.main import cli
from anystab.monitor import EXAMPLE_CONFIG


def test_bad_config_exits_3_not_2(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("state_dir = 1\n")
    result = CliRunner().invoke(cli, ["monitor", "--config", str(path)])
    assert result.exit_code == 3 and "UNKNOWN" in result.output
    assert CliRunner().invoke(cli, ["monitor"]).exit_code == 3  # usage errors too: 2 would mean critical
    assert json.loads(json.dumps(EXAMPLE_CONFIG))  # the example is plain text
