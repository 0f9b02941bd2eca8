"""A small RFC 6396 MRT writer (with the RFC 8050 ADD-PATH variants) for test scenarios and the sample.

Steps:

1. Encode path attributes in type-code order: ORIGIN, AS_PATH (4-byte ASNs; an AS_SEQUENCE, then an
   AS_SET if given), NEXT_HOP (IPv4 routes), MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR (4-byte ASN),
   COMMUNITIES, MP_REACH_NLRI (IPv6 routes). An attribute longer than 255 bytes gets the extended-length flag.
2. Updates (:class:`Update`) become BGP4MP or BGP4MP_ET records of subtype MESSAGE_AS4 (MESSAGE_AS4_ADDPATH
   when the routes carry path ids), one BGP UPDATE message per group of announced routes that share their
   attributes and address family; withdrawals go in one more message per family (IPv4 in the withdrawn
   routes field, IPv6 in MP_UNREACH_NLRI). State changes (:class:`StateChange`) become STATE_CHANGE_AS4.
3. RIB dumps (:func:`write_rib`) become one PEER_INDEX_TABLE record (every peer with 4-byte ASN) and one
   RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record per prefix (the ``_ADDPATH`` subtypes when entries carry path
   ids), entries in the order given. IPv6 next hops use the shortened MP_REACH_NLRI form of RFC 6396 4.3.4.
4. The output is compressed by the file name: ``.gz`` (gzip with mtime 0 and no file name, so equal input
   gives equal bytes), ``.bz2``, or plain otherwise.

Times are integer microseconds since the epoch; BGP4MP (not ET) keeps the whole seconds only.
"""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from anystab.units import US_PER_S

MRT_TABLE_DUMP_V2 = 13
MRT_BGP4MP = 16
MRT_BGP4MP_ET = 17

PEER_INDEX_TABLE = 1
RIB_IPV4_UNICAST = 2
RIB_IPV6_UNICAST = 4
RIB_IPV4_UNICAST_ADDPATH = 8
RIB_IPV6_UNICAST_ADDPATH = 10

BGP4MP_MESSAGE_AS4 = 4
BGP4MP_STATE_CHANGE_AS4 = 5
BGP4MP_MESSAGE_AS4_ADDPATH = 9

BGP_UPDATE = 2
AFI_IPV4 = 1
AFI_IPV6 = 2
SAFI_UNICAST = 1

ATTR_ORIGIN = 1
ATTR_AS_PATH = 2
ATTR_NEXT_HOP = 3
ATTR_MED = 4
ATTR_LOCAL_PREF = 5
ATTR_ATOMIC_AGGREGATE = 6
ATTR_AGGREGATOR = 7
ATTR_COMMUNITIES = 8
ATTR_MP_REACH = 14
ATTR_MP_UNREACH = 15

FLAG_OPTIONAL = 0x80
FLAG_TRANSITIVE = 0x40
FLAG_EXTENDED = 0x10
AS_SET = 1
AS_SEQUENCE = 2
MAX_SEGMENT = 255
GZIP_LEVEL = 9

ORIGIN_IGP, ORIGIN_EGP, ORIGIN_INCOMPLETE = 0, 1, 2
STATE_IDLE, STATE_CONNECT, STATE_ACTIVE, STATE_OPENSENT, STATE_OPENCONFIRM, STATE_ESTABLISHED = range(1, 7)


