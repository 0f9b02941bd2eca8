import ipaddress

import pytest

from anystab.errors import ConfigError, OptionError
from anystab.monitor import load_config
from anystab.params import DEFAULT_RESYNC_S, DEFAULT_SESSIONS_S
from anystab.service import load_service, load_site_map, resolve_params


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_service_file(tmp_path):
    p = write(
        tmp_path,
        """
name = "dns"
site_by = "origin"
min_dwell = 30
[[targets]]
prefix = "198.51.100.0/24"
address = "198.51.100.53"
[[targets]]
prefix = "2001:db8:53::/48"
[sites]
"64500 64496" = "ams"
[communities]
"64496:1" = "ams"
""",
    )
    s = load_service(p)
    assert s.name == "dns" and s.site_by == "origin" and s.min_dwell_s == 30.0
    assert [str(t.address) for t in s.targets] == ["198.51.100.53", "2001:db8:53::"]
    assert s.site_map.name("64500 64496") == "ams" and s.site_map.name("1 2") == "1 2"
    assert s.site_map.communities == {"64496:1": "ams"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'", "at least one"),
        ("[[targets]]\nprefix = '10.0.0.1/8'", "not a valid IP prefix"),
        ("[[targets]]\nprefix = '10.0.0.0/8'\naddress='11.0.0.1'", "not inside"),
        ("[[targets]]\nprefix = '10.0.0.0/8'\nsite_by = 'x'", "unknown|site_by"),
        ("site_by = 'best'\n[[targets]]\nprefix = '10.0.0.0/8'", "site_by must be"),
        ("colour = 1\n[[targets]]\nprefix = '10.0.0.0/8'", "unknown keys"),
        ("[[targets]\n", "not valid TOML"),
        ("min_dwell = -1\n[[targets]]\nprefix = '10.0.0.0/8'", "min_dwell"),
        ("min_dwell = 'soon'\n[[targets]]\nprefix = '10.0.0.0/8'", "min_dwell: not a duration"),
        ("min_dwell = true\n[[targets]]\nprefix = '10.0.0.0/8'", "min_dwell: not a duration"),
        ("[[targets]]\nprefix = '10.0.0.0/8'\naddress = 1", "address and name must be text"),
        ("[sites]\n'a' = 1\n[[targets]]\nprefix = '10.0.0.0/8'", r"\[sites\]"),
    ],
)
def test_bad_service_files(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_service(write(tmp_path, text))


def test_service_file_in_toml_1_1(tmp_path):
    """TOML 1.1, as docs/cli.md says: targets as inline tables over several lines, a trailing comma."""
    p = write(
        tmp_path,
        """
name = "dns"
targets = [
  {
    prefix = "198.51.100.0/24",
    address = "198.51.100.53",
  },
]
""",
    )
    assert [str(t.address) for t in load_service(p).targets] == ["198.51.100.53"]


def test_site_map(tmp_path):
    m = load_site_map(write(tmp_path, "[sites]\n'1 2' = 'x'\n[communities]\n'2:1' = 'x'\n"))
    assert m.names == {"1 2": "x"} and m.communities == {"2:1": "x"}
    with pytest.raises(ConfigError, match="unknown keys"):
        load_site_map(write(tmp_path, "[targets]\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_site_map(tmp_path / "missing.toml")


SERVICE = """
name = "dns"
site_by = "origin"
min_dwell = "30s"
[[targets]]
prefix = "198.51.100.0/24"
address = "198.51.100.53"
[sites]
"64500" = "ams"
"64501" = "sin"
[communities]
"64496:1" = "ams"
"""


def test_service_file_min_dwell_takes_a_duration_as_the_monitor_config_does(tmp_path):
    assert load_service(write(tmp_path, SERVICE)).min_dwell_s == 30.0


def test_resolution_options_over_service_over_defaults(tmp_path):
    service = load_service(write(tmp_path, SERVICE))
    site_map = load_site_map(write(tmp_path, "[sites]\n'64501' = 'singapore'\n'64502' = 'iad'\n", "m.toml"))
    plain = resolve_params(service)
    assert (plain.site_by, plain.min_dwell_s) == ("origin", 30.0)
    assert (plain.sessions_s, plain.resync_s) == (DEFAULT_SESSIONS_S, DEFAULT_RESYNC_S)
    chosen = resolve_params(
        service,
        site_map=site_map,
        prefixes=[ipaddress.ip_network("192.0.2.0/24")],
        site_by="upstream",
        min_dwell_s=0.0,
        sessions_s=[10.0],
        resync_s=0.0,
        default_min_dwell_s=99.0,
    )
    assert [t.text for t in chosen.targets] == ["198.51.100.0/24", "192.0.2.0/24"]
    assert (chosen.site_by, chosen.min_dwell_s, chosen.sessions_s, chosen.resync_s) == (
        "upstream",
        0,
        (10.0,),
        0,
    )
    assert chosen.site_map.names == {"64500": "ams", "64501": "singapore", "64502": "iad"}
    assert chosen.site_map.communities == {"64496:1": "ams"}
    no_dwell = load_service(write(tmp_path, SERVICE.replace('min_dwell = "30s"', "")))
    assert no_dwell.min_dwell_s is None and resolve_params(no_dwell).min_dwell_s == 0.0
    assert resolve_params(no_dwell, default_min_dwell_s=5).min_dwell_s == 5.0


def test_addresses_go_to_the_longest_prefix_holding_them():
    wide, narrow = ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("10.1.0.0/16")
    params = resolve_params(prefixes=[wide, narrow], addresses=[ipaddress.ip_address("10.1.2.3")])
    assert [(t.text, str(t.address)) for t in params.targets] == [
        ("10.0.0.0/8", "10.0.0.0"),
        ("10.1.0.0/16", "10.1.2.3"),
    ]
    with pytest.raises(OptionError, match="inside no --prefix") as caught:
        resolve_params(prefixes=[narrow], addresses=[ipaddress.ip_address("10.2.0.1")])
    assert caught.value.option == "--address"
    with pytest.raises(OptionError, match="at least one target") as caught:
        resolve_params()
    assert caught.value.option is None
    with pytest.raises(ConfigError, match="communities"):
        resolve_params(prefixes=[wide], site_by="community")  # validated


def test_the_monitor_resolves_a_service_as_the_command_line_does(tmp_path):
    write(tmp_path, SERVICE)
    config = tmp_path / "m.toml"
    head = 'state_dir = "s"\noutput_dir = "o"\nmin_dwell = "1m"\nresync = 60\n[sources]\narchives = ["a"]\n'
    config.write_text(head + '[[services]]\nfile = "s.toml"\n')
    loaded = load_config(config)
    from_file = loaded.params(loaded.services[0])
    expected = resolve_params(load_service(tmp_path / "s.toml"), resync_s=60, default_min_dwell_s=60)
    assert from_file == expected and from_file.min_dwell_s == 30.0
    config.write_text(head + '[[services]]\nfile = "s.toml"\nsite_by = "upstream"\nmin_dwell = "2m"\n')
    loaded = load_config(config)
    overridden = loaded.params(loaded.services[0])
    assert (overridden.site_by, overridden.min_dwell_s) == ("upstream", 120.0)
    config.write_text(head + '[[services]]\nfile = "s.toml"\ntargets = [{ prefix = "192.0.2.0/24" }]\n')
    with pytest.raises(ConfigError, match="targets come from the service file"):
        load_config(config)
    inline = head + '[[services]]\nname = "x"\ntargets = [{ prefix = "192.0.2.0/24", address = 5 }]\n'
    config.write_text(inline)
    with pytest.raises(ConfigError, match="address and name must be text"):
        load_config(config)
