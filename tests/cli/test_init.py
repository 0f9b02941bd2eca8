"""``anystab init``: the example config it writes loads, and is never overwritten silently."""

from click.testing import CliRunner

from anystab.cli.main import cli
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
