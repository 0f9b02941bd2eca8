"""Hypothesis strategies for random MRT files around a random target set.

Records: BGP4MP and BGP4MP_ET UPDATEs from 2- and 4-byte-AS sessions (with and without ADD-PATH), IPv4
NLRI and withdrawals in the UPDATE's own lists, IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI, AS_SETs, state
changes, TABLE_DUMP_V2 RIB dumps (plain and ADD-PATH) and TABLE_DUMP (v1) entries. Prefixes are drawn near
the targets (the target, covers, more-specifics, siblings), sometimes with bits set past the prefix
length, and among unrelated prefixes; lists may repeat a prefix.
"""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import strategies as st

from anystab.generate import mrtwrite as mw

ET, PLAIN = mw.MRT_BGP4MP_ET, mw.MRT_BGP4MP
MESSAGE, MESSAGE_AS4, MESSAGE_ADDPATH, MESSAGE_AS4_ADDPATH = 1, 4, 8, 9
TABLE_DUMP = 12
TIME0 = 1_700_000_000


@st.composite
def target_prefixes(draw: st.DrawFn) -> list[str]:
    count = draw(st.integers(1, 30))
    out = []
    for _ in range(count):
        version = draw(st.sampled_from((4, 4, 6)))
        bits = 32 if version == 4 else 128
        length = draw(st.integers(8 if version == 4 else 16, min(bits, 56 if version == 6 else 32)))
        net = ipaddress.ip_network((draw(st.integers(0, (1 << bits) - 1)), length), strict=False)
        out.append(str(net))
    return sorted(set(out))


@st.composite
def nearby_prefix(draw: st.DrawFn, targets: list[str]) -> tuple[str, int]:
    """(prefix, trailing bits to set) near one of the targets or unrelated."""
    base = ipaddress.ip_network(draw(st.sampled_from(targets)))
    bits = base.max_prefixlen
    how = draw(st.sampled_from(("exact", "cover", "more", "sibling", "random")))
    value = int(base.network_address)
    length = base.prefixlen
    if how == "cover":
        length = draw(st.integers(0, length))
    elif how == "more":
        length = draw(st.integers(length, bits))
        value |= draw(st.integers(0, (1 << (bits - base.prefixlen)) - 1))
    elif how == "sibling":
        value ^= 1 << (bits - length)
    elif how == "random":
        value, length = draw(st.integers(0, (1 << bits) - 1)), draw(st.integers(0, bits))
    net = ipaddress.ip_network((value, length), strict=False)
    trailing = draw(st.integers(0, 255)) if draw(st.integers(0, 5)) == 0 else 0
    return str(net), trailing


def nlri(prefix: str, trailing: int, path_id: int | None) -> bytes:
    raw = bytearray(mw.encode_prefix(prefix, path_id))
    net = ipaddress.ip_network(prefix)
    spare = (-net.prefixlen) % 8
    if spare and net.prefixlen:
        raw[-1] |= trailing & ((1 << spare) - 1)
    return bytes(raw)


def _head(subtype: int, peer_asn: int, peer_ip: str) -> bytes:
    peer = ipaddress.ip_address(peer_ip).packed
    afi = 2 if len(peer) == 16 else 1
    if subtype in (MESSAGE, MESSAGE_ADDPATH, 0):
        ases = struct.pack("!HH", peer_asn & 0xFFFF, 64512)
    else:
        ases = struct.pack("!II", peer_asn, 64512)
    return ases + struct.pack("!HH", 0, afi) + peer + bytes(len(peer))


@st.composite
def route_attrs(draw: st.DrawFn, v6_nlri: bytes | None, two_byte: bool) -> bytes:
    path = tuple(draw(st.lists(st.integers(1, 65000 if two_byte else 4_000_000_000), min_size=1, max_size=6)))
    as_set = tuple(draw(st.lists(st.integers(1, 65000), max_size=3)))
    v6 = v6_nlri is not None
    communities = tuple(draw(st.lists(st.sampled_from(("1:1", "8:8", "2056:2056")), max_size=3)))
    med = draw(st.one_of(st.none(), st.integers(0, 1000)))
    prefix, hop = ("2001:db8::/32", "2001:db8::1") if v6 else ("192.0.2.0/24", "10.0.0.1")
    route = mw.Route(prefix, path, hop, as_set=as_set, communities=communities, med=med)
    attrs = mw.encode_attributes(route, v6_nlri)
    if two_byte:  # 2-byte AS_PATH: rewrite the 4-byte segments the writer made
        attrs = _two_byte_path(route, attrs)
    return attrs


def _two_byte_path(route: mw.Route, attrs: bytes) -> bytes:
    four = mw._segments(mw.AS_SEQUENCE, route.as_path) + (
        mw._segments(mw.AS_SET, route.as_set) if route.as_set else b""
    )
    two = struct.pack("!BB", mw.AS_SEQUENCE, len(route.as_path)) + b"".join(
        struct.pack("!H", a) for a in route.as_path
    )
    if route.as_set:
        two += struct.pack("!BB", mw.AS_SET, len(route.as_set)) + b"".join(
            struct.pack("!H", a) for a in route.as_set
        )
    old = mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_AS_PATH, four)
    return attrs.replace(old, mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_AS_PATH, two), 1)


