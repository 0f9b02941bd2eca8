import pytest

from anystab.errors import ConfigError
from anystab.service import load_service, load_site_map


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
        ("[sites]\n'a' = 1\n[[targets]]\nprefix = '10.0.0.0/8'", r"\[sites\]"),
    ],
)
def test_bad_service_files(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_service(write(tmp_path, text))


def test_site_map(tmp_path):
    m = load_site_map(write(tmp_path, "[sites]\n'1 2' = 'x'\n[communities]\n'2:1' = 'x'\n"))
    assert m.names == {"1 2": "x"} and m.communities == {"2:1": "x"}
    with pytest.raises(ConfigError, match="unknown keys"):
        load_site_map(write(tmp_path, "[targets]\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_site_map(tmp_path / "missing.toml")
