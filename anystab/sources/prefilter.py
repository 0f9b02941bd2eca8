"""Walk MRT records in decompressed bytes and keep only those that may hold a target's prefix.

Steps, per chunk of decompressed bytes (plus the unfinished record carried over from the last chunk):

1. Walk the 12-byte MRT common headers (timestamp, type, subtype, length) and note where each whole
   record starts. The length counts the body only; for ``*_ET`` types it includes the 4 microsecond bytes.
   The first header of a stream must have a known MRT type and a plausible length, else the stream is
   "not an MRT file". A header whose length exceeds :data:`MAX_RECORD_LEN` stops the walk.
2. Records of types anystab does not read (OSPF, IS-IS, the deprecated types 0-11) are skipped and counted.
3. Always keep TABLE_DUMP_V2 PEER_INDEX_TABLE records and BGP4MP/BGP4MP_ET state changes.
4. Scan the chunk with numpy for NLRI encodings (a length byte followed by the prefix bytes) of every
   prefix the target set keeps under its mode:
   a. candidate positions: the (length byte, first address byte) pair is in a 65,536-entry table built
      from the wanted prefixes, so bare 2-byte anchors such as ``01 01`` inside the ORIGIN attribute need
      a matching length byte in front to count;
   b. for each candidate, read the length byte and the next :data:`WINDOW_BYTES` bytes as one integer,
      mask off bits past the prefix length (trailing NLRI bits are ignored, as ``TargetSet`` does) and look
      the result up among the wanted covering prefixes (target itself and covers down to ``min_cover``);
   c. more-specifics: for each target length L, a candidate whose length byte is in [L, max] and whose
      first L bits (at most 56) equal a target's is a hit.
   A hit keeps the record it falls in. Prefixes longer than 56 bits are compared on their first 56 bits
   only: false positives are fine, the decoded elements are filtered exactly afterwards.
5. TABLE_DUMP (v1) stores the address before the length at fixed offsets: build the same window from
   those bytes and run steps 4b-4c on it directly.
6. A record whose declared length runs past the end of the stream is a torn tail: reported by the caller
   from :class:`WalkStats`.

``scanner=None`` keeps every record of a readable type.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from anystab.targets import TargetSet

HEADER = struct.Struct(">IHHI")
HEADER_LEN = 12
MAX_RECORD_LEN = 1 << 24
WINDOW_BYTES = 7
WINDOW_BITS = 8 * WINDOW_BYTES

TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET = 12, 13, 16, 17
READ_TYPES = frozenset({TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET})
ET_TYPES = frozenset({BGP4MP_ET, 33, 49})
KNOWN_TYPES = frozenset(range(0, 14)) | frozenset({16, 17, 32, 33, 48, 49})
PEER_INDEX_TABLE = 1
STATE_CHANGE_SUBTYPES = frozenset({0, 5})
TD1_AFI_V4, TD1_AFI_V6 = 1, 2
TD1_ADDR_OFFSET = HEADER_LEN + 4
_BITS = {4: 32, 6: 128}


@dataclass
class WalkStats:
    """What the walk saw: record counts, times, skipped types and where the stream stopped early."""

    records: int = 0
    rib_records: int = 0
    update_records: int = 0
    kept: int = 0
    first_time: float | None = None
    last_time: float | None = None
    skipped_types: dict[int, tuple[int, int]] = field(default_factory=dict)  # type -> (first offset, count)
    not_mrt: bool = False
    torn_offset: int | None = None
    torn_missing: int = 0
    bad_length_offset: int | None = None


def _window_mask(bits: int) -> int:
    bits = min(bits, WINDOW_BITS)
    return ((1 << bits) - 1) << (WINDOW_BITS - bits) if bits else 0


def _prefix_window(version: int, network: int, length: int) -> int:
    """The first :data:`WINDOW_BITS` bits of a prefix as they follow its NLRI length byte."""
    total = _BITS[version]
    value = network << WINDOW_BITS >> total if total < WINDOW_BITS else network >> (total - WINDOW_BITS)
    return value & _window_mask(length)


class Scanner:
    """Precomputed lookup tables for one target set; :meth:`hits` finds candidate NLRI positions."""

    def __init__(self, targets: TargetSet) -> None:
        covers: set[tuple[int, int, int]] = set()
        more: dict[tuple[int, int], set[int]] = {}
        for t in targets:
            version, length = t.prefix.version, t.prefix.prefixlen
            net = int(t.prefix.network_address)
            low = length if targets.mode in ("exact", "more") else targets.min_cover(version)
            for cl in range(low, length + 1):
                shift = _BITS[version] - cl
                covers.add((version, net >> shift << shift, cl))
            if targets.mode in ("more", "any"):
                more.setdefault((version, length), set()).add(_prefix_window(version, net, length))
        self.len_mask = np.array([(0xFF << WINDOW_BITS) | _window_mask(n) for n in range(256)], np.uint64)
        keys = {(cl << WINDOW_BITS) | _prefix_window(v, n, cl) for v, n, cl in covers}
        self.cover_keys = np.array(sorted(keys), dtype=np.uint64)
        self.more = [
            (length, _BITS[v], np.uint64(_window_mask(length)), np.array(sorted(vals), np.uint64))
            for (v, length), vals in sorted(more.items())
        ]
        self.pairs = np.zeros(1 << 16, dtype=bool)
        for v, n, cl in covers:
            self._mark_pairs(cl, cl, _prefix_window(v, n, cl) >> (WINDOW_BITS - 8), cl)
        for length, top, _mask, vals in self.more:
            for val in vals.tolist():
                self._mark_pairs(length, top, val >> (WINDOW_BITS - 8), length)

    def _mark_pairs(self, len_low: int, len_high: int, first_byte: int, bits: int) -> None:
        keep = min(bits, 8)
        free = 8 - keep
        base = (first_byte >> free) << free
        for nlen in range(len_low, len_high + 1):
            self.pairs[(nlen << 8) + base : (nlen << 8) + base + (1 << free)] = True

    def match_windows(self, lens: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """Which (length byte, following 7 bytes) candidates encode a wanted prefix (conservatively)."""
        keys = windows & self.len_mask[lens]
        ok = _isin_sorted(keys, self.cover_keys)
        payload = windows & np.uint64((1 << WINDOW_BITS) - 1)
        lens64 = lens.astype(np.int64)
        for length, top, mask, vals in self.more:
            sel = (lens64 >= length) & (lens64 <= top)
            ok |= sel & _isin_sorted(payload & mask, vals)
        return ok

    def hits(self, arr: np.ndarray, end: int) -> np.ndarray:
        """Positions before ``end`` in ``arr`` (zero-padded by 8 bytes) where a wanted NLRI may start."""
        pair = (arr[:end].astype(np.uint16) << 8) | arr[1 : end + 1]
        pos = np.flatnonzero(self.pairs[pair])
        if not len(pos):
            return pos
        windows = np.zeros(len(pos), dtype=np.uint64)
        for k in range(WINDOW_BYTES + 1):
            windows = (windows << np.uint64(8)) | arr[pos + k].astype(np.uint64)
        return pos[self.match_windows(arr[pos], windows)]


def _isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    idx = np.searchsorted(sorted_keys, values).clip(max=len(sorted_keys) - 1)
    return sorted_keys[idx] == values


@dataclass
class _Chunk:
    starts: list[int]
    types: list[int]
    subtypes: list[int]
    end: int


def _walk(buf: bytes, stats: WalkStats, base: int) -> _Chunk:
    """Header walk over whole records of ``buf``; stops at an incomplete or implausible record."""
    starts: list[int] = []
    types: list[int] = []
    subtypes: list[int] = []
    pos, n, unpack = 0, len(buf), HEADER.unpack_from
    while pos + HEADER_LEN <= n:
        ts, mtype, subtype, length = unpack(buf, pos)
        if stats.records == 0 and not starts and (mtype not in KNOWN_TYPES or length > MAX_RECORD_LEN):
            stats.not_mrt = True
            break
        if length > MAX_RECORD_LEN:
            stats.bad_length_offset = base + pos
            break
        end = pos + HEADER_LEN + length
        if end > n:
            break
        starts.append(pos)
        types.append(mtype)
        subtypes.append(subtype)
        pos = end
    return _Chunk(starts, types, subtypes, pos)


def _record_time(buf: bytes, start: int, mtype: int) -> float:
    ts = HEADER.unpack_from(buf, start)[0]
    if mtype in ET_TYPES and start + HEADER_LEN + 4 <= len(buf):
        return ts + int.from_bytes(buf[start + HEADER_LEN : start + HEADER_LEN + 4], "big") / 1e6
    return float(ts)


def _count(chunk: _Chunk, buf: bytes, stats: WalkStats, base: int) -> np.ndarray:
    """Update the stats; return which records are of a type anystab reads."""
    types = np.array(chunk.types, dtype=np.int64)
    readable = np.isin(types, list(READ_TYPES))
    for i in np.flatnonzero(~readable).tolist():
        first, count = stats.skipped_types.get(chunk.types[i], (base + chunk.starts[i], 0))
        stats.skipped_types[chunk.types[i]] = (first, count + 1)
    subtypes = np.array(chunk.subtypes, dtype=np.int64)
    rib = (types == TABLE_DUMP) | ((types == TABLE_DUMP_V2) & (subtypes != PEER_INDEX_TABLE))
    stats.rib_records += int(rib.sum())
    stats.update_records += int(((types == BGP4MP) | (types == BGP4MP_ET)).sum())
    stats.records += len(types)
    if stats.first_time is None:
        stats.first_time = _record_time(buf, chunk.starts[0], chunk.types[0])
    stats.last_time = _record_time(buf, chunk.starts[-1], chunk.types[-1])
    return readable


def _keep_mask(chunk: _Chunk, arr: np.ndarray, scanner: Scanner) -> np.ndarray:
    """Which walked records to keep (see the module docstring, steps 3-5)."""
    starts = np.array(chunk.starts, dtype=np.int64)
    types = np.array(chunk.types, dtype=np.int64)
    subtypes = np.array(chunk.subtypes, dtype=np.int64)
    keep = (types == TABLE_DUMP_V2) & (subtypes == PEER_INDEX_TABLE)
    keep |= ((types == BGP4MP) | (types == BGP4MP_ET)) & np.isin(subtypes, list(STATE_CHANGE_SUBTYPES))
    hit_pos = scanner.hits(arr, chunk.end)
    if len(hit_pos):
        keep[np.searchsorted(starts, hit_pos, side="right") - 1] = True
    keep |= _table_dump_v1_hits(starts, types, subtypes, arr, scanner)
    return keep


def _table_dump_v1_hits(
    starts: np.ndarray, types: np.ndarray, subtypes: np.ndarray, arr: np.ndarray, scanner: Scanner
) -> np.ndarray:
    keep = np.zeros(len(starts), dtype=bool)
    for afi, addr_len in ((TD1_AFI_V4, 4), (TD1_AFI_V6, 16)):
        idx = np.flatnonzero((types == TABLE_DUMP) & (subtypes == afi))
        if not len(idx):
            continue
        addr = starts[idx] + TD1_ADDR_OFFSET
        lens = arr[addr + addr_len]
        windows = np.zeros(len(idx), dtype=np.uint64)
        for k in range(WINDOW_BYTES):
            byte = arr[addr + k].astype(np.uint64) if k < addr_len else np.zeros(len(idx), np.uint64)
            windows = (windows << np.uint64(8)) | byte
        windows |= lens.astype(np.uint64) << np.uint64(WINDOW_BITS)
        keep[idx] = scanner.match_windows(lens, windows)
    return keep


def kept_records(
    chunks: Iterable[bytes], scanner: Scanner | None, stats: WalkStats
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset in the decompressed stream, record bytes with header)`` of every kept record."""
    carry, base = b"", 0
    for data in chunks:
        buf = carry + data if carry else data
        chunk = _walk(buf, stats, base)
        if chunk.starts:
            readable = _count(chunk, buf, stats, base)
            if scanner is None:
                keep = readable
            else:
                arr = np.frombuffer(buf[: chunk.end] + bytes(8), dtype=np.uint8)
                keep = _keep_mask(chunk, arr, scanner) & readable
            stats.kept += int(keep.sum())
            bounds = chunk.starts + [chunk.end]
            for i in np.flatnonzero(keep).tolist():
                yield base + bounds[i], buf[bounds[i] : bounds[i + 1]]
        if stats.not_mrt or stats.bad_length_offset is not None:
            return
        carry, base = buf[chunk.end :], base + chunk.end
    if (
        carry
        and stats.records == 0
        and (
            len(carry) < HEADER_LEN
            or carry[4:6] == b"\0\0"
            or HEADER.unpack_from(carry, 0)[1] not in KNOWN_TYPES
        )
    ):
        stats.not_mrt = True
    elif carry:
        stats.torn_offset = base
        need = HEADER.unpack_from(carry, 0)[3] + HEADER_LEN if len(carry) >= HEADER_LEN else HEADER_LEN
        stats.torn_missing = need - len(carry)
