"""Decode the BGP4MP UPDATE records that mrtparse would decode the same way, faster; hand it the rest.

mrtparse is the decoder of record (:mod:`anystab.sources.mrt`, step 3), and costs about 50 us per kept
record in Python objects it builds and anystab throws away. The regular UPDATE, as collectors write it, is
read here directly into what :func:`anystab.sources.mrt._bgp4mp` takes from mrtparse's result; anything
this module does not fully understand returns ``None`` before any value is used, and mrtparse decodes
the record as it always did.

Steps (:func:`decode_update`):

1. The MRT header: type BGP4MP or BGP4MP_ET, a message subtype (1, 4, 6-11), the record's length equal to
   its bytes. The BGP4MP head: peer and local AS (2 bytes for subtypes 1, 6, 8, 10, else 4), interface
   index, AFI 1 or 2, peer and local address. The BGP message: an UPDATE whose length is exactly the
   rest of the record.
2. The withdrawn routes, the path attributes and the NLRI each fill their part of the message exactly:
   every entry (ADD-PATH subtypes: a 4-byte path id first; then a length byte of at most 32 or 128 and
   ceil(length / 8) bytes) and every attribute ends inside its part, and the parts end where the next
   starts. Prefix text keeps bits set past the length, as anystab's lenient mrtparse NLRI does. Without
   ADD-PATH, no list may hold the same entry twice (mrtparse would then read it again as ADD-PATH).
3. Attributes, each at most once, with the sizes mrtparse reads (it reads by content, not by the
   declared length, so other sizes are left to it): ORIGIN (1 byte, 0-2), AS_PATH and AS4_PATH
   (segments of types 1-4 that fill the attribute; AS numbers of the session's size, AS4_PATH's of 4),
   NEXT_HOP (4), MULTI_EXIT_DISC and LOCAL_PREF (4), AGGREGATOR (6 or 8), AS4_AGGREGATOR (8),
   COMMUNITY (4 a value), MP_REACH_NLRI (AFI 1 or 2, SAFI 1 or 2, a next hop of 4 bytes for IPv4, 16 or
   32 for IPv6, a reserved byte, the NLRI) and MP_UNREACH_NLRI (AFI and SAFI as above, the NLRI);
   ORIGINATOR_ID (4), CLUSTER_LIST (4 a value), EXTENDED COMMUNITIES (8) and LARGE_COMMUNITY (12) are
   only checked; any type mrtparse does not decode is skipped whole. AIGP and ATTR_SET go to mrtparse.

``tests/sources/test_bgp4mp.py`` reads every shared MRT file, and generated ones (ADD-PATH, AS_SET and
confederation paths, 2-byte sessions with AS4_PATH, long paths, damaged records), with and without this
module, and compares elements and problems.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from anystab.sources import framing
from anystab.sources.slim import (  # the BGP framing read here as the slimmer reads it
    ADDPATH_SUBTYPES,
    AS4_SUBTYPES,
    ATTR_MP_REACH,
    ATTR_MP_UNREACH,
    BGP_HEADER_LEN,
    BGP_UPDATE,
    FLAG_EXTENDED,
    MESSAGE_SUBTYPES,
    Irregular,  # here: not a record read exactly as mrtparse reads it
)

_ORIGINS = ("IGP", "EGP", "INCOMPLETE")
_FAMILIES = {1: (socket.AF_INET, 4, 32), 2: (socket.AF_INET6, 16, 128)}
_NEXT_HOP_LENGTHS = {1: (4,), 2: (16, 32)}
_SAFIS = (1, 2)
ATTR_ORIGIN, ATTR_AS_PATH, ATTR_NEXT_HOP, ATTR_MED, ATTR_LOCAL_PREF = 1, 2, 3, 4, 5
ATTR_AGGREGATOR, ATTR_COMMUNITY, ATTR_ORIGINATOR_ID, ATTR_CLUSTER_LIST = 7, 8, 9, 10
ATTR_EXT_COMMUNITIES, ATTR_AS4_PATH, ATTR_AS4_AGGREGATOR = 16, 17, 18
ATTR_AIGP, ATTR_LARGE_COMMUNITY, ATTR_SET = 26, 32, 128
# attributes mrtparse decodes by their content: checked here to be of a size it reads whole
_CHECKED_SIZES = {
    ATTR_ORIGINATOR_ID: (4, True),
    ATTR_CLUSTER_LIST: (4, False),
    ATTR_EXT_COMMUNITIES: (8, False),
    ATTR_LARGE_COMMUNITY: (12, False),
}
_LEFT_TO_MRTPARSE = frozenset({ATTR_AIGP, ATTR_SET})
AS_SEGMENT_TYPES = frozenset({1, 2, 3, 4})
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def decode_update(record: bytes) -> dict[str, Any] | None:
    """The record as mrtparse's ``Reader`` gives it (``entry.data``; of the values that anystab reads,
    with the same types and text), or ``None`` when mrtparse must decode it (steps 1-3)."""
    try:
        return _decode(record)
    except (Irregular, IndexError, ValueError, struct.error):  # struct.error: a read past the end
        return None


def _int(record: bytes, start: int, size: int) -> int:
    """The ``size``-byte (2 or 4) number at ``start``; struct.error past the record's end."""
    return (_U16 if size == 2 else _U32).unpack_from(record, start)[0]  # type: ignore[no-any-return]


