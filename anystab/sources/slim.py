"""Check a kept BGP4MP UPDATE record exactly and cut it down to the NLRI that match, before decoding.

The pre-filter keeps a record when a wanted NLRI encoding appears anywhere in its bytes; most such
records hold no matching prefix at all (the bytes were inside an AS path or a community), and a kept
UPDATE may carry hundreds of NLRI of which one matters. The decoder's cost grows with the NLRI count, so,
given the record and the pre-filter's hit positions in it (every place a wanted NLRI may start):

1. Read the framing of a BGP4MP / BGP4MP_ET message record: the ET microseconds, peer and local AS
   (2 or 4 bytes by subtype), interface index, AFI, peer and local address, then the BGP header.
   Anything but an UPDATE holds no element: the record is dropped.
2. Lay out the UPDATE as segments: the withdrawn routes list, each path attribute (inside MP_REACH_NLRI
   and MP_UNREACH_NLRI: the fixed head - AFI, SAFI, next hop, reserved byte - and the NLRI list), the
   NLRI list. ADD-PATH subtypes put a 4-byte path id before each entry.
3. No hit inside an NLRI list whose bytes read as a wanted prefix: drop the record (a matching entry
   always starts at a hit).
4. Walk every list entry by entry (length byte, then ceil(length / 8) bytes); an entry whose length byte
   is a hit is tested with ``TargetSet.matches_key`` on its masked network (remembered per encoding).
5. No entry matches: drop the record. Every entry matches: keep it as it is. Else rebuild it with only the
   matching entries, in their order, and fix the lengths that frame them (MRT record, BGP message,
   withdrawn routes, path attributes, the MP attribute's own length keeping its 1- or 2-byte form).
   Other attributes are copied byte for byte.
6. Anything irregular leaves the record whole for the decoder to judge as it would without the
   pre-filter: the BGP length disagreeing with the record's, a list running past its end, a prefix longer
   than the family allows, a next hop length the decoder would read differently, an AFI/SAFI other than
   IPv4/IPv6 unicast/multicast, and, without ADD-PATH, the same prefix twice in one list (mrtparse then
   re-reads the list as ADD-PATH).

Steps 1, 2 and 4's framing run compiled when :data:`anystab.sources.framing.ACCELERATED` (``slim_plan``
in ``_scan.c``: the lists, the probes of step 3 and the entries at a hit); the exact per-prefix test
(:meth:`Slimmer.wanted`) and the rebuild stay here.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from anystab.sources import framing
from anystab.targets import TargetSet

HEADER_LEN = framing.HEADER_LEN
ET_BYTES = 4
BGP4MP_ET = framing.BGP4MP_ET
MESSAGE_SUBTYPES = frozenset(framing.MESSAGE_SUBTYPES)
AS4_SUBTYPES = frozenset(framing.AS4_MESSAGE_SUBTYPES)
ADDPATH_SUBTYPES = framing.ADDPATH_SUBTYPES
AFI_ADDRESS_BYTES = {1: 4, 2: 16}
AFI_VERSION = {1: 4, 2: 6}
SLIM_SAFIS = frozenset({1, 2})
BGP_MARKER_LEN = 16
BGP_LENGTH_OFFSET = 16
BGP_TYPE_OFFSET = 18
BGP_HEADER_LEN = framing.BGP_HEADER_LEN
BGP_UPDATE = framing.BGP_UPDATE
ATTR_MP_REACH, ATTR_MP_UNREACH = 14, 15
FLAG_EXTENDED = framing.FLAG_EXTENDED
PATH_ID_BYTES = 4
IPV6_DOUBLE_NEXT_HOP = 32

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Irregular(Exception):
    """The record does not have the shape this module cuts; the decoder gets it whole."""


@dataclass
class _Segment:
    """A piece of the UPDATE body: bytes copied as written, an MP attribute header, or an NLRI list."""

    start: int
    stop: int
    kind: str = "fixed"  # "fixed", "mp_header" or "list"
    version: int = 4
    total: int = 0
    kept: list[bytes] = field(default_factory=list)


class Slimmer:
    """Exact per-prefix check and cutting of BGP4MP UPDATE records for one target set."""

    def __init__(self, targets: TargetSet, compiled: bool | None = None) -> None:
        self.targets = targets
        self._memo: dict[tuple[int, bytes], bool] = {}
        self.compiled = framing.ACCELERATED if compiled is None else compiled
        self.checked = False  # whether every NLRI entry of the last record slim() returned was found wanted

    def wanted(self, version: int, entry: bytes) -> bool:
        """Whether an NLRI encoding (length byte, prefix bytes; trailing bits allowed) is kept."""
        key = (version, entry)
        hit = self._memo.get(key)
        if hit is None:
            bits = 32 if version == 4 else 128
            length = entry[0]
            value = int.from_bytes(entry[1:].ljust(bits // 8, b"\0"), "big")
            shift = bits - length
            hit = self._memo[key] = self.targets.matches_key(version, value >> shift << shift, length)
        return hit

    def slim(self, record: bytes, hits: Sequence[int]) -> bytes | None:
        """The record cut to its matching NLRI, ``None`` when it holds none, itself when irregular.

        ``hits`` are the sorted offsets (from the record's first byte) where a wanted NLRI may start.
        """
        self.checked = False
        if self.compiled:
            return self._slim_compiled(record, hits)
        try:
            return self._slim(record, hits)
        except (Irregular, IndexError, struct.error):
            self.checked = False
            return record

    def _slim(self, record: bytes, hits: Sequence[int]) -> bytes | None:
        msg = _message_offset(record)
        if record[msg + BGP_TYPE_OFFSET] != BGP_UPDATE:
            return None
        add_path = _U16.unpack_from(record, 6)[0] in ADDPATH_SUBTYPES
        segments = _layout(record, msg + BGP_HEADER_LEN)
        lists = [seg for seg in segments if seg.kind == "list"]
        if not any(self._wanted_hit(record, seg, hits) for seg in lists):
            return None
        hit_set = frozenset(hits)
        for seg in lists:
            self._walk(record, seg, hit_set, add_path)
        if not any(seg.kept for seg in lists):
            return None
        self.checked = True
        if all(len(seg.kept) == seg.total for seg in lists):
            return record
        return _rebuild(record, msg, segments)

    def _slim_compiled(self, record: bytes, hits: Sequence[int]) -> bytes | None:
        """:meth:`_slim` with the framing read by ``_scan.slim_plan`` (same result)."""
        if framing.scan is None:
            raise RuntimeError("the compiled scanner is not built (reinstall anystab with a C compiler)")
        plan = framing.scan.slim_plan(record, hits)
        if plan is None or plan is record:
            return plan
        msg, probes, irregular, lists = plan
        wanted = self.wanted
        if not any(wanted(version, record[at:stop]) for version, at, stop in probes):
            return None
        if irregular:
            return record
        kept = [
            [record[pos:stop] for pos, at, stop in found if wanted(v, record[at:stop])]
            for v, _, found in lists
        ]
        if not any(kept):
            return None
        self.checked = True
        if all(len(entries) == total for entries, (_v, total, _f) in zip(kept, lists, strict=True)):
            return record
        segments = _layout(record, msg + BGP_HEADER_LEN)
        for seg, entries in zip((seg for seg in segments if seg.kind == "list"), kept, strict=True):
            seg.kept = entries
        return _rebuild(record, msg, segments)

    def _wanted_hit(self, rec: bytes, seg: _Segment, hits: Sequence[int]) -> bool:
        """Step 3: whether a hit inside the list reads as a wanted prefix (entry boundary or not)."""
        bits = 32 if seg.version == 4 else 128
        for i in range(bisect.bisect_left(hits, seg.start), bisect.bisect_left(hits, seg.stop)):
            at = hits[i]
            stop = at + 1 + ((rec[at] + 7) >> 3)
            if rec[at] <= bits and stop <= seg.stop and self.wanted(seg.version, rec[at:stop]):
                return True
        return False

    def _walk(self, rec: bytes, seg: _Segment, hits: frozenset[int], add_path: bool) -> None:
        """Step 4: validate one NLRI list and collect its matching entries."""
        entries = _entries(rec, seg, add_path)
        seg.total = len(entries)
        seg.kept = [
            rec[pos:stop]
            for pos, at, stop in entries
            if at in hits and self.wanted(seg.version, rec[at:stop])
        ]


def could_keep(rec: bytes, hits: Sequence[int]) -> bool:
    """Whether :meth:`Slimmer.slim` could give anything but ``None`` for a BGP4MP message record, whatever
    the targets: ``False`` only for a well-framed message that is not an UPDATE (step 1), or a regular
    UPDATE in which no list entry starts at a hit (steps 2-5; irregular lists, repeats without ADD-PATH
    included, keep it). The pre-filter drops such records before they reach Python (step 7 of
    ``prefilter``; ``could_slim_keep`` in ``_scan.c`` is the compiled twin)."""
    try:
        msg = _message_offset(rec)
        if rec[msg + BGP_TYPE_OFFSET] != BGP_UPDATE:
            return False
        segments = _layout(rec, msg + BGP_HEADER_LEN)
    except (Irregular, IndexError, struct.error):
        return True
    add_path = _U16.unpack_from(rec, 6)[0] in ADDPATH_SUBTYPES
    hit_set = frozenset(hits)
    return any(_entry_at_hit(rec, seg, hit_set, add_path) for seg in segments if seg.kind == "list")


def _entry_at_hit(rec: bytes, seg: _Segment, hits: frozenset[int], add_path: bool) -> bool:
    """Whether an entry of the list starts at a hit, or the list is irregular (step 4 without the
    per-prefix test)."""
    try:
        return any(at in hits for _pos, at, _stop in _entries(rec, seg, add_path))
    except Irregular:
        return True


def _entries(rec: bytes, seg: _Segment, add_path: bool) -> list[tuple[int, int, int]]:
    """Step 4's walk of one NLRI list: (entry start, length byte offset, stop) of every entry. Irregular:
    an entry past the list's end, a prefix longer than the family allows, or, without ADD-PATH, the same
    entry twice."""
    bits = 32 if seg.version == 4 else 128
    skip = PATH_ID_BYTES if add_path else 0
    out: list[tuple[int, int, int]] = []
    pos, end = seg.start, seg.stop
    while pos < end:
        at = pos + skip
        if at >= end or rec[at] > bits:
            raise Irregular
        stop = at + 1 + ((rec[at] + 7) >> 3)
        if stop > end:
            raise Irregular
        out.append((pos, at, stop))
        pos = stop
    if not add_path and len(out) > 1 and len({rec[a:b] for a, _at, b in out}) != len(out):
        raise Irregular
    return out


def _message_offset(rec: bytes) -> int:
    """Step 1: where the BGP message of a BGP4MP message record starts (its length checked)."""
    if not framing.message_record(rec):
        raise Irregular
    mtype, subtype = _U16.unpack_from(rec, 4)[0], _U16.unpack_from(rec, 6)[0]
    pos = HEADER_LEN + (ET_BYTES if mtype == BGP4MP_ET else 0)
    pos += (8 if subtype in AS4_SUBTYPES else 4) + 2
    addr = AFI_ADDRESS_BYTES.get(_U16.unpack_from(rec, pos)[0])
    if addr is None:
        raise Irregular
    msg = pos + 2 + 2 * addr
    if msg + BGP_HEADER_LEN > len(rec) or msg + _U16.unpack_from(rec, msg + BGP_LENGTH_OFFSET)[0] != len(rec):
        raise Irregular
    return msg


def _layout(rec: bytes, pos: int) -> list[_Segment]:
    """Step 2: withdrawn routes, attributes (MP lists as their own segments) and NLRI."""
    wend = pos + 2 + _U16.unpack_from(rec, pos)[0]
    aend = wend + 2 + _U16.unpack_from(rec, wend)[0]
    if aend > len(rec):
        raise Irregular
    segments = [_Segment(pos + 2, wend, "list")]
    pos = wend + 2
    while pos < aend:
        flags, code = rec[pos], rec[pos + 1]
        wide = bool(flags & FLAG_EXTENDED)
        body = pos + (4 if wide else 3)
        stop = body + (_U16.unpack_from(rec, pos + 2)[0] if wide else rec[pos + 2])
        if stop > aend:
            raise Irregular
        if code in (ATTR_MP_REACH, ATTR_MP_UNREACH):
            segments.append(_Segment(pos, body, "mp_header"))
            segments.extend(_mp(rec, body, stop, code == ATTR_MP_REACH))
        else:
            segments.append(_Segment(pos, stop))
        pos = stop
    if pos != aend:
        raise Irregular
    segments.append(_Segment(aend, len(rec), "list"))
    return segments


def _mp(rec: bytes, body: int, stop: int, reach: bool) -> list[_Segment]:
    afi, safi = _U16.unpack_from(rec, body)[0], rec[body + 2]
    addr = AFI_ADDRESS_BYTES.get(afi)
    if addr is None or safi not in SLIM_SAFIS:
        raise Irregular
    head = body + 3
    if reach:
        hop_len = rec[head]
        if hop_len != addr and not (afi == 2 and hop_len == IPV6_DOUBLE_NEXT_HOP):
            raise Irregular
        head += 1 + hop_len + 1
    if head > stop:
        raise Irregular
    return [_Segment(body, head), _Segment(head, stop, "list", AFI_VERSION[afi])]


def _rebuild(rec: bytes, msg: int, segments: list[_Segment]) -> bytes:
    """Step 5: the record with only the kept entries and every framing length fixed."""
    withdrawn, *attrs, nlri = segments
    wbytes = b"".join(withdrawn.kept)
    abytes = _attribute_bytes(rec, attrs)
    body = _U16.pack(len(wbytes)) + wbytes + _U16.pack(len(abytes)) + abytes + b"".join(nlri.kept)
    length = _U16.pack(BGP_HEADER_LEN + len(body))
    bgp = rec[msg : msg + BGP_MARKER_LEN] + length + bytes([BGP_UPDATE]) + body
    payload = rec[HEADER_LEN:msg] + bgp
    return rec[:8] + _U32.pack(len(payload)) + payload


def _attribute_bytes(rec: bytes, attrs: list[_Segment]) -> bytes:
    """Attributes as written, MP_REACH/MP_UNREACH with the kept entries and their length fixed."""
    out: list[bytes] = []
    i = 0
    while i < len(attrs):
        seg = attrs[i]
        if seg.kind != "mp_header":
            out.append(rec[seg.start : seg.stop])
            i += 1
            continue
        head, nlri = attrs[i + 1], attrs[i + 2]
        value = rec[head.start : head.stop] + b"".join(nlri.kept)
        size = _U16.pack(len(value)) if rec[seg.start] & FLAG_EXTENDED else bytes([len(value)])
        out.append(rec[seg.start : seg.start + 2] + size + value)
        i += 3
    return b"".join(out)