@st.composite
def update_record(draw: st.DrawFn, targets: list[str], time_us: int) -> bytes:
    subtype = draw(st.sampled_from((MESSAGE, MESSAGE_AS4, MESSAGE_ADDPATH, MESSAGE_AS4_ADDPATH)))
    add_path = subtype in (MESSAGE_ADDPATH, MESSAGE_AS4_ADDPATH)
    peer_ip = draw(st.sampled_from(("192.0.2.1", "192.0.2.2", "2001:db8::2")))
    peer_asn = draw(st.sampled_from((64500, 65001, 4_200_000_000)))

    def entries(version: int) -> bytes:
        picks = draw(st.lists(nearby_prefix(targets), max_size=12))
        out = b""
        for prefix, trailing in picks:
            if ipaddress.ip_network(prefix).version == version:
                out += nlri(prefix, trailing, draw(st.integers(0, 3)) if add_path else None)
        return out

    v6 = draw(st.booleans())
    withdrawn, announced = entries(4), entries(4)
    attrs = draw(route_attrs(entries(6) if v6 else None, subtype in (MESSAGE, MESSAGE_ADDPATH)))
    if draw(st.booleans()):
        unreach = struct.pack("!HB", 2, 1) + entries(6)
        attrs += mw._attr(mw.FLAG_OPTIONAL, mw.ATTR_MP_UNREACH, unreach)
    if not draw(st.booleans()):
        announced = b"" if v6 else announced
    message = mw.bgp_update(withdrawn, attrs if (announced or v6) else attrs, announced)
    mrt_type = draw(st.sampled_from((ET, PLAIN)))
    return mw.mrt_record(time_us, mrt_type, subtype, _head(subtype, peer_asn, peer_ip) + message)


@st.composite
def state_record(draw: st.DrawFn, time_us: int) -> bytes:
    old, new = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    body = _head(0, 64500, "192.0.2.1") + struct.pack("!HH", old, new)
    return mw.mrt_record(time_us, PLAIN, 0, body)


@st.composite
def rib_records(draw: st.DrawFn, targets: list[str]) -> bytes:
    peers = (mw.Peer(64500, "192.0.2.1"), mw.Peer(4_200_000_000, "2001:db8::2"))
    add_path = draw(st.booleans())
    entries = []
    for prefix, _trailing in draw(
        st.lists(nearby_prefix(targets), min_size=1, max_size=10, unique_by=lambda p: p[0])
    ):
        route = mw.Route(
            prefix,
            (64500, 1),
            "2001:db8::1" if ":" in prefix else "10.0.0.1",
            path_id=1 if add_path else None,
        )
        entries.append(mw.RibEntry(draw(st.integers(0, 1)), route))
    return mw.encode_rib(mw.RibDump(TIME0, peers, tuple(entries)))


@st.composite
def table_dump_record(draw: st.DrawFn, targets: list[str]) -> bytes:
    prefix, _trailing = draw(nearby_prefix(targets))
    net = ipaddress.ip_network(prefix)
    afi = 2 if net.version == 6 else 1
    attrs = mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_ORIGIN, b"\x00")
    attrs += mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_AS_PATH, struct.pack("!BBHH", mw.AS_SEQUENCE, 2, 64500, 8))
    if afi == 1:
        attrs += mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_NEXT_HOP, bytes([10, 0, 0, 1]))
    peer = bytes([192, 0, 2, 1]) if afi == 1 else ipaddress.ip_address("2001:db8::2").packed
    body = struct.pack("!HH", 0, 1) + net.network_address.packed + bytes([net.prefixlen, 1])
    body += struct.pack("!I", TIME0) + peer + struct.pack("!HH", 64500, len(attrs)) + attrs
    return mw.mrt_record(TIME0 * 1_000_000, TABLE_DUMP, afi, body)


@st.composite
def mrt_file(draw: st.DrawFn) -> tuple[list[str], str, bytes]:
    """(target prefixes, filter mode, file bytes) of one random file: a RIB dump or updates."""
    targets = draw(target_prefixes())
    mode = draw(st.sampled_from(("exact", "more", "less", "any")))
    kind = draw(st.sampled_from(("updates", "updates", "rib", "table_dump")))
    if kind == "rib":
        return targets, mode, draw(rib_records(targets))
    if kind == "table_dump":
        return targets, mode, b"".join(draw(st.lists(table_dump_record(targets), min_size=1, max_size=8)))
    parts = []
    for i in range(draw(st.integers(1, 12))):
        time_us = (TIME0 + i) * 1_000_000 + draw(st.integers(0, 999_999))
        parts.append(draw(st.one_of(update_record(targets, time_us), state_record(time_us))))
    return targets, mode, b"".join(parts)