def _decode(record: bytes) -> dict[str, Any] | None:
    seconds, mtype, subtype, length = framing.HEADER.unpack_from(record)
    if len(record) != framing.HEADER_LEN + length:
        return None
    if mtype not in (framing.BGP4MP, framing.BGP4MP_ET) or subtype not in MESSAGE_SUBTYPES:
        return None
    pos = framing.HEADER_LEN
    micro = 0
    if mtype == framing.BGP4MP_ET:
        micro = _int(record, pos, 4)
        pos += 4
    as_size = 4 if subtype in AS4_SUBTYPES else 2
    peer_asn = _int(record, pos, as_size)
    pos += 2 * as_size + 2  # local AS, interface index
    afi = _int(record, pos, 2)
    if afi not in _FAMILIES:
        return None
    family, size, _ = _FAMILIES[afi]
    pos += 2
    if pos + 2 * size > len(record):
        return None
    peer_ip = socket.inet_ntop(family, record[pos : pos + size])
    msg = pos + 2 * size
    if _int(record, msg + 16, 2) != len(record) - msg or record[msg + 18] != BGP_UPDATE:
        return None
    add_path = subtype in ADDPATH_SUBTYPES
    pos = msg + BGP_HEADER_LEN
    withdrawn_end = pos + 2 + _int(record, pos, 2)
    withdrawn = _nlri(record, pos + 2, withdrawn_end, 1, add_path)
    attrs_end = withdrawn_end + 2 + _int(record, withdrawn_end, 2)
    if attrs_end > len(record):
        return None
    attributes = _attributes(record, withdrawn_end + 2, attrs_end, as_size, add_path)
    message = {
        "type": {BGP_UPDATE: None},
        "withdrawn_routes": withdrawn,
        "path_attributes": attributes,
        "nlri": _nlri(record, attrs_end, len(record), 1, add_path),
    }
    data: dict[str, Any] = {
        "timestamp": {seconds: None},
        "type": {mtype: None},
        "subtype": {subtype: None},
        "peer_as": str(peer_asn),
        "peer_ip": peer_ip,
        "bgp_message": message,
    }
    if mtype == framing.BGP4MP_ET:
        data["microsecond_timestamp"] = micro
    return data


def _nlri(record: bytes, pos: int, end: int, afi: int, add_path: bool) -> list[dict[str, Any]]:
    """The entries of an NLRI list that fills ``record[pos:end]`` exactly (step 2), as mrtparse's."""
    if end > len(record):
        raise Irregular
    family, size, bits = _FAMILIES[afi]
    out: list[dict[str, Any]] = []
    seen: set[bytes] = set()
    while pos < end:
        entry: dict[str, Any] = {}
        if add_path:
            entry["path_id"] = _int(record, pos, 4)
            pos += 4
        length = record[pos]
        if length > bits:
            raise Irregular
        stop = pos + 1 + (length + 7) // 8
        if stop > end:
            raise Irregular
        if not add_path:
            written = record[pos:stop]
            if written in seen:
                raise Irregular
            seen.add(written)
        raw = record[pos + 1 : stop]
        entry["length"] = length
        entry["prefix"] = socket.inet_ntop(family, raw + bytes(size - len(raw)))
        out.append(entry)
        pos = stop
    return out


