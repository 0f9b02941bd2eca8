from collections.abc import Callable

import pytest

from anystab.errors import ConfigError
from anystab.targets import make_target, parse_prefix, prefix_key, prefix_key_and_text, target_set


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


def _key_by_ipaddress(text: str) -> tuple[int, int, int] | None:
    """What ``prefix_key`` gives, read by ``ipaddress`` alone (None: not a prefix)."""
    import ipaddress

    addr_text, _, len_text = text.partition("/")
    try:
        addr = ipaddress.ip_address(addr_text)
        bits = addr.max_prefixlen
        length = int(len_text) if len_text else bits
    except ValueError:
        return None
    if not 0 <= length <= bits:
        return None
    return addr.version, int(addr) >> (bits - length) << (bits - length) if length else 0, length


PREFIX_TEXTS = [
    "1.2.3.4/24",
    "01.2.3.4/24",
    "1.2.3.4/33",
    "1.2.3/24",
    "1.2.3.4/ 24",
    "1.2.3.4/+24",
    "1.2.3.4\x00/24",
    "1.2.3.4/0",
    "255.255.255.255/32",
    "1.2.3.4/\u0662",
    "1.2.3.4",
    "1.2.3.4/",
    "256.1.1.1/8",
    "1.2.3.4 /8",
    " 1.2.3.4/8",
    "1.2.3.4/08",
    "0x1.2.3.4/8",
    "1.2.3.4/-1",
    "\u0661.2.3.4/8",
    "::/0",
    "::1.2.3.4/24",
    "2001:db8::/32",
    "2001:db8::/129",
    "1.2.3.4/32/1",
    "",
]


@pytest.mark.parametrize("text", PREFIX_TEXTS)
def test_prefix_key_reads_every_text_as_ipaddress_does(text: str) -> None:
    """The fast reading of IPv4 text (``inet_pton``) gives what ``ipaddress`` gives, and refuses what it
    refuses."""
    try:
        got = prefix_key(text)
    except ValueError:
        got = None
    assert got == _key_by_ipaddress(text)


def _read_or_none(read: Callable[[str], object], text: str) -> object:
    """What ``read`` gives for ``text``; None where it refuses it (ValueError)."""
    try:
        return read(text)
    except ValueError:
        return None


def _key_and_text_by_ipaddress(text: str) -> tuple[tuple[int, int, int], str] | None:
    """What ``prefix_key_and_text`` gives: ``_key_by_ipaddress`` and ``ipaddress``'s text of the network."""
    import ipaddress

    key = _key_by_ipaddress(text)
    if key is None:
        return None
    version, net, length = key
    return key, f"{ipaddress.IPv4Address(net) if version == 4 else ipaddress.IPv6Address(net)}/{length}"


def test_prefix_key_and_text_of_random_text_is_ipaddress_reading() -> None:
    """Text given back as it is (canonical IPv4) or written again is the network's text as ``ipaddress``
    writes it: host bits, leading zeros and signs in the length, IPv6 in upper case."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    part = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "", " 1", "\u0661"]))
    v4 = st.builds(
        lambda parts, length: ".".join(parts) + length,
        st.lists(part, min_size=4, max_size=4),
        st.one_of(
            st.integers(-1, 34).map(lambda n: f"/{n}"), st.sampled_from(["", "/00", "/024", "/+8", "/ 8"])
        ),
    )
    v6 = st.builds(
        lambda net, length, upper: f"{net.upper() if upper else net}/{length}",
        st.ip_addresses(v=6).map(str),
        st.integers(0, 129),
        st.booleans(),
    )

    @settings(max_examples=500, deadline=None)
    @given(st.one_of(v4, v6, st.sampled_from(PREFIX_TEXTS)))
    @example("1.2.3.0/24")
    @example("1.2.3.4/24")
    @example("1.2.3.0/024")
    @example("0.0.0.0/0")
    def check(t: str) -> None:
        assert _read_or_none(prefix_key_and_text, t) == _key_and_text_by_ipaddress(t)

    check()


def _network_by_ipaddress(text: str) -> object:
    import ipaddress

    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text", ["1.2.3.0/24", "1.2.3.4/24", "1.2.3.4/32", "0.0.0.0/0", "1.0.0.0/0", " 9.9.9.0/24 "]
)
def test_parse_prefix_reads_every_text_as_ipaddress_does(text: str) -> None:
    """The fast reading of IPv4 prefixes gives what ``ipaddress.ip_network(strict=True)`` gives and
    refuses what it refuses (then with ``ipaddress``'s reason)."""
    for sample in (text, *PREFIX_TEXTS):
        try:
            got: object = parse_prefix(sample)
        except ConfigError:
            got = None
        expected = _network_by_ipaddress(sample)
        assert got == expected and type(got) is type(expected), sample


def test_parse_prefix_of_random_ipv4_text_is_ipaddress_reading() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    parts = st.one_of(
        st.integers(0, 300).map(str), st.sampled_from(["", "00", "01", "-1", "0x1", " 1", "\u0661"])
    )
    texts = st.builds(
        lambda a, b, c, d, n: f"{a}.{b}.{c}.{d}/{n}",
        parts,
        parts,
        parts,
        parts,
        st.one_of(parts, st.just("24")),
    )

    @settings(max_examples=400, deadline=None)
    @given(st.one_of(texts, st.text(max_size=24)))
    def check(text: str) -> None:
        try:
            got: object = parse_prefix(text)
        except ConfigError:
            got = None
        assert got == _network_by_ipaddress(text)

    check()


def test_prefix_key_of_random_ipv4_text_is_ipaddress_reading() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    part = st.one_of(
        st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "", " 1", "a", "\u0661"])
    )
    text = st.builds(
        lambda parts, length: ".".join(parts) + length,
        st.lists(part, min_size=3, max_size=5),
        st.one_of(
            st.integers(-1, 40).map(lambda n: f"/{n}"), st.sampled_from(["", "/", "/ 8", "/8 ", "/+8"])
        ),
    )

    @settings(max_examples=500, deadline=None)
    @given(text)
    def check(t: str) -> None:
        assert _read_or_none(prefix_key, t) == _key_by_ipaddress(t)

    check()


