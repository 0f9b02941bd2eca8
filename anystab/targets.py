"""Targets (what the user cares about) and the prefix filter.

A :class:`Target` is a prefix plus the address that represents it (by default the prefix's network
address). A :class:`TargetSet` answers, fast, whether a route's prefix is relevant under one of the
BGPStream filter modes:

1. ``exact``: the prefix is a target prefix.
2. ``more``: the prefix is a target prefix or lies inside one (more-specifics).
3. ``less``: the prefix is a target prefix or covers one (less-specifics), down to ``min_cover``
   (default /8 for IPv4, /16 for IPv6; shorter covers such as default routes are ignored).
4. ``any``: ``more`` or ``less``. The analysis always uses ``any``.

Prefixes are compared as ``(version, network as int, length)`` after masking off bits past the length
(some collectors write NLRI with trailing bits set; see the test file
tests/data/mrt/ris.updates.nlri_mask_trailing_bits.gz).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from anystab.errors import ConfigError

FilterMode = Literal["exact", "more", "less", "any"]
FILTER_MODES: tuple[FilterMode, ...] = ("exact", "more", "less", "any")
MIN_COVER_V4 = 8
MIN_COVER_V6 = 16
_BITS = {4: 32, 6: 128}
FEW_KEYS = 256  # below this, covers made key by key are quicker than per length (20 keys: 0.05 ms, not 0.75)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """One anycast target: a prefix and the address whose route decides its site."""

    prefix: IPNetwork
    address: IPAddress
    name: str | None = None

    @cached_property
    def text(self) -> str:
        """The target as text, as it appears in the ``target`` column of every table (made once: every
        stage writes it, for every target)."""
        return f"{address_text(self.prefix.network_address)}/{self.prefix.prefixlen}"  # str(self.prefix)

    def validate(self) -> None:
        if self.address.version != self.prefix.version or self.address not in self.prefix:
            raise ConfigError(f"address {self.address} is not inside target prefix {self.prefix}")


def address_text(address: IPAddress) -> str:
    """``str(address)``; an IPv4 address written by ``inet_ntoa`` (the same text, a fifth of the time)."""
    return socket.inet_ntoa(address.packed) if address.version == 4 else str(address)


def _plain_ipv4(addr_text: str, len_text: str) -> tuple[int, int] | None:
    """``(address as int, length)`` of IPv4 text with a plain decimal length of at most 32, read by
    ``inet_pton`` (which, like ``ipaddress``, takes only four decimal parts without leading zeros, and is
    many times faster); ``None`` for anything else."""
    if not (len_text.isascii() and len_text.isdigit() and int(len_text) <= 32):
        return None
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, addr_text), "big"), int(len_text)
    except (OSError, ValueError):  # not IPv4 text (ValueError: a NUL character in it)
        return None


def parse_prefix(text: str) -> IPNetwork:
    """Parse a prefix such as ``192.5.5.0/24``; host bits set are an error, a bare address is a host route.

    An IPv4 prefix with a plain decimal length and no host bits is read by ``inet_pton``, as in
    :func:`prefix_key` (a service of 10,000 targets: 0.05 s less); anything else by ``ipaddress``, which
    also gives the error's text."""
    addr_text, slash, len_text = text.strip().partition("/")
    plain = _plain_ipv4(addr_text, len_text) if slash else None
    if plain is not None and not plain[0] & ((1 << (32 - plain[1])) - 1):
        return ipaddress.IPv4Network(plain)
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ConfigError(f"not a valid IP prefix: {text!r} ({exc})") from None


def parse_address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ConfigError(f"not a valid IP address: {text!r}") from None


def make_target(prefix: str, address: str | None = None, name: str | None = None) -> Target:
    """Build and validate a target from text."""
    net = parse_prefix(prefix)
    if not address:  # its network address: inside it
        return Target(net, net.network_address, name)
    target = Target(net, parse_address(address), name)
    target.validate()
    return target