@dataclass(frozen=True)
class Route:
    """One route: a prefix and its path attributes. ``communities`` as ``"ASN:VALUE"`` text."""

    prefix: str
    as_path: tuple[int, ...]
    next_hop: str
    as_set: tuple[int, ...] = ()
    origin: int = ORIGIN_IGP
    communities: tuple[str, ...] = ()
    med: int | None = None
    local_pref: int | None = None
    atomic_aggregate: bool = False
    aggregator: tuple[int, str] | None = None
    path_id: int | None = None

    def attrs_key(self) -> tuple[object, ...]:
        """Everything but the prefix and path id: routes with equal keys can share one UPDATE."""
        return (
            self.as_path,
            self.next_hop,
            self.as_set,
            self.origin,
            self.communities,
            self.med,
            self.local_pref,
            self.atomic_aggregate,
            self.aggregator,
            self.path_id is not None,
        )


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawn prefix (with its path id under ADD-PATH)."""

    prefix: str
    path_id: int | None = None


@dataclass(frozen=True)
class Update:
    """BGP UPDATE(s) from one peer at one time (``time_us``: microseconds since the epoch)."""

    time_us: int
    peer_asn: int
    peer_ip: str
    announce: tuple[Route, ...] = ()
    withdraw: tuple[Withdrawal, ...] = ()
    local_asn: int = 0
    local_ip: str | None = None


@dataclass(frozen=True)
class StateChange:
    """A BGP FSM state change of one peer session (1 Idle ... 6 Established; 7 and 8 are written as given)."""

    time_us: int
    peer_asn: int
    peer_ip: str
    old_state: int
    new_state: int
    local_asn: int = 0
    local_ip: str | None = None


@dataclass(frozen=True)
class Peer:
    """A collector peer as listed in the PEER_INDEX_TABLE."""

    asn: int
    ip: str
    bgp_id: str = "0.0.0.0"


@dataclass(frozen=True)
class RibEntry:
    """One RIB entry: the route a peer (index into the peer list) holds, learned at ``originated``."""

    peer_index: int
    route: Route
    originated: int = 0


@dataclass(frozen=True)
class RibDump:
    """A TABLE_DUMP_V2 RIB dump: header time, collector id, view name, peers, and entries."""

    time: int
    peers: tuple[Peer, ...]
    entries: tuple[RibEntry, ...] = ()
    collector_id: str = "0.0.0.0"
    view_name: str = field(default="")


Record = Update | StateChange


# --- low-level encoding ------------------------------------------------------------------------------


def _ip_bytes(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def _family(prefix: str) -> int:
    return AFI_IPV6 if ":" in prefix else AFI_IPV4


def encode_prefix(prefix: str, path_id: int | None = None) -> bytes:
    """NLRI encoding of a prefix: (path id), length byte, the significant bytes of the network."""
    net = ipaddress.ip_network(prefix, strict=False)
    head = struct.pack("!I", path_id) if path_id is not None else b""
    nbytes = (net.prefixlen + 7) // 8
    return head + bytes([net.prefixlen]) + net.network_address.packed[:nbytes]


def _attr(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | FLAG_EXTENDED, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def _segments(kind: int, asns: Sequence[int]) -> bytes:
    out = b""
    for i in range(0, len(asns), MAX_SEGMENT):
        chunk = asns[i : i + MAX_SEGMENT]
        out += struct.pack("!BB", kind, len(chunk)) + b"".join(struct.pack("!I", a) for a in chunk)
    return out


def _community(text: str) -> bytes:
    high, _, low = text.partition(":")
    return struct.pack("!HH", int(high), int(low))


def encode_attributes(route: Route, mp_nlri: bytes | None = None, rib: bool = False) -> bytes:
    """Path attributes of ``route``; IPv6 routes carry MP_REACH_NLRI (``rib``: the shortened form)."""
    out = _attr(FLAG_TRANSITIVE, ATTR_ORIGIN, bytes([route.origin]))
    path = _segments(AS_SEQUENCE, route.as_path) + (_segments(AS_SET, route.as_set) if route.as_set else b"")
    out += _attr(FLAG_TRANSITIVE, ATTR_AS_PATH, path)
    v6 = _family(route.prefix) == AFI_IPV6
    if not v6:
        out += _attr(FLAG_TRANSITIVE, ATTR_NEXT_HOP, _ip_bytes(route.next_hop))
    if route.med is not None:
        out += _attr(FLAG_OPTIONAL, ATTR_MED, struct.pack("!I", route.med))
    if route.local_pref is not None:
        out += _attr(FLAG_TRANSITIVE, ATTR_LOCAL_PREF, struct.pack("!I", route.local_pref))
    if route.atomic_aggregate:
        out += _attr(FLAG_TRANSITIVE, ATTR_ATOMIC_AGGREGATE, b"")
    if route.aggregator is not None:
        asn, addr = route.aggregator
        value = struct.pack("!I", asn) + _ip_bytes(addr)
        out += _attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_AGGREGATOR, value)
    if route.communities:
        value = b"".join(_community(c) for c in route.communities)
        out += _attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_COMMUNITIES, value)
    if v6:
        out += _attr(FLAG_OPTIONAL, ATTR_MP_REACH, _mp_reach(route.next_hop, mp_nlri, rib))
    return out


def _mp_reach(next_hop: str, nlri: bytes | None, rib: bool) -> bytes:
    hop = _ip_bytes(next_hop)
    if rib:
        return bytes([len(hop)]) + hop
    return struct.pack("!HBB", AFI_IPV6, SAFI_UNICAST, len(hop)) + hop + b"\x00" + (nlri or b"")


def bgp_update(withdrawn: bytes, attributes: bytes, nlri: bytes) -> bytes:
    """A whole BGP UPDATE message (marker, length, type, body)."""
    body = struct.pack("!H", len(withdrawn)) + withdrawn
    body += struct.pack("!H", len(attributes)) + attributes + nlri
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), BGP_UPDATE) + body


def mrt_record(time_us: int, mrt_type: int, subtype: int, body: bytes) -> bytes:
    """One MRT record; BGP4MP_ET adds the microseconds (counted in the length)."""
    seconds, micros = divmod(time_us, US_PER_S)
    if mrt_type == MRT_BGP4MP_ET:
        body = struct.pack("!I", micros) + body
    return struct.pack("!IHHI", seconds, mrt_type, subtype, len(body)) + body


# --- BGP4MP ------------------------------------------------------------------------------------------


def _bgp4mp_head(peer_asn: int, local_asn: int, peer_ip: str, local_ip: str | None) -> bytes:
    peer = _ip_bytes(peer_ip)
    afi = AFI_IPV6 if len(peer) == 16 else AFI_IPV4
    local = _ip_bytes(local_ip) if local_ip else bytes(len(peer))
    if len(local) != len(peer):
        raise ValueError(f"peer {peer_ip} and local {local_ip} addresses differ in family")
    return struct.pack("!IIHH", peer_asn, local_asn, 0, afi) + peer + local


def _update_messages(update: Update) -> list[tuple[bool, bytes]]:
    """(add-path?, BGP message) for each UPDATE message the update needs."""
    groups: dict[tuple[object, ...], list[Route]] = {}
    for route in update.announce:
        groups.setdefault((_family(route.prefix), *route.attrs_key()), []).append(route)
    out = []
    for routes in groups.values():
        addpath = routes[0].path_id is not None
        nlri = b"".join(encode_prefix(r.prefix, r.path_id) for r in routes)
        if _family(routes[0].prefix) == AFI_IPV6:
            out.append((addpath, bgp_update(b"", encode_attributes(routes[0], nlri), b"")))
        else:
            out.append((addpath, bgp_update(b"", encode_attributes(routes[0]), nlri)))
    for afi in (AFI_IPV4, AFI_IPV6):
        for addpath in (False, True):
            gone = [
                w for w in update.withdraw if _family(w.prefix) == afi and (w.path_id is not None) == addpath
            ]
            if gone:
                out.append((addpath, _withdraw_message(afi, gone)))
    return out


def _withdraw_message(afi: int, gone: list[Withdrawal]) -> bytes:
    data = b"".join(encode_prefix(w.prefix, w.path_id) for w in gone)
    if afi == AFI_IPV4:
        return bgp_update(data, b"", b"")
    unreach = struct.pack("!HB", AFI_IPV6, SAFI_UNICAST) + data
    return bgp_update(b"", _attr(FLAG_OPTIONAL, ATTR_MP_UNREACH, unreach), b"")


def encode_update(update: Update, et: bool) -> bytes:
    """The MRT records of one :class:`Update`."""
    mrt_type = MRT_BGP4MP_ET if et else MRT_BGP4MP
    head = _bgp4mp_head(update.peer_asn, update.local_asn, update.peer_ip, update.local_ip)
    out = b""
    for addpath, message in _update_messages(update):
        subtype = BGP4MP_MESSAGE_AS4_ADDPATH if addpath else BGP4MP_MESSAGE_AS4
        out += mrt_record(update.time_us, mrt_type, subtype, head + message)
    return out


def encode_state_change(change: StateChange, et: bool) -> bytes:
    """The STATE_CHANGE_AS4 record of one :class:`StateChange`."""
    head = _bgp4mp_head(change.peer_asn, change.local_asn, change.peer_ip, change.local_ip)
    body = head + struct.pack("!HH", change.old_state, change.new_state)
    return mrt_record(change.time_us, MRT_BGP4MP_ET if et else MRT_BGP4MP, BGP4MP_STATE_CHANGE_AS4, body)


def encode_records(records: Iterable[Record], et: bool) -> bytes:
    """Updates and state changes as MRT bytes, in the order given."""
    parts = []
    for rec in records:
        parts.append(encode_update(rec, et) if isinstance(rec, Update) else encode_state_change(rec, et))
    return b"".join(parts)


# --- TABLE_DUMP_V2 -----------------------------------------------------------------------------------


def encode_peer_index(dump: RibDump) -> bytes:
    """The PEER_INDEX_TABLE record: every peer with a 4-byte ASN (peer type bit 1), IPv6 flagged by bit 0."""
    name = dump.view_name.encode()
    body = _ip_bytes(dump.collector_id) + struct.pack("!H", len(name)) + name
    body += struct.pack("!H", len(dump.peers))
    for peer in dump.peers:
        addr = _ip_bytes(peer.ip)
        peer_type = 0x02 | (0x01 if len(addr) == 16 else 0)
        body += bytes([peer_type]) + _ip_bytes(peer.bgp_id) + addr + struct.pack("!I", peer.asn)
    return mrt_record(dump.time * US_PER_S, MRT_TABLE_DUMP_V2, PEER_INDEX_TABLE, body)


def _rib_subtype(prefix: str, addpath: bool) -> int:
    if _family(prefix) == AFI_IPV6:
        return RIB_IPV6_UNICAST_ADDPATH if addpath else RIB_IPV6_UNICAST
    return RIB_IPV4_UNICAST_ADDPATH if addpath else RIB_IPV4_UNICAST


def encode_rib_record(time: int, sequence: int, entries: Sequence[RibEntry]) -> bytes:
    """One RIB_* record for the entries of one prefix (all with or all without path ids)."""
    prefix = entries[0].route.prefix
    addpath = entries[0].route.path_id is not None
    if any((e.route.path_id is not None) != addpath for e in entries):
        raise ValueError(f"RIB entries for {prefix} mix ADD-PATH and plain routes")
    body = struct.pack("!I", sequence) + encode_prefix(prefix) + struct.pack("!H", len(entries))
    for entry in entries:
        attrs = encode_attributes(entry.route, rib=True)
        path_id = struct.pack("!I", entry.route.path_id) if addpath else b""
        body += struct.pack("!HI", entry.peer_index, entry.originated) + path_id
        body += struct.pack("!H", len(attrs)) + attrs
    return mrt_record(time * US_PER_S, MRT_TABLE_DUMP_V2, _rib_subtype(prefix, addpath), body)


def encode_rib(dump: RibDump) -> bytes:
    """A whole RIB dump: the peer index, then one record per prefix in order of first appearance."""
    by_prefix: dict[tuple[str, bool], list[RibEntry]] = {}
    for entry in dump.entries:
        by_prefix.setdefault((entry.route.prefix, entry.route.path_id is not None), []).append(entry)
    parts = [encode_peer_index(dump)]
    for sequence, entries in enumerate(by_prefix.values()):
        parts.append(encode_rib_record(dump.time, sequence, entries))
    return b"".join(parts)


# --- files -------------------------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` compressed by the file name's suffix (.gz deterministic, .bz2, else plain)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with path.open("wb") as raw, gzip.GzipFile("", "wb", GZIP_LEVEL, raw, mtime=0) as out:
            out.write(data)
    elif path.suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    else:
        path.write_bytes(data)


def write_updates(path: Path, records: Iterable[Record], et: bool = False) -> None:
    """Write an updates file: BGP4MP (``et``: BGP4MP_ET) records in the order given."""
    write_bytes(path, encode_records(records, et))


def write_rib(path: Path, dump: RibDump) -> None:
    """Write a TABLE_DUMP_V2 RIB dump file."""
    write_bytes(path, encode_rib(dump))


def write_repeated_update(path: Path, update: Update, count: int, et: bool = False) -> None:
    """Write a gzip file of one update's records repeated ``count`` times, streamed (a file whose every
    record matches, for benchmarks and the reader's bounds; the decompressed bytes are never all held)."""
    one = encode_update(update, et)
    block = one * max(1, (1 << 20) // len(one))
    per_block = len(block) // len(one)
    with path.open("wb") as raw, gzip.GzipFile("", "wb", GZIP_LEVEL, raw, mtime=0) as out:
        left = count
        while left >= per_block:
            out.write(block)
            left -= per_block
        out.write(one * left)