@pytest.mark.parametrize(("min_v4", "min_v6"), [(8, 16), (0, 0), (24, 48)])
def test_cover_keys_are_every_supernet_down_to_the_shortest_cover(min_v4: int, min_v6: int) -> None:
    import ipaddress

    from anystab.targets import TargetSet

    given = ["8.8.8.0/24", "8.8.8.0/24", "1.0.0.0/8", "9.9.9.9/32", "2001:500:6::/48", "2001:db8::/32"]
    ts = TargetSet(tuple(make_target(p) for p in given), "any", min_v4, min_v6)
    expected = set()
    for p in given:
        net = ipaddress.ip_network(p)
        for length in range(min_v4 if net.version == 4 else min_v6, net.prefixlen + 1):
            sup = net.supernet(new_prefix=length)
            expected.add((sup.version, int(sup.network_address), length))
    assert ts.cover_keys == expected
    assert ts.exact_keys == {prefix_key(p) for p in given}


@pytest.mark.parametrize("few_keys", [0, 1 << 20])
def test_cover_keys_of_random_targets_are_every_supernet_down_to_the_shortest_cover(
    few_keys: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Covers of many targets of both families and every length, made per length for all at once and
    key by key (FEW_KEYS chooses), are each target's supernets, as ``ipaddress`` makes them one by one."""
    import ipaddress

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from anystab import targets
    from anystab.targets import TargetSet

    monkeypatch.setattr(targets, "FEW_KEYS", few_keys)

    v4 = st.builds(
        lambda a, n: ipaddress.ip_network((a, n), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)
    )
    v6 = st.builds(
        lambda a, n: ipaddress.ip_network((a, n), strict=False),
        st.integers(0, 2**128 - 1),
        st.integers(0, 128),
    )

    @settings(max_examples=100, deadline=None)
    @given(st.lists(v4 | v6, min_size=1, max_size=30), st.integers(0, 32), st.integers(0, 128))
    def check(nets: list, min_v4: int, min_v6: int) -> None:
        ts = TargetSet(tuple(make_target(str(n)) for n in nets), "any", min_v4, min_v6)
        expected = {
            (sup.version, int(sup.network_address), sup.prefixlen)
            for net in nets
            for length in range(min_v4 if net.version == 4 else min_v6, net.prefixlen + 1)
            for sup in [net.supernet(new_prefix=length)]
        }
        assert ts.cover_keys == expected

    check()


def test_target_and_address_text_are_ipaddress_text() -> None:
    """A target's text and an address's (IPv4 by ``inet_ntoa``) are what ``str`` of ``ipaddress`` gives."""
    import ipaddress

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from anystab.targets import address_text

    @settings(max_examples=300, deadline=None)
    @given(st.integers(0, 2**32 - 1) | st.integers(0, 2**128 - 1), st.booleans(), st.integers(0, 128))
    def check(value: int, v4: bool, length: int) -> None:
        address = ipaddress.IPv4Address(value % 2**32) if v4 else ipaddress.IPv6Address(value)
        assert address_text(address) == str(address)
        net = ipaddress.ip_network((address, min(length, address.max_prefixlen)), strict=False)
        assert make_target(str(net)).text == str(net)

    check()
