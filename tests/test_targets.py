import pytest

from anystab.errors import ConfigError
from anystab.targets import make_target, prefix_key, target_set


@pytest.fixture
def google():
    return target_set([make_target("8.8.8.0/24"), make_target("2001:500:6::/48")])


@pytest.mark.parametrize(
    ("prefix", "exact", "more", "less", "any_"),
    [
        ("8.8.8.0/24", True, True, True, True),
        ("8.8.0.0/16", False, False, True, True),
        ("8.0.0.0/8", False, False, True, True),
        ("8.0.0.0/7", False, False, False, False),  # shorter than min_cover /8
        ("0.0.0.0/0", False, False, False, False),
        ("8.8.8.128/25", False, True, False, True),
        ("8.8.8.8/32", False, True, False, True),
        ("8.8.9.0/24", False, False, False, False),
        ("2001:500:6::/48", True, True, True, True),
        ("2001:500::/30", False, False, True, True),
        ("2001::/16", False, False, True, True),
        ("2000::/3", False, False, False, False),
        ("2001:500:6:1::/64", False, True, False, True),
        ("2001:500:7::/48", False, False, False, False),
    ],
)
def test_filter_modes(google, prefix, exact, more, less, any_):
    assert google.with_mode("exact").matches(prefix) is exact
    assert google.with_mode("more").matches(prefix) is more
    assert google.with_mode("less").matches(prefix) is less
    assert google.matches(prefix) is any_


def test_trailing_bits_are_masked():
    assert prefix_key("11.13.0.0/13") == prefix_key("11.8.0.0/13")
    ts = target_set([make_target("11.8.0.0/13")], "exact")
    assert ts.matches("11.13.0.0/13")


def test_garbage_prefix_does_not_match(google):
    assert not google.matches("not-a-prefix")
    assert not google.matches("8.8.8.0/33")


def test_address_must_be_inside_prefix():
    assert str(make_target("192.5.5.0/24", "192.5.5.241").address) == "192.5.5.241"
    with pytest.raises(ConfigError, match="not inside"):
        make_target("192.5.5.0/24", "192.5.6.1")
    with pytest.raises(ConfigError, match="not a valid IP prefix"):
        make_target("192.5.5.1/24")


def test_unknown_mode():
    with pytest.raises(ConfigError, match="unknown filter mode"):
        target_set([make_target("8.8.8.0/24")], "most")  # type: ignore[arg-type]


def test_duplicates_removed():
    assert len(target_set([make_target("8.8.8.0/24"), make_target("8.8.8.0/24")])) == 1