def prefix_key(text: str) -> tuple[int, int, int]:
    """``(version, masked network as int, length)`` of a prefix given as text, trailing bits ignored.

    An IPv4 prefix with a plain decimal length is read by ``inet_pton`` (which, like ``ipaddress``, takes
    only four decimal parts without leading zeros, and is many times faster); anything else by
    ``ipaddress``."""
    addr_text, _, len_text = text.partition("/")
    plain = _plain_ipv4(addr_text, len_text)
    if plain is not None:
        value, length = plain
        return 4, _masked_ipv4(value, length), length
    return _key_by_ipaddress(text, addr_text, len_text)


def prefix_key_and_text(text: str) -> tuple[tuple[int, int, int], str]:
    """:func:`prefix_key` of a prefix and its canonical text (its network's address, trailing bits cleared,
    and its length). Plain IPv4 text that is canonical already, as readers write prefixes, is given back
    as it is instead of being written again."""
    addr_text, _, len_text = text.partition("/")
    plain = _plain_ipv4(addr_text, len_text)
    if plain is not None:
        value, length = plain
        net = _masked_ipv4(value, length)
        if net == value and len_text == str(length):
            return (4, net, length), text
        return (4, net, length), f"{socket.inet_ntoa(net.to_bytes(4, 'big'))}/{length}"
    version, net, length = _key_by_ipaddress(text, addr_text, len_text)
    address = ipaddress.IPv4Address(net) if version == 4 else ipaddress.IPv6Address(net)
    return (version, net, length), f"{address}/{length}"


def _masked_ipv4(value: int, length: int) -> int:
    """An IPv4 address with the bits past ``length`` cleared."""
    return value >> (32 - length) << (32 - length) if length else 0


def _key_by_ipaddress(text: str, addr_text: str, len_text: str) -> tuple[int, int, int]:
    """:func:`prefix_key` of ``text`` (split at its slash) read by ``ipaddress``."""
    addr = ipaddress.ip_address(addr_text)
    bits = _BITS[addr.version]
    length = int(len_text) if len_text else bits
    if not 0 <= length <= bits:
        raise ValueError(f"prefix length out of range: {text!r}")
    value = int(addr) >> (bits - length) << (bits - length) if length else 0
    return addr.version, value, length


