"""The config file: the example `anystab init` writes loads; mistakes are reported, not ignored."""

import json

import pytest
from click.testing import CliRunner
from support.monitor import write_config

from anystab.cli.main import cli
from anystab.errors import ConfigError
from anystab.monitor import EXAMPLE_CONFIG, load_config


def test_init_writes_the_example_which_loads(tmp_path):
    path = tmp_path / "m.toml"
    result = CliRunner().invoke(cli, ["init", str(path)])
    assert result.exit_code == 0 and path.read_text() == EXAMPLE_CONFIG
    config = load_config(path)
    assert config.state_dir == tmp_path / "state" and config.archives == (tmp_path / "archive",)
    assert config.alerts.p_break.critical == 0.05 and config.alerts.unrouted.warning == 600
    assert config.alerts.switches_per_s == 3600 and config.alerts.site_loss == "critical"
    assert config.services[0].site_map.name("64497 64496") == "ams"
    assert CliRunner().invoke(cli, ["init", str(path)]).exit_code == 1  # never overwrites silently


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("colour = 1", "unknown keys colour"),
        ('sessions = ["0s", 5]', "session lengths must be positive"),
        ('min_dwell = "soon"', "not a duration"),
        ("[alerts.switches]\nwarning = 5\ncritical = 2", "warning is above critical"),
        ('[alerts.unrouted]\nwarnin = "1m"', "unknown keys warnin"),
        ('[notify]\nwebhook = "ftp://x"', "http:// or https://"),
    ],
)
def test_mistakes_are_errors(tmp_path, extra, message):
    table_first = extra.startswith("[")
    path = write_config(
        tmp_path, tmp_path, alerts=extra if table_first else "", extra="" if table_first else extra
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_service_from_a_service_file(tmp_path):
    (tmp_path / "svc.toml").write_text(
        'name = "x"\nsite_by = "origin"\n[[targets]]\nprefix = "192.0.2.0/24"\n'
    )
    path = tmp_path / "m.toml"
    path.write_text('state_dir = "s"\noutput_dir = "o"\n[sources]\narchives = ["a"]\n'
                    '[[services]]\nname = "renamed"\nfile = "svc.toml"\n')  # fmt: skip
    service = load_config(path).services[0]
    assert service.name == "renamed" and service.site_by == "origin"


def test_bad_config_exits_3_not_2(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("state_dir = 1\n")
    result = CliRunner().invoke(cli, ["monitor", "--config", str(path)])
    assert result.exit_code == 3 and "UNKNOWN" in result.output
    assert CliRunner().invoke(cli, ["monitor"]).exit_code == 3  # usage errors too: 2 would mean critical
    assert json.loads(json.dumps(EXAMPLE_CONFIG))  # the example is plain text
