"""Walk MRT records in decompressed bytes and keep only those that may hold a target's prefix.

Steps, per piece of about :data:`SCAN_BYTES` decompressed bytes (:data:`COMPILED_SCAN_BYTES` for the compiled
scanner), plus the unfinished record carried over:

1. Walk the 12-byte MRT common headers, reading only each record's length, and note where each whole
   record starts; types and subtypes are then gathered with numpy. The length counts the body only; for
   ``*_ET`` types it includes the 4 microsecond bytes. The first header of a stream must have a known MRT
   type and a plausible length, else the stream is "not an MRT file". A header whose length exceeds
   :data:`MAX_RECORD_LEN` stops the walk.
2. Records of types anystab does not read (OSPF, IS-IS, the deprecated types 0-11) are skipped and counted.
3. Always keep TABLE_DUMP_V2 PEER_INDEX_TABLE records and BGP4MP/BGP4MP_ET state changes.
4. RIB records hold one prefix at a fixed place: TABLE_DUMP (v1) the address before the length byte,
   TABLE_DUMP_V2 RIB_IPV4/IPV6_* the length byte and prefix after the 4-byte sequence number. Build the
   (length byte, following 7 bytes) window from those bytes and keep the record if step 5b-5c matches it;
   other bytes of a RIB record never decide.
5. For the other records (BGP4MP messages, RIB_GENERIC), scan the piece with numpy for NLRI encodings
   (a length byte followed by the prefix bytes) of every prefix the target set keeps under its mode:
   a. candidate positions: the (length byte, first address byte) pair, read as little-endian 16-bit
      words at even and at odd offsets, is in a 65,536-entry table built from the wanted prefixes, so bare
      2-byte anchors such as ``01 01`` inside the ORIGIN attribute need a matching length byte to count;
   b. for each candidate, read the length byte and the next :data:`WINDOW_BYTES` bytes as one big-endian
      integer (one 8-byte gather), mask off bits past the prefix length (trailing NLRI bits are ignored,
      as ``TargetSet`` does) and look the result up among the wanted covering prefixes (target itself and
      covers down to ``min_cover``);
   c. more-specifics: for each target length L, a candidate whose length byte is in [L, max] and whose
      first L bits (at most 56) equal a target's is a hit.
   Bytes past the end of a candidate's record read as zero, in a and b and in step 4: what a record's
   hits are never depends on the record after it, nor so on where a piece ends (only an NLRI entry that
   runs past its record could read them).
   d. a hit in a BGP4MP message counts only inside one of its NLRI lists: the withdrawn routes, the
      NLRI after the attributes, or the NLRI part of an MP_REACH_NLRI / MP_UNREACH_NLRI attribute. The
      framing of all such records of the piece is read at once with numpy (the attributes walked one
      step per attribute for all records together); a record whose framing does not add up (lengths
      past its end, not an UPDATE's shape) keeps every hit, a well-framed non-UPDATE none.
   A hit keeps the record it falls in. Prefixes longer than 56 bits are compared on their first 56 bits
   only: false positives are fine, :mod:`anystab.sources.slim` and the decoder check exactly afterwards.
   A piece whose records all have fixed-place prefixes is not scanned at all.
6. A record whose declared length runs past the end of the stream is a torn tail: reported by the caller
   from :class:`WalkStats`.
7. A kept BGP4MP message record that slimming would drop at once is dropped here instead
   (:func:`anystab.sources.slim.could_keep`): a well-framed non-UPDATE, or a regular UPDATE in which no
   NLRI list entry starts at a hit (hits inside an entry's bytes, e.g. ``08 08`` in ``18 08 08 08``, are
   most of the hits for short covering prefixes). Irregular framing keeps the record for the decoder.

``scanner=None`` keeps every record of a readable type.

The same steps run compiled (``anystab/sources/_scan.c``, built at install time when a C compiler is at
hand; :data:`anystab.sources.framing.ACCELERATED` says whether it is used, and ``ANYSTAB_PURE_PYTHON=1``
turns it off); the numpy code here is the fallback and the reference the compiled code is tested against.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from anystab.sources import framing, slim
from anystab.sources.framing import (
    AS4_MESSAGE_SUBTYPES,
    BGP4MP,
    BGP4MP_ET,
    BGP_HEADER_LEN,
    BGP_UPDATE,
    FLAG_EXTENDED,
    HEADER,
    HEADER_LEN,
    MESSAGE_SUBTYPES,
    TD2_RIB_SUBTYPES,
    message_record,
)
from anystab.targets import TargetSet
from anystab.units import US_PER_S

LENGTH = struct.Struct(">I")
LENGTH_OFFSET = 8
MAX_RECORD_LEN = 1 << 24
SCAN_BYTES = 1 << 20
COMPILED_SCAN_BYTES = 1 << 18  # a piece just inflated is still in the core's L2 cache when it is scanned
WINDOW_BYTES = 7
WINDOW_BITS = 8 * WINDOW_BYTES
PAD = bytes(WINDOW_BYTES + 1)

TABLE_DUMP, TABLE_DUMP_V2 = 12, 13
READ_TYPES = frozenset({TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET})
ET_TYPES = frozenset({BGP4MP_ET, 33, 49})
KNOWN_TYPES = frozenset(range(0, 14)) | frozenset({16, 17, 32, 33, 48, 49})
PEER_INDEX_TABLE = 1
TD2_PREFIX_OFFSET = HEADER_LEN + 4
STATE_CHANGE_SUBTYPES = frozenset({0, 5})
TD1_AFI_V4, TD1_AFI_V6 = 1, 2
TD1_ADDR_OFFSET = HEADER_LEN + 4
MP_ATTRIBUTES = (14, 15)
MAX_ATTRIBUTES = 64
_BITS = {4: 32, 6: 128}
_U64 = np.dtype(">u8")


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


_WINDOW_MASKS = np.array([_window_mask(n) for n in range(256)], np.uint64)
_FIRST_BYTES = np.array([(1 << 64) - (1 << 8 * (8 - n)) for n in range(9)], np.uint64)  # a window's first n


def _within_record(windows: np.ndarray, room: np.ndarray) -> np.ndarray:
    """The windows with their bytes past ``room`` (the bytes left in each one's record) read as zero."""
    masked: np.ndarray = windows & _FIRST_BYTES[np.clip(room, 0, WINDOW_BYTES + 1)]
    return masked


def _prefix_windows(keys: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The keys' lengths and each key's window, as arrays: the first :data:`WINDOW_BITS` bits of its prefix
    as they follow its NLRI length byte (the networks shifted in one pass, masked as one array: 10,000
    targets have tens of thousands of covers)."""
    lengths = np.array([length for _, _, length in keys], dtype=np.int64)
    v4_shift, v6_shift = WINDOW_BITS - _BITS[4], _BITS[6] - WINDOW_BITS
    first = [net << v4_shift if version == 4 else net >> v6_shift for version, net, _ in keys]
    return lengths, np.array(first, dtype=np.uint64) & _WINDOW_MASKS[lengths]


class Scanner:
    """Precomputed lookup tables for one target set; :meth:`hits` finds candidate NLRI positions."""

    def __init__(self, targets: TargetSet) -> None:
        # the target prefixes (exact, more) or them and their covers (less, any): the set's own
        covers = targets.exact_keys if targets.mode in ("exact", "more") else targets.cover_keys
        more: dict[tuple[int, int], set[int]] = {}
        if targets.mode in ("more", "any"):
            exact = list(targets.exact_keys)
            exact_windows = _prefix_windows(exact)[1].tolist()
            for (version, _net, length), window in zip(exact, exact_windows, strict=True):
                more.setdefault((version, length), set()).add(window)
        self.len_mask = np.uint64(0xFF << WINDOW_BITS) | _WINDOW_MASKS  # the length byte, its prefix bits
        cover_lengths, windows = _prefix_windows(list(covers))
        self.cover_keys = np.unique((cover_lengths.astype(np.uint64) << np.uint64(WINDOW_BITS)) | windows)
        self.more = [
            (length, _BITS[v], np.uint64(_window_mask(length)), np.array(sorted(vals), np.uint64))
            for (v, length), vals in sorted(more.items())
        ]
        self.pairs = np.zeros(1 << 16, dtype=bool)
        # marking is idempotent: each (length, first byte) once, not once per prefix
        first_bytes = (windows >> np.uint64(WINDOW_BITS - 8)).tolist()
        for cl, first_byte in sorted(set(zip(cover_lengths.tolist(), first_bytes, strict=True))):
            self._mark_pairs(cl, cl, first_byte, cl)
        for length, top, _mask, vals in self.more:
            for first_byte in sorted(set((vals >> np.uint64(WINDOW_BITS - 8)).tolist())):
                self._mark_pairs(length, top, first_byte, length)
        # the same table indexed by a little-endian word: (first byte << 8) | length byte
        self.pairs_le = np.ascontiguousarray(self.pairs.reshape(256, 256).T).ravel()
        self._compiled: object = None

    def compiled_tables(self) -> object:
        """These tables in the compiled scanner's form (built on first use)."""
        if self._compiled is not None or framing.scan is None:
            return self._compiled
        # per target length: length, top, mask, count, then the sorted values
        groups = [np.array([n, top, mask, len(vals), *vals], np.uint64) for n, top, mask, vals in self.more]
        more = np.concatenate(groups).tobytes() if groups else b""
        pairs, masks = self.pairs.astype(np.uint8).tobytes(), self.len_mask.tobytes()
        self._compiled = framing.scan.make_tables(pairs, masks, self.cover_keys.tobytes(), more)
        return self._compiled

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
        for length, top, mask, vals in self.more:  # each target length: the candidates still undecided
            at = np.flatnonzero((lens64 >= length) & (lens64 <= top) & ~ok)
            if len(at):
                ok[at] = _isin_sorted(payload[at] & mask, vals)
        return ok

    def candidates(self, arr: np.ndarray, end: int) -> np.ndarray:
        """Sorted positions before ``end`` whose (length byte, first address byte) pair is wanted."""
        even = end + (end & 1)
        at_even = np.flatnonzero(self.pairs_le[arr[:even].view("<u2")]) * 2
        at_odd = np.flatnonzero(self.pairs_le[arr[1 : even + 1].view("<u2")]) * 2 + 1
        pos = np.concatenate((at_even, at_odd))
        pos = pos[pos < end]
        pos.sort()
        return pos

    def hits(self, arr: np.ndarray, end: int, starts: np.ndarray | None = None) -> np.ndarray:
        """Positions before ``end`` in ``arr`` (zero-padded by 8 bytes) where a wanted NLRI may start.
        ``starts``: where the records there start (one after another up to ``end``): a candidate's bytes
        past its record read as zero, as past ``end`` (step 5)."""
        pos = self.candidates(arr, end)
        if starts is not None and len(starts):
            pos, lens, windows = self._within_records(arr, pos, starts, np.append(starts[1:], end))
        elif len(pos):
            lens, windows = arr[pos], windows_at(arr, pos)
        else:
            return pos
        found: np.ndarray = pos[self.match_windows(lens, windows)]
        return found

    def _within_records(
        self, arr: np.ndarray, pos: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates with their records' last bytes that a zero after them makes candidates, each
        one's length byte and window read within its record, those whose pair is still wanted."""
        last = ends - 1  # a record's last byte as a length byte: the byte after it reads as zero
        last = last[self.pairs[arr[last].astype(np.int64) << 8]]
        if len(last):  # merged into the sorted candidates, each position once
            at = np.searchsorted(pos, last)
            known = pos[np.minimum(at, len(pos) - 1)] == last if len(pos) else np.zeros(len(last), bool)
            pos = np.sort(np.concatenate((pos, last[~known])), kind="stable")
        windows = _within_record(
            windows_at(arr, pos), ends[np.searchsorted(starts, pos, side="right") - 1] - pos
        )
        wanted = self.pairs[(windows >> np.uint64(WINDOW_BITS - 8)).astype(np.int64)]  # length, first byte
        return pos[wanted], arr[pos][wanted], windows[wanted]


def windows_at(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The 8 bytes at each position of ``arr`` as one big-endian unsigned integer."""
    rows = np.lib.stride_tricks.as_strided(arr, (len(arr) - WINDOW_BYTES, WINDOW_BYTES + 1), (1, 1))
    return np.ascontiguousarray(rows[pos]).view(_U64).ravel().astype(np.uint64)


def _isin_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    idx = np.searchsorted(sorted_keys, values).clip(max=len(sorted_keys) - 1)
    found: np.ndarray = sorted_keys[idx] == values
    return found


@dataclass
class _Chunk:
    starts: list[int]
    end: int


def _walk(buf: bytes, stats: WalkStats, base: int) -> _Chunk:
    """Header walk over whole records of ``buf``; stops at an incomplete or implausible record."""
    starts: list[int] = []
    pos, n = 0, len(buf)
    if stats.records == 0 and n >= HEADER_LEN:
        _ts, mtype, _sub, length = HEADER.unpack_from(buf, 0)
        if mtype not in KNOWN_TYPES or length > MAX_RECORD_LEN:
            stats.not_mrt = True
            return _Chunk(starts, 0)
    append, unpack = starts.append, LENGTH.unpack_from
    while pos + HEADER_LEN <= n:
        length = unpack(buf, pos + LENGTH_OFFSET)[0]
        if length > MAX_RECORD_LEN:
            stats.bad_length_offset = base + pos
            break
        end = pos + HEADER_LEN + length
        if end > n:
            break
        append(pos)
        pos = end
    return _Chunk(starts, pos)


def _record_time(buf: bytes | bytearray, start: int, mtype: int) -> float:
    ts: int = HEADER.unpack_from(buf, start)[0]
    if mtype in ET_TYPES and start + HEADER_LEN + 4 <= len(buf):
        return ts + int.from_bytes(buf[start + HEADER_LEN : start + HEADER_LEN + 4], "big") / US_PER_S
    return float(ts)


@dataclass
class _Records:
    """The walked records of one piece as numpy columns."""

    starts: np.ndarray
    types: np.ndarray
    subtypes: np.ndarray


def _columns(chunk: _Chunk, arr: np.ndarray) -> _Records:
    starts = np.array(chunk.starts, dtype=np.int64)
    types = arr[starts + 4].astype(np.int64) << 8 | arr[starts + 5]
    subtypes = arr[starts + 6].astype(np.int64) << 8 | arr[starts + 7]
    return _Records(starts, types, subtypes)


def _count(recs: _Records, buf: bytes, stats: WalkStats, base: int) -> np.ndarray:
    """Update the stats; return which records are of a type anystab reads."""
    types, subtypes = recs.types, recs.subtypes
    readable: np.ndarray = (
        (types == TABLE_DUMP) | (types == TABLE_DUMP_V2) | (types == BGP4MP) | (types == BGP4MP_ET)
    )
    for i in np.flatnonzero(~readable).tolist():
        mtype = int(types[i])
        first, count = stats.skipped_types.get(mtype, (base + int(recs.starts[i]), 0))
        stats.skipped_types[mtype] = (first, count + 1)
    rib = (types == TABLE_DUMP) | ((types == TABLE_DUMP_V2) & (subtypes != PEER_INDEX_TABLE))
    stats.rib_records += int(rib.sum())
    stats.update_records += int(((types == BGP4MP) | (types == BGP4MP_ET)).sum())
    stats.records += len(types)
    if stats.first_time is None:
        stats.first_time = _record_time(buf, int(recs.starts[0]), int(types[0]))
    stats.last_time = _record_time(buf, int(recs.starts[-1]), int(types[-1]))
    return readable


def _keep_mask(recs: _Records, arr: np.ndarray, end: int, scanner: Scanner) -> tuple[np.ndarray, np.ndarray]:
    """Which walked records to keep (module docstring, steps 3-5), and the hits in scanned records."""
    starts, types, subtypes = recs.starts, recs.types, recs.subtypes
    keep = (types == TABLE_DUMP_V2) & (subtypes == PEER_INDEX_TABLE)
    bgp4mp = (types == BGP4MP) | (types == BGP4MP_ET)
    keep |= bgp4mp & np.isin(subtypes, list(STATE_CHANGE_SUBTYPES))
    td2 = (types == TABLE_DUMP_V2) & np.isin(subtypes, list(TD2_RIB_SUBTYPES))
    fixed = td2 | (types == TABLE_DUMP)
    keep |= _fixed_prefix_hits(recs, td2, arr, scanner)
    scanned = ~fixed & ~keep
    hit_pos = np.zeros(0, dtype=np.int64)
    if scanned.any():
        hit_pos = scanner.hits(arr, end, starts)
        owner = np.searchsorted(starts, hit_pos, side="right") - 1
        inside = scanned[owner]
        message = np.flatnonzero(bgp4mp & np.isin(subtypes, MESSAGE_SUBTYPES) & scanned)
        if len(message) and len(hit_pos):
            inside &= _in_nlri_lists(arr, recs, message, hit_pos, owner)
        hit_pos = hit_pos[inside]
        keep[owner[inside]] = True
    return keep, hit_pos


def _u16(arr: np.ndarray, at: np.ndarray) -> np.ndarray:
    value: np.ndarray = arr.take(at, mode="clip").astype(np.int64) << 8 | arr.take(at + 1, mode="clip")
    return value


def _in_nlri_lists(
    arr: np.ndarray, recs: _Records, message: np.ndarray, hit_pos: np.ndarray, owner: np.ndarray
) -> np.ndarray:
    """Step 5d: which hits lie inside an NLRI list of their BGP4MP message record (others: True)."""
    starts, types, subtypes = recs.starts[message], recs.types[message], recs.subtypes[message]
    ends = _record_ends(arr, starts)
    pos = (
        starts
        + HEADER_LEN
        + 4 * (types == BGP4MP_ET)
        + np.where(np.isin(subtypes, AS4_MESSAGE_SUBTYPES), 8, 4)
    )
    afi = _u16(arr, pos + 2)
    msg = pos + 4 + 2 * np.where(afi == 2, 16, 4)
    wstart = msg + BGP_HEADER_LEN + 2
    wend = wstart + _u16(arr, wstart - 2)
    astart = wend + 2
    aend = astart + _u16(arr, wend)
    bad = ((afi != 1) & (afi != 2)) | (msg + _u16(arr, msg + 16) != ends) | (aend > ends)
    update = arr.take(msg + 18, mode="clip") == BGP_UPDATE
    lo, hi, bad = _mp_values(arr, astart, aend, bad)
    # per hit: its record's row among `message` (or -1), then the regions of that row
    row = np.full(len(recs.starts), -1, dtype=np.int64)
    row[message] = np.arange(len(message))
    r = row[owner]
    ok: np.ndarray = r < 0
    m = ~ok
    rr = r[m]
    h = hit_pos[m]
    inside = bad[rr] | (
        update[rr] & (((h >= wstart[rr]) & (h < wend[rr])) | ((h >= aend[rr]) & (h < ends[rr])))
    )
    for k in range(lo.shape[1]):
        inside |= update[rr] & (h >= lo[rr, k]) & (h < hi[rr, k])
    ok[m] = inside
    return ok


def _mp_values(
    arr: np.ndarray, pos: np.ndarray, aend: np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk the attributes of every record together; the value ranges of their MP attributes."""
    pos = pos.copy()
    bad = bad.copy()
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    for _ in range(MAX_ATTRIBUTES):
        active = ~bad & (pos < aend)
        if not active.any():
            break
        flags, code = arr.take(pos, mode="clip"), arr.take(pos + 1, mode="clip")
        wide = (flags & FLAG_EXTENDED) != 0
        size = np.where(wide, _u16(arr, pos + 2), arr.take(pos + 2, mode="clip"))
        body = pos + 3 + wide
        stop = body + size
        mp = active & np.isin(code, MP_ATTRIBUTES)
        # NLRI start: after AFI, SAFI (and for MP_REACH: next hop length, next hop, reserved byte)
        nlri = np.where(code == MP_ATTRIBUTES[0], body + 5 + arr.take(body + 3, mode="clip"), body + 3)
        lows.append(np.where(mp, nlri, -1))
        highs.append(np.where(mp, stop, -1))
        bad |= active & (stop > aend)
        pos = np.where(active, stop, pos)
    bad |= pos != aend
    if not lows:
        empty = np.full((len(pos), 1), -1, dtype=np.int64)
        return empty, empty, bad
    return np.stack(lows, axis=1), np.stack(highs, axis=1), bad


def _fixed_prefix_hits(recs: _Records, td2: np.ndarray, arr: np.ndarray, scanner: Scanner) -> np.ndarray:
    """Steps 4: the one prefix of TABLE_DUMP and TABLE_DUMP_V2 RIB records, read where it is written."""
    keep = np.zeros(len(recs.starts), dtype=bool)
    idx = np.flatnonzero(td2)
    last = len(arr) - WINDOW_BYTES - 1
    if len(idx):
        at = recs.starts[idx] + TD2_PREFIX_OFFSET
        ends = _record_ends(arr, recs.starts[idx])
        short = at >= ends
        at = np.minimum(at, last)
        windows = _within_record(windows_at(arr, at), ends - at)  # a short record's: kept whatever they read
        keep[idx] = scanner.match_windows(arr[at], windows) | short
    for afi, addr_len in ((TD1_AFI_V4, 4), (TD1_AFI_V6, 16)):
        idx = np.flatnonzero((recs.types == TABLE_DUMP) & (recs.subtypes == afi))
        if not len(idx):
            continue
        addr = recs.starts[idx] + TD1_ADDR_OFFSET
        short = addr + addr_len >= _record_ends(arr, recs.starts[idx])
        lens = arr.take(addr + addr_len, mode="clip")
        windows = zeros = np.zeros(len(idx), dtype=np.uint64)
        for k in range(WINDOW_BYTES):
            byte = arr.take(addr + k, mode="clip").astype(np.uint64) if k < addr_len else zeros
            windows = (windows << np.uint64(8)) | byte
        windows |= lens.astype(np.uint64) << np.uint64(WINDOW_BITS)
        keep[idx] = scanner.match_windows(lens, windows) | short
    return keep


def _record_ends(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Where each record ends (its header's length); a record too short for its fixed-place prefix is
    kept so that the decoder reports it rather than the window reading past the piece."""
    length = arr[starts + 8].astype(np.int64) << 24 | _u16(arr, starts + 9) << 8 | arr[starts + 11]
    ends: np.ndarray = starts + HEADER_LEN + length
    return ends


def pieces(chunks: Iterable[bytes], size: int = SCAN_BYTES) -> Iterator[bytes]:
    """The chunks joined into pieces of at least ``size`` bytes (the last one may be shorter)."""
    parts: list[bytes] = []
    total = 0
    for data in chunks:
        parts.append(data)
        total += len(data)
        if total >= size:
            yield parts[0] if len(parts) == 1 else b"".join(parts)
            parts, total = [], 0
    if parts:
        yield b"".join(parts)


def _piece_records(
    buf: bytes, scanner: Scanner | None, stats: WalkStats, base: int
) -> tuple[list[int], np.ndarray, int]:
    """Walk one piece: starts of kept records, hit positions in scanned records, end of the last record."""
    chunk = _walk(buf, stats, base)
    none = np.zeros(0, dtype=np.int64)
    if not chunk.starts:
        return [], none, chunk.end
    arr = np.frombuffer(buf[: chunk.end] + PAD, dtype=np.uint8)
    recs = _columns(chunk, arr)
    keep = _count(recs, buf, stats, base)
    hit_pos = none
    if scanner is not None:
        wanted, hit_pos = _keep_mask(recs, arr, chunk.end, scanner)
        keep &= wanted
    kept = recs.starts[keep].tolist()
    stats.kept += len(kept)
    return kept, hit_pos, chunk.end


def kept_records_with_hits(
    chunks: Iterable[bytes], scanner: Scanner | None, stats: WalkStats, compiled: bool | None = None
) -> Iterator[tuple[int, bytes, list[int]]]:
    """Like :func:`kept_records`, with the scanner's hit positions inside each record (offsets from its
    first header byte; empty for records kept for another reason). ``compiled`` chooses the compiled
    scanner or the numpy code (default: :data:`anystab.sources.framing.ACCELERATED`)."""
    if framing.ACCELERATED if compiled is None else compiled:
        yield from _kept_compiled(chunks, scanner, stats)
        return
    carry, base = b"", 0
    unpack = LENGTH.unpack_from
    for data in pieces(chunks, SCAN_BYTES):
        buf = carry + data if carry else data
        kept, hit_pos, end = _piece_records(buf, scanner, stats, base)
        bounds = np.searchsorted(hit_pos, kept).tolist() + [len(hit_pos)]
        hits = hit_pos.tolist()
        for i, start in enumerate(kept):
            stop = start + HEADER_LEN + unpack(buf, start + LENGTH_OFFSET)[0]
            inside = [h - start for h in hits[bounds[i] : bounds[i + 1]] if h < stop]
            record = buf[start:stop]
            if inside and message_record(record) and not slim.could_keep(record, inside):
                stats.kept -= 1  # step 7
                continue
            yield base + start, record, inside
        if stats.not_mrt or stats.bad_length_offset is not None:
            return
        carry, base = buf[end:], base + end
    _finish(carry, base, stats)


def kept_records(
    chunks: Iterable[bytes], scanner: Scanner | None, stats: WalkStats, compiled: bool | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset in the decompressed stream, record bytes with header)`` of every kept record."""
    for offset, record, _hits in kept_records_with_hits(chunks, scanner, stats, compiled):
        yield offset, record


def _kept_compiled(
    chunks: Iterable[bytes], scanner: Scanner | None, stats: WalkStats
) -> Iterator[tuple[int, bytes, list[int]]]:
    """:func:`kept_records_with_hits` with steps 1-5 of each piece done by the compiled scanner."""
    if framing.scan is None:
        raise RuntimeError("the compiled scanner is not built (reinstall anystab with a C compiler)")
    tables = None if scanner is None else scanner.compiled_tables()
    buf, base = bytearray(), 0  # the unfinished record carried over, then the next piece: as pieces() joins
    for piece in _filled(chunks, buf, COMPILED_SCAN_BYTES):
        if stats.records == 0 and len(piece) >= HEADER_LEN and not _mrt_start(piece):
            stats.not_mrt = True
            return
        end, bad, records, rib, updates, first, last, kept, skipped = framing.scan.scan_piece(piece, tables)
        if records:
            stats.records += records
            stats.rib_records += rib
            stats.update_records += updates
            stats.kept += len(kept)
            if stats.first_time is None:
                stats.first_time = _record_time(piece, first, HEADER.unpack_from(piece, first)[1])
            stats.last_time = _record_time(piece, last, HEADER.unpack_from(piece, last)[1])
            for mtype, (offset, count) in skipped.items():
                seen, before = stats.skipped_types.get(mtype, (base + offset, 0))
                stats.skipped_types[mtype] = (seen, before + count)
        with memoryview(piece) as view:  # (no view may outlive the piece: buf is resized)
            records = [(base + start, bytes(view[start:stop]), hits) for start, stop, hits in kept]
            if bad < 0 and piece is not buf:
                buf += view[end:]  # what a piece alone leaves over is carried as a gathered one's
        yield from records
        if bad >= 0:
            stats.bad_length_offset = base + bad
            return
        if piece is buf:
            del buf[:end]  # moves the start of the buffer, not its bytes
        base += end
    _finish(bytes(buf), base, stats)


def _filled(chunks: Iterable[bytes], buf: bytearray, size: int) -> Iterator[bytes | bytearray]:
    """The pieces to scan, as :func:`pieces` cuts them: ``buf`` with the chunks appended to it, paused
    each time they form a piece (the caller scans the buffer and deletes its head; one buffer, filled in
    place, instead of a piece joined and joined again with the carried bytes: two new megabytes a piece,
    and their page faults); or, when nothing is carried over and one chunk is the whole piece (the
    first piece of a file, and a small file's only one), the chunk itself, not copied (the caller
    carries over what is left of it in ``buf``)."""
    total = 0
    alone: bytes | None = None  # the piece's first chunk, while it might be the piece alone
    for data in chunks:
        if total == 0 and not buf:
            if len(data) >= size:
                yield data
                continue
            alone, total = data, len(data)
            continue
        if alone is not None:
            buf += alone
            alone = None
        buf += data
        total += len(data)
        if total >= size:
            yield buf
            total = 0
    if alone is not None:
        yield alone
    elif total:
        yield buf


def _mrt_start(buf: bytes | bytearray) -> bool:
    """Whether the stream's first header has a known MRT type and a plausible length (step 1)."""
    _ts, mtype, _sub, length = HEADER.unpack_from(buf, 0)
    return mtype in KNOWN_TYPES and length <= MAX_RECORD_LEN


def _finish(carry: bytes, base: int, stats: WalkStats) -> None:
    """Step 6: what is left after the last whole record is a torn record or not MRT at all."""
    if not carry:
        return
    if stats.records == 0 and (
        len(carry) < HEADER_LEN or carry[4:6] == b"\0\0" or HEADER.unpack_from(carry, 0)[1] not in KNOWN_TYPES
    ):
        stats.not_mrt = True
        return
    stats.torn_offset = base
    need = HEADER.unpack_from(carry, 0)[3] + HEADER_LEN if len(carry) >= HEADER_LEN else HEADER_LEN
    stats.torn_missing = need - len(carry)