@dataclass(frozen=True)
class TargetSet:
    """A set of targets with a prefix filter mode; :meth:`matches` decides whether a prefix is kept."""

    targets: tuple[Target, ...]
    mode: FilterMode = "any"
    min_cover_v4: int = MIN_COVER_V4
    min_cover_v6: int = MIN_COVER_V6
    _exact: frozenset[tuple[int, int, int]] = field(init=False, repr=False, compare=False)
    _covers: frozenset[tuple[int, int, int]] = field(init=False, repr=False, compare=False)
    _lengths: dict[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in FILTER_MODES:
            raise ConfigError(f"unknown filter mode {self.mode!r}; use one of {', '.join(FILTER_MODES)}")
        exact = {_key(t.prefix) for t in self.targets}
        covers = _covering_keys(exact, {v: self.min_cover(v) for v in _BITS})
        lengths: dict[int, set[int]] = {4: set(), 6: set()}
        for t in self.targets:
            lengths[t.prefix.version].add(t.prefix.prefixlen)
        object.__setattr__(self, "_exact", frozenset(exact))
        object.__setattr__(self, "_covers", frozenset(covers))
        object.__setattr__(self, "_lengths", {v: tuple(sorted(ls)) for v, ls in lengths.items()})

    @property
    def exact_keys(self) -> frozenset[tuple[int, int, int]]:
        """``(version, network, length)`` of every target prefix."""
        return self._exact

    @property
    def cover_keys(self) -> frozenset[tuple[int, int, int]]:
        """Every target prefix and each prefix covering it down to the shortest cover counted."""
        return self._covers

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def min_cover(self, version: int) -> int:
        return self.min_cover_v4 if version == 4 else self.min_cover_v6

    def with_mode(self, mode: FilterMode) -> TargetSet:
        """This set under another filter mode (itself when the mode is its own: sets are immutable, and
        building one walks every target)."""
        if mode == self.mode:
            return self
        return TargetSet(self.targets, mode, self.min_cover_v4, self.min_cover_v6)

    def matches_key(self, version: int, network: int, length: int) -> bool:
        """Whether a (masked) prefix is kept under this set's mode."""
        key = (version, network, length)
        if self.mode == "exact":
            return key in self._exact
        if self.mode in ("less", "any") and key in self._covers:
            return True
        if self.mode in ("more", "any"):
            bits = _BITS[version]
            for tlen in self._lengths.get(version, ()):
                if tlen > length:
                    break
                shift = bits - tlen
                if (version, network >> shift << shift if tlen else 0, tlen) in self._exact:
                    return True
        return False

    def matches(self, prefix: str) -> bool:
        """Whether a prefix given as text (trailing bits allowed) is kept under this set's mode."""
        try:
            return self.matches_key(*prefix_key(prefix))
        except ValueError:
            return False


def _covering_keys(
    exact: Iterable[tuple[int, int, int]], min_cover: dict[int, int]
) -> set[tuple[int, int, int]]:
    """Each key ``(version, network, length)`` and every key covering it down to ``min_cover`` (none for a
    key shorter than that): :func:`_covers_one_by_one` for fewer than :data:`FEW_KEYS` keys, else
    :func:`_covers_per_length` (the same set)."""
    keys = list(exact)
    if len(keys) < FEW_KEYS:
        return _covers_one_by_one(keys, min_cover)
    return _covers_per_length(keys, min_cover)


def _covers_one_by_one(
    keys: list[tuple[int, int, int]], min_cover: dict[int, int]
) -> set[tuple[int, int, int]]:
    """:func:`_covering_keys`, each key's covers masked in turn."""
    covers: set[tuple[int, int, int]] = set()
    for version, net, length in keys:
        bits = _BITS[version]
        for cover in range(min_cover[version], length + 1):
            shift = bits - cover
            covers.add((version, net >> shift << shift, cover))
    return covers


def _covers_per_length(
    keys: list[tuple[int, int, int]], min_cover: dict[int, int]
) -> set[tuple[int, int, int]]:
    """:func:`_covering_keys`, per address family and cover length: the networks masked at once, each
    distinct cover made once (10,000 targets of one region share most of their covers). The networks are
    sorted once: masking keeps them in order, so each length's distinct covers are where a masked network
    differs from the one before it."""
    import numpy as np  # not at start-up

    covers: set[tuple[int, int, int]] = set()
    for version, bits in _BITS.items():
        family = sorted((net, length) for v, net, length in keys if v == version)
        if not family:
            continue
        kind = np.int64 if version == 4 else object  # an IPv6 network as a Python int
        nets = np.array([net for net, _ in family], dtype=kind)
        lengths = np.array([length for _, length in family], dtype=np.int64)
        for length in range(min_cover[version], int(lengths.max()) + 1):
            shift = bits - length
            masked = nets[lengths >= length] >> shift << shift
            first = np.ones(len(masked), dtype=bool)
            first[1:] = masked[1:] != masked[:-1]
            distinct = masked[first].tolist()
            covers.update(zip([version] * len(distinct), distinct, [length] * len(distinct), strict=True))
    return covers


def _key(net: IPNetwork) -> tuple[int, int, int]:
    return net.version, int(net.network_address), net.prefixlen


def target_set(targets: Iterable[Target], mode: FilterMode = "any") -> TargetSet:
    """A :class:`TargetSet` over ``targets`` (duplicates removed, order kept)."""
    seen: dict[IPNetwork, Target] = {}
    for t in targets:
        seen.setdefault(t.prefix, t)
    return TargetSet(tuple(seen.values()), mode)
