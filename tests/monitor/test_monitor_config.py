"""The config file: mistakes are reported, not ignored; a service from a service file."""

import pytest
from support.monitor import write_config

from anystab.errors import ConfigError
from anystab.monitor import load_config


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