def _attributes(record: bytes, pos: int, end: int, as_size: int, add_path: bool) -> list[dict[str, Any]]:
    """The path attributes filling ``record[pos:end]`` (step 3), as mrtparse's ``type`` and ``value``."""
    seen: set[int] = set()
    attributes = []
    while pos < end:
        flags, code = record[pos], record[pos + 1]
        if flags & FLAG_EXTENDED:
            start = pos + 4
            stop = start + _int(record, pos + 2, 2)
        else:
            start = pos + 3
            stop = start + record[pos + 2]
        if stop > end or code in seen or code in _LEFT_TO_MRTPARSE:
            raise Irregular
        seen.add(code)
        value = _attribute(code, record, start, stop, as_size, add_path)
        attributes.append({"type": {code: None}, "value": value})
        pos = stop
    return attributes


def _attribute(code: int, record: bytes, start: int, stop: int, as_size: int, add_path: bool) -> Any:
    length = stop - start
    if code in (ATTR_AS_PATH, ATTR_AS4_PATH):
        return _as_path(record, start, stop, as_size if code == ATTR_AS_PATH else 4)
    if code == ATTR_ORIGIN:
        if length != 1 or record[start] >= len(_ORIGINS):
            raise Irregular
        return {record[start]: _ORIGINS[record[start]]}
    if code == ATTR_NEXT_HOP:
        if length != 4:
            raise Irregular
        return socket.inet_ntop(socket.AF_INET, record[start:stop])
    if code in (ATTR_MED, ATTR_LOCAL_PREF):
        if length != 4:
            raise Irregular
        return int.from_bytes(record[start:stop], "big")
    if code == ATTR_COMMUNITY:
        if length % 4:
            raise Irregular
        return [
            f"{int.from_bytes(record[p : p + 2], 'big')}:{int.from_bytes(record[p + 2 : p + 4], 'big')}"
            for p in range(start, stop, 4)
        ]
    if code in (ATTR_AGGREGATOR, ATTR_AS4_AGGREGATOR):
        if length != 8 and not (length == 6 and code == ATTR_AGGREGATOR):
            raise Irregular
        asn = str(int.from_bytes(record[start : stop - 4], "big"))
        return {"as": asn, "id": socket.inet_ntop(socket.AF_INET, record[stop - 4 : stop])}
    if code == ATTR_MP_REACH:
        afi, safi, hop_length = _int(record, start, 2), record[start + 2], record[start + 3]
        if afi not in _FAMILIES or safi not in _SAFIS or hop_length not in _NEXT_HOP_LENGTHS[afi]:
            raise Irregular
        family, size, _ = _FAMILIES[afi]
        hop = start + 4
        if hop + hop_length + 1 > stop:
            raise Irregular
        next_hop = [socket.inet_ntop(family, record[hop : hop + size])]
        if hop_length == 2 * size:
            next_hop.append(socket.inet_ntop(family, record[hop + size : hop + hop_length]))
        return {"next_hop": next_hop, "nlri": _nlri(record, hop + hop_length + 1, stop, afi, add_path)}
    if code == ATTR_MP_UNREACH:
        afi, safi = _int(record, start, 2), record[start + 2]
        if afi not in _FAMILIES or safi not in _SAFIS or start + 3 > stop:
            raise Irregular
        return {"withdrawn_routes": _nlri(record, start + 3, stop, afi, add_path)}
    checked = _CHECKED_SIZES.get(code)
    if checked is not None:
        unit, exact = checked
        if length % unit or (exact and length != unit):
            raise Irregular
    return True


def _as_path(record: bytes, pos: int, stop: int, as_size: int) -> list[dict[str, Any]]:
    """AS path segments as mrtparse gives them (``{"type": {code: None}, "value": [ASN text]}``)."""
    segments = []
    while pos < stop:
        kind, count = record[pos], record[pos + 1]
        pos += 2
        end = pos + count * as_size
        if kind not in AS_SEGMENT_TYPES or end > stop:
            raise Irregular
        values = [str(int.from_bytes(record[p : p + as_size], "big")) for p in range(pos, end, as_size)]
        segments.append({"type": {kind: None}, "value": values})
        pos = end
    return segments
