"""Read one MRT file into element rows, exactly as Debian's ``bgpdump -m`` prints them.

Steps:

1. Stream the decompressed bytes (:mod:`anystab.sources.decompress`).
2. Walk the MRT records and keep those that may hold a target's prefix, every PEER_INDEX_TABLE and every
   state change (:mod:`anystab.sources.prefilter`); check each kept BGP4MP UPDATE exactly and cut it down
   to the NLRI that match, dropping it when none does (:mod:`anystab.sources.slim`).
3. Decode each kept record on its own with mrtparse (``mrtparse.Reader`` over the record's bytes; the
   reader resets mrtparse's module-level AS-size and ADD-PATH flags per record). NLRI with bits set past
   the prefix length are accepted and printed as written (``11.13.0.0/13``), as bgpdump does. A record
   mrtparse cannot decode is reported with its offset and skipped. A regular BGP4MP UPDATE is decoded
   by :mod:`anystab.sources.bgp4mp` instead, into the values mrtparse gives (it hands back any record it
   does not fully understand; ``FAST_UPDATES = False``: mrtparse decodes every record).
4. Turn records into elements in bgpdump's order: for an UPDATE, withdrawals (withdrawn routes, then
   MP_UNREACH) before announcements (NLRI, then MP_REACH); for a RIB record, one ``R`` per entry with the
   MRT header time; state changes become ``S``. 2-byte sessions get AS4_PATH merged into AS_PATH as
   bgpdump does (whole AS_PATH segments are copied while the merged path is shorter than
   ``len(AS_PATH) - len(AS4_PATH)``, AS_SETs counting 1; skipped when AS4_PATH is longer), and
   AS4_AGGREGATOR replaces an AGGREGATOR of AS_TRANS.
5. Keep elements whose prefix ``targets.matches`` (state changes always), and build an Arrow table with
   schema :data:`anystab.schemas.ELEMENTS`.
6. Bounds: a TABLE_DUMP_V2 RIB record with more than :data:`MAX_RIB_ENTRIES` entries is cut to its first
   ones before decoding (decoding costs memory per entry); a peer holding more than
   :data:`MAX_PATHS_PER_PREFIX` ADD-PATH routes (path ids not withdrawn) for one prefix in one file has the
   extra ones ignored. Both are reported as problems with the count of what was left out.

Damage inside a file never raises: it becomes a :class:`Problem`. A missing or unreadable path raises
:class:`anystab.errors.BadInputError`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import itertools
import os
import signal
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import mrtparse
import mrtparse.base
import pyarrow as pa

from anystab.schemas import ELEMENTS
from anystab.sources import bgp4mp, framing, prefilter
from anystab.sources.decompress import Stream, StreamsAhead, open_stream
from anystab.sources.framing import ADDPATH_SUBTYPES, BGP_UPDATE, TD2_RIB_SUBTYPES
from anystab.sources.slim import Slimmer
from anystab.targets import TargetSet
from anystab.units import US_PER_S

AS_TRANS = "23456"
AS_SET, AS_SEQUENCE, AS_CONFED_SEQUENCE, AS_CONFED_SET = 1, 2, 3, 4
AS4_SUBTYPES = frozenset({4, 5, 7, 9, 11})
TD2_V6_SUBTYPES = frozenset({4, 5, 10, 11})
ATTR_ORIGIN, ATTR_AS_PATH, ATTR_NEXT_HOP, ATTR_MED, ATTR_LOCAL_PREF = 1, 2, 3, 4, 5
ATTR_ATOMIC, ATTR_AGGREGATOR, ATTR_COMMUNITY = 6, 7, 8
ATTR_MP_REACH, ATTR_MP_UNREACH, ATTR_AS4_PATH, ATTR_AS4_AGGREGATOR = 14, 15, 17, 18
BGPDUMP_NO_NEXT_HOP = "255.255.255.255"
BGPDUMP_NO_ORIGIN = "INCOMPLETE"
TRUNCATED_NLRI = "NLRI runs past the end of the BGP message; the cut prefix is ignored"
_SEGMENT_FORMAT = {
    AS_SET: ("{", ",", "}"),
    AS_CONFED_SET: ("[", ",", "]"),
    AS_CONFED_SEQUENCE: ("(", " ", ")"),
}
SCANNER_CACHE = 8
MAX_RIB_ENTRIES = 4096  # real dumps hold a few hundred per prefix (peers x paths)
MAX_PATHS_PER_PREFIX = 1024
RIB_CUT = f"RIB record with more than {MAX_RIB_ENTRIES} entries; the rest of it ignored"
PATHS_CUT = f"more than {MAX_PATHS_PER_PREFIX} ADD-PATH routes for one prefix from one peer; the rest ignored"
MAX_STATE_CODE = (1 << 15) - 1  # the state columns are int16; BGP's FSM has 6 states (7, 8 non-standard)
ONE_BATCH_ROWS = 1 << 20
SETTLE_ROWS = 1 << 16  # rows kept as Python lists before they become one Arrow record batch
FEW_ROWS_PER_FILE = 1024  # files' tables averaging fewer rows are joined into one chunk (joined_if_few_rows)
FEW_ROWS = 512  # up to this many rows, the lists become a record batch as rows (faster for few rows)
_NO_ELEMENTS = ELEMENTS.empty_table()
_ROW_TYPE = pa.struct(list(ELEMENTS))
_ET_TYPE = framing.BGP4MP_ET.to_bytes(2, "big")
_TIME_COLUMN = ELEMENTS.names.index("time")
_MESSAGE_HEADS = frozenset(
    t.to_bytes(2, "big") + s.to_bytes(2, "big")
    for t in (framing.BGP4MP, framing.BGP4MP_ET)
    for s in framing.MESSAGE_SUBTYPES
)
FAST_UPDATES = True  # regular BGP4MP UPDATEs decoded by anystab.sources.bgp4mp, as mrtparse decodes them
DECODE_CACHE_RECORDS = 4096
DECODE_CACHE_BYTES = 16 << 20
_EPOCH = datetime(1970, 1, 1)


def restore_sigpipe() -> None:
    """Ignore SIGPIPE again: importing mrtparse resets it to the default action, which kills the process
    (exit 141) when it writes to a closed pipe or socket. Only the main thread may set signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, AttributeError):  # a subinterpreter; no SIGPIPE on the platform
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)


restore_sigpipe()


@dataclass(frozen=True)
class Problem:
    """Damage found in a file: where (offset in the decompressed stream, if known), what, how often."""

    path: str
    offset: int | None
    reason: str
    count: int = 1


@dataclass
class FileResult:
    """Everything read from one file. ``kind`` is told from its records: rib, updates, empty or unknown."""

    path: str
    collector: str
    kind: str
    records: int
    elements: pa.Table
    problems: list[Problem] = field(default_factory=list)
    first_time: float | None = None
    last_time: float | None = None
    decompressed_bytes: int = 0


@dataclass
class _Attrs:
    origin: str | None = None
    as_path: str = ""
    next_hop: str | None = None
    local_pref: int = 0
    med: int = 0
    communities: list[str] = field(default_factory=list)
    atomic: bool = False
    aggregator: str | None = None
    mp_next_hop: str | None = None
    announced: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)


class _LenientNlri(mrtparse.base.Nlri):  # type: ignore[misc]  # mrtparse has no types: subclassing Any
    """mrtparse's NLRI decoder, lenient like bgpdump: bits set past the prefix length are kept as
    written; a last prefix cut short by the end of the message gives ``prefix=None`` and ends the list."""

    def val_addr(self, af: int, plen: int = -1) -> str | None:
        if af not in (1, 2):
            raise mrtparse.base.MrtFormatError(f"Unsupported AFI {af}")
        family, size = (socket.AF_INET, 4) if af == 1 else (socket.AF_INET6, 16)
        plen = size * 8 if plen < 0 else plen
        if plen > size * 8:
            raise mrtparse.base.MrtFormatError(f"Invalid prefix length {plen}")
        n = (plen + 7) // 8
        buf: bytes = self.buf
        pos: int = self.p  # type: ignore[has-type]  # set by mrtparse's untyped base class
        if len(buf) - pos < n:
            self.p = len(buf)
            return None
        self.p = pos + n
        raw = buf[pos : pos + n]
        return socket.inet_ntop(family, raw + bytes(size - n))


def _checked_aigp(attr: Any) -> None:
    """mrtparse's AIGP decoder (``BgpAttr.unpack_aigp``), except that a TLV shorter than its own 3-byte
    header is damage: mrtparse reads its value with a negative size, steps back, and loops forever while
    its list of TLVs grows until the machine's memory is gone."""
    end = attr.p + attr.data["length"]
    attr.data["value"] = []
    while attr.p < end:
        tlv: dict[str, int] = collections.OrderedDict()
        tlv["type"] = attr.val_num(1)
        tlv["length"] = attr.val_num(2)
        if tlv["length"] < 3:
            raise mrtparse.base.MrtFormatError(f"AIGP TLV length {tlv['length']} under its 3-byte header")
        tlv["value"] = attr.val_num(tlv["length"] - 3)
        attr.data["value"].append(tlv)


@contextmanager
def _lenient_mrtparse() -> Iterator[None]:
    """mrtparse with :class:`_LenientNlri` and :func:`_checked_aigp` inside, restored after."""
    saved, saved_aigp = mrtparse.base.Nlri, mrtparse.BgpAttr.unpack_aigp
    mrtparse.base.Nlri, mrtparse.BgpAttr.unpack_aigp = _LenientNlri, _checked_aigp
    try:
        yield
    finally:
        mrtparse.base.Nlri, mrtparse.BgpAttr.unpack_aigp = saved, saved_aigp


def _key(d: Mapping[int, Any]) -> int:
    key: int = next(iter(d))
    return key


def _segment_count(seg: Mapping[str, Any]) -> int:
    kind = _key(seg["type"])
    if kind in (AS_CONFED_SEQUENCE, AS_CONFED_SET):
        return 0
    return 1 if kind == AS_SET else len(seg["value"])


def merge_as4_path(as_path: list[dict[str, Any]], as4_path: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AS_PATH and AS4_PATH of a 2-byte session merged per RFC 6793, as bgpdump does.

    The first ``len(AS_PATH) - len(AS4_PATH)`` ASes of AS_PATH (an AS_SET counts 1, confederation segments
    0) are followed by AS4_PATH; an AS4_PATH longer than AS_PATH is ignored.
    """
    need = sum(map(_segment_count, as_path)) - sum(map(_segment_count, as4_path))
    if need < 0:
        return as_path
    merged: list[dict[str, Any]] = []
    for seg in as_path:
        if need <= 0:
            break
        if _key(seg["type"]) == AS_SEQUENCE:
            seg = {"type": seg["type"], "value": seg["value"][:need]}
        merged.append(seg)
        need -= _segment_count(seg)
    return merged + as4_path


def format_as_path(segments: list[dict[str, Any]]) -> str:
    """AS path text as bgpdump prints it: ``1 2 {3,4}``, confederations as ``(1 2)`` and ``[1,2]``."""
    parts = []
    for seg in segments:
        kind = _key(seg["type"])
        if kind in _SEGMENT_FORMAT:
            open_, sep, close = _SEGMENT_FORMAT[kind]
            parts.append(open_ + sep.join(seg["value"]) + close)
        elif seg["value"]:
            parts.append(" ".join(seg["value"]))
    return " ".join(parts)


def _parse_attrs(raw: list[dict[str, Any]], two_byte: bool) -> _Attrs:
    attrs = _Attrs()
    by_type = {_key(a["type"]): a.get("value") for a in raw}
    origin = by_type.get(ATTR_ORIGIN)
    attrs.origin = origin[_key(origin)] if origin else None
    path = by_type.get(ATTR_AS_PATH) or []
    as4_path = by_type.get(ATTR_AS4_PATH)
    if two_byte and as4_path:
        path = merge_as4_path(path, as4_path)
    attrs.as_path = format_as_path(path)
    attrs.next_hop = by_type.get(ATTR_NEXT_HOP)
    attrs.local_pref = by_type.get(ATTR_LOCAL_PREF) or 0
    attrs.med = by_type.get(ATTR_MED) or 0
    attrs.communities = list(by_type.get(ATTR_COMMUNITY) or [])
    attrs.atomic = ATTR_ATOMIC in by_type
    attrs.aggregator = _aggregator(by_type, two_byte)
    reach = by_type.get(ATTR_MP_REACH) or {}
    if reach.get("next_hop"):
        attrs.mp_next_hop = reach["next_hop"][0]
    attrs.announced = list(reach.get("nlri") or [])
    attrs.withdrawn = list((by_type.get(ATTR_MP_UNREACH) or {}).get("withdrawn_routes") or [])
    return attrs


def _aggregator(by_type: dict[int, Any], two_byte: bool) -> str | None:
    agg = by_type.get(ATTR_AGGREGATOR)
    if not agg:
        return None
    agg4 = by_type.get(ATTR_AS4_AGGREGATOR)
    if two_byte and agg4 and agg["as"] == AS_TRANS:
        agg = agg4
    return f"{agg['as']} {agg['id']}"


class _Columns:
    """Element rows kept column by column: a list slot per value (a dict per row costs about 1 KB); every
    :data:`SETTLE_ROWS` or so rows, at a record's end, they become an Arrow record batch (a Python slot
    and the object it holds take more than the Arrow value), so the lists never hold a whole file."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in ELEMENTS.names}
        self._appends = [(name, column.append) for name, column in self.data.items()]
        self.count = 0
        self.settled = 0  # rows already in self.batches
        self.batches: list[pa.RecordBatch] = []
        self._run_rows: list[list[Any]] | None = None  # rows repeated at the times in _run_times
        self._run_times: list[int] = []

    def __len__(self) -> int:
        return self.count

    def append(self, values: dict[str, Any]) -> None:
        self._flush()
        get = values.get
        for name, append in self._appends:
            append(get(name))
        self.count += 1

    def extend_each(self, prefixes: list[str], values: dict[str, Any]) -> None:
        """Append a row per prefix, every other column holding its value in ``values``."""
        if len(prefixes) == 1:
            self.append({**values, "prefix": prefixes[0]})
            return
        self._flush()
        for name, column in self.data.items():
            column.extend(prefixes if name == "prefix" else [values.get(name)] * len(prefixes))
        self.count += len(prefixes)

    def extend_timed(self, rows: list[list[Any]], time_us: int) -> None:
        """Append rows given as values in column order, with their time column set to ``time_us``. The
        same rows at many times in a row are written at once, column by column."""
        if rows is not self._run_rows:
            self._flush()
            self._run_rows = rows
        self._run_times.append(time_us)
        self.count += len(rows)

    def _flush(self) -> None:
        rows, times = self._run_rows, self._run_times
        if rows is None:
            return
        self._run_rows, self._run_times = None, []
        for c, column in enumerate(self.data.values()):
            if c == _TIME_COLUMN:
                column.extend(times if len(rows) == 1 else [t for t in times for _ in rows])
            elif len(rows) == 1:
                column.extend(itertools.repeat(rows[0][c], len(times)))
            else:
                column.extend([row[c] for row in rows] * len(times))

    def truncate(self, count: int) -> None:
        """Take back the rows from ``count`` on (the rows of the record being decoded: never settled)."""
        self._flush()
        for column in self.data.values():
            del column[count - self.settled :]
        self.count = count

    def settle(self) -> None:
        """Between records: turn the rows held as lists into record batches once there are enough."""
        if self.count - self.settled >= SETTLE_ROWS:
            self._settle()

    def _settle(self) -> None:
        self._flush()
        count = self.count - self.settled
        if 0 < count <= FEW_ROWS:  # one conversion of the rows instead of one per column
            row_array = pa.array(list(zip(*self.data.values(), strict=True)), _ROW_TYPE)
            batch = pa.RecordBatch.from_struct_array(row_array).replace_schema_metadata(ELEMENTS.metadata)
            self.batches.append(batch)
            count = 0
        for start in range(0, count, ONE_BATCH_ROWS):  # a batch's string columns hold at most 2 GiB
            part = slice(start, start + ONE_BATCH_ROWS)
            columns = [
                self.data[f.name] if count <= ONE_BATCH_ROWS else self.data[f.name][part] for f in ELEMENTS
            ]
            arrays = [pa.array(values, f.type) for values, f in zip(columns, ELEMENTS, strict=True)]
            self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=ELEMENTS))
        for column in self.data.values():
            column.clear()
        self.settled = self.count

    def table(self) -> pa.Table:
        """The rows as a table of schema :data:`ELEMENTS` (record batches of at most ONE_BATCH_ROWS rows)."""
        self._settle()
        if not self.count:
            return _NO_ELEMENTS
        return pa.Table.from_batches(self.batches)


@dataclass
class _Ctx:
    """Per-file decoding state: the peer index table and the rows built so far."""

    targets: TargetSet | None
    collector: str
    source: str
    peers: list[tuple[str, int]] = field(default_factory=list)
    rows: _Columns = field(default_factory=_Columns)
    notes: list[str] = field(default_factory=list)
    recording: list[tuple[str | None, dict[str, Any]]] | None = None
    checked: bool = False  # every prefix of the record being decoded was found wanted by the slimmer

    matched: dict[str, bool] = field(default_factory=dict)
    paths: dict[tuple[Any, Any, str], set[int]] = field(default_factory=dict)
    paths_dropped: int = 0
    paths_dropped_at: int | None = None
    offset: int = 0

    def wanted(self, prefix: str) -> bool:
        """``targets.matches(prefix)``, remembered per prefix text (the same prefixes recur per peer)."""
        if self.targets is None:
            return True
        hit = self.matched.get(prefix)
        if hit is None:
            hit = self.matched[prefix] = self.targets.matches(prefix)
        return hit

    def add(self, prefix: str | None, **values: Any) -> None:
        if self.recording is not None:
            self.recording.append((prefix, dict(values)))
        if prefix is not None and not self.checked and not self.wanted(prefix):
            return
        if prefix is not None and values.get("path_id") is not None and not self._path_fits(prefix, values):
            return
        values.update(prefix=prefix, collector=self.collector, source=self.source)
        self.rows.append(values)

    def add_each(self, prefixes: list[str], values: dict[str, Any]) -> None:
        """``add(prefix, **values)`` for each prefix, ``values`` holding no path id (nor prefix): the kept
        rows are written a column at a time, and ``values`` is recorded once for all of them."""
        if self.recording is not None:
            self.recording.extend(zip(prefixes, itertools.repeat(values)))
        kept = prefixes if self.checked else [p for p in prefixes if self.wanted(p)]
        if kept:
            self.rows.extend_each(kept, {**values, "collector": self.collector, "source": self.source})

    def _path_fits(self, prefix: str, values: dict[str, Any]) -> bool:
        """Step 6: whether the VP still holds fewer than the bound of live path ids for the prefix."""
        live = self.paths.setdefault((values.get("peer_asn"), values.get("peer_ip"), prefix), set())
        path_id = values["path_id"]
        if values.get("elem_type") == "W":
            live.discard(path_id)
            return True
        if path_id in live or len(live) < MAX_PATHS_PER_PREFIX:
            live.add(path_id)
            return True
        if not self.paths_dropped:
            self.paths_dropped_at = self.offset
        self.paths_dropped += 1
        return False


def _route_values(attrs: _Attrs, next_hop: str | None) -> dict[str, Any]:
    return {
        "as_path": attrs.as_path,
        "bgp_origin": attrs.origin,
        "next_hop": next_hop,
        "local_pref": attrs.local_pref,
        "med": attrs.med,
        "communities": attrs.communities,
        "atomic_aggregate": attrs.atomic,
        "aggregator": attrs.aggregator,
    }


def _whole(ctx: _Ctx, nlris: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The NLRI entries that were whole; a note for a prefix cut short by the end of the message."""
    whole = [n for n in nlris if n["prefix"] is not None]
    if len(whole) < len(nlris):
        ctx.notes.append(TRUNCATED_NLRI)
    return whole


def _prefix(nlri: Mapping[str, Any]) -> str:
    return f"{nlri['prefix']}/{nlri['length']}"


def _bgp4mp(ctx: _Ctx, data: dict[str, Any], time_us: int, subtype: int) -> None:
    peer = {"time": time_us, "peer_asn": int(data["peer_as"]), "peer_ip": data["peer_ip"]}
    if "old_state" in data:
        old, new = _key(data["old_state"]), _key(data["new_state"])
        if max(old, new) > MAX_STATE_CODE:
            raise mrtparse.base.MrtFormatError(f"BGP state {max(old, new)} out of range")
        ctx.add(None, elem_type="S", old_state=old, new_state=new, **peer)
        return
    msg = data.get("bgp_message") or {}
    if _key(msg.get("type", {0: ""})) != BGP_UPDATE:
        return
    attrs = _parse_attrs(msg.get("path_attributes") or [], subtype not in AS4_SUBTYPES)
    withdrawn = _whole(ctx, list(msg.get("withdrawn_routes") or []) + attrs.withdrawn)
    add_path = subtype in ADDPATH_SUBTYPES  # then each path id goes through the bound of step 6
    if add_path:
        for nlri in withdrawn:
            ctx.add(_prefix(nlri), elem_type="W", path_id=nlri.get("path_id"), **peer)
    elif withdrawn:
        ctx.add_each([_prefix(n) for n in withdrawn], {"elem_type": "W", "path_id": None, **peer})
    for hop, nlris in ((attrs.next_hop, msg.get("nlri") or []), (attrs.mp_next_hop, attrs.announced)):
        whole = []
        for nlri in nlris:
            if nlri["prefix"] is None:
                ctx.notes.append(TRUNCATED_NLRI)
            else:
                whole.append(nlri)
        if not whole:
            continue
        route = _route_values(attrs, hop)
        if add_path:
            for nlri in whole:
                ctx.add(_prefix(nlri), elem_type="A", path_id=nlri.get("path_id"), **peer, **route)
        else:
            ctx.add_each([_prefix(n) for n in whole], {"elem_type": "A", "path_id": None, **peer, **route})


def _table_dump_v2(ctx: _Ctx, data: dict[str, Any], time_us: int, subtype: int) -> None:
    if subtype == prefilter.PEER_INDEX_TABLE:
        ctx.peers = [(p["peer_ip"], int(p["peer_as"])) for p in data["peer_entries"]]
        return
    if subtype not in TD2_RIB_SUBTYPES:
        return
    prefix = f"{data['prefix']}/{data['length']}"
    if not ctx.wanted(prefix):
        return
    v6 = subtype in TD2_V6_SUBTYPES
    for entry in data["rib_entries"]:
        index = entry["peer_index"]
        if index >= len(ctx.peers):
            raise mrtparse.base.MrtFormatError(f"peer index {index} beyond the peer table's {len(ctx.peers)}")
        peer_ip, peer_asn = ctx.peers[index]
        attrs = _parse_attrs(entry["path_attributes"], two_byte=False)
        hop = attrs.mp_next_hop if v6 else attrs.next_hop
        values = _route_values(attrs, hop)
        path_id = entry.get("path_id") if subtype in ADDPATH_SUBTYPES else None
        ctx.add(
            prefix, elem_type="R", time=time_us, peer_asn=peer_asn, peer_ip=peer_ip, path_id=path_id, **values
        )


def _table_dump(ctx: _Ctx, data: dict[str, Any], time_us: int) -> None:
    attrs = _parse_attrs(data["path_attributes"], two_byte=True)
    hop = attrs.next_hop if ":" not in data["prefix"] else attrs.mp_next_hop
    peer = {"time": time_us, "peer_asn": int(data["peer_as"]), "peer_ip": data["peer_ip"]}
    ctx.add(f"{data['prefix']}/{data['length']}", elem_type="R", **peer, **_route_values(attrs, hop))


def _decode_record(ctx: _Ctx, record: bytes) -> str | None:
    """Add the record's elements to ``ctx``; return a reason if mrtparse cannot decode it.

    Only mrtparse's parse is guarded broadly (it signals damaged input with many exception types); in
    anystab's own handling of what it parsed, only the damage it finds on purpose (``MrtFormatError``) is
    reported: any other exception there is a bug of ours, raised rather than passed off as damage."""
    data = bgp4mp.decode_update(record) if FAST_UPDATES else None
    if data is None:
        try:
            entry = next(mrtparse.Reader(io.BytesIO(record)))
        except Exception as exc:  # mrtparse's own exceptions on damaged input
            return _undecodable(exc)
        if entry.err is not None:
            return f"undecodable record ({entry.err_msg})"
        data = entry.data
    mtype, subtype = _key(data["type"]), _key(data["subtype"])
    time_us = _key(data["timestamp"]) * US_PER_S + data.get("microsecond_timestamp", 0)
    try:
        if mtype in (framing.BGP4MP, framing.BGP4MP_ET):
            _bgp4mp(ctx, data, time_us, subtype)
        elif mtype == prefilter.TABLE_DUMP_V2:
            _table_dump_v2(ctx, data, time_us, subtype)
        elif mtype == prefilter.TABLE_DUMP:
            _table_dump(ctx, data, time_us)
    except mrtparse.base.MrtFormatError as exc:  # a parsed value out of range (checked here, as bgpdump does)
        return _undecodable(exc)
    return None


def _undecodable(exc: Exception) -> str:
    """The reason of a damaged record (mrtparse's MrtFormatError keeps its text in ``msg``)."""
    return f"undecodable record ({type(exc).__name__}: {getattr(exc, 'msg', '') or exc})"


def cap_rib_entries(record: bytes, limit: int = MAX_RIB_ENTRIES) -> tuple[bytes, int]:
    """A TABLE_DUMP_V2 RIB record cut to its first ``limit`` entries, and how many were cut (step 6).

    Records of other types, with fewer entries, or whose entries do not add up are returned whole.
    """
    if record[4:6] != b"\x00\x0d" or int.from_bytes(record[6:8], "big") not in TD2_RIB_SUBTYPES:
        return record, 0
    pos = framing.HEADER_LEN + 4
    if pos + 1 > len(record):
        return record, 0
    pos += 1 + (record[pos] + 7) // 8
    count = int.from_bytes(record[pos : pos + 2], "big")
    if count <= limit:
        return record, 0
    fixed = 10 if int.from_bytes(record[6:8], "big") in ADDPATH_SUBTYPES else 6
    entry = pos + 2
    for _ in range(limit):
        entry += fixed + 2 + int.from_bytes(record[entry + fixed : entry + fixed + 2], "big")
    if entry > len(record):
        return record, 0
    body = record[framing.HEADER_LEN : pos] + limit.to_bytes(2, "big") + record[pos + 2 : entry]
    return record[:8] + len(body).to_bytes(4, "big") + body, count - limit


@dataclass
class _Decoded:
    """What decoding one BGP4MP message record did: its calls of ``_Ctx.add`` (before the filters), the
    notes it left and the reason it failed (None: it did not)."""

    adds: list[tuple[str | None, dict[str, Any]]]
    notes: list[str]
    reason: str | None
    rows: list[list[Any]] | None = None  # the kept rows in column order, when no add has a path id

    def replay(self, ctx: _Ctx, time_us: int) -> str | None:
        if self.rows is None and all(values.get("path_id") is None for _, values in self.adds):
            kept = [(p, v) for p, v in self.adds if p is None or ctx.wanted(p)]
            self.rows = [_row(ctx, p, v) for p, v in kept]
        if self.rows is not None:  # the filters would decide as they did: add the same rows directly
            if self.reason is None:  # (a failed record's rows are taken back at once)
                ctx.rows.extend_timed(self.rows, time_us)
        else:  # ADD-PATH bounds count live path ids: each add goes through them again
            for prefix, values in self.adds:
                ctx.add(prefix, **{**values, "time": time_us})
        ctx.notes.extend(self.notes)
        return self.reason


def _row(ctx: _Ctx, prefix: str | None, values: dict[str, Any]) -> list[Any]:
    whole = {**values, "prefix": prefix, "collector": ctx.collector, "source": ctx.source}
    return [whole.get(name) for name in ELEMENTS.names]


class _DecodeCache:
    """Decoded BGP4MP message records by their bytes less the time fields (and the scanner's hits).

    mrtparse decodes a record from its bytes alone, and only the time fields differ between the
    elements of records equal in everything else; repeats (a peer re-sending the same UPDATE, a table
    of identical records) are decoded once and their elements re-made with each record's own time.
    Bounded: :data:`DECODE_CACHE_RECORDS` records, :data:`DECODE_CACHE_BYTES` of keys.
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[bytes, tuple[int, ...]], _Decoded | None] = {}
        self.size = 0

    @staticmethod
    def key(record: bytes, hits: list[int]) -> tuple[bytes, tuple[int, ...]] | None:
        if record[4:8] not in _MESSAGE_HEADS:
            return None
        if record[4:6] == _ET_TYPE:
            if len(record) < framing.HEADER_LEN + 4:
                return None
            return record[4:12] + record[16:], tuple(hits)
        return record[4:], tuple(hits)

    def put(self, key: tuple[bytes, tuple[int, ...]], decoded: _Decoded | None) -> None:
        if DECODE_CACHE_RECORDS <= 0:
            return
        if len(self.entries) >= DECODE_CACHE_RECORDS or self.size + len(key[0]) > DECODE_CACHE_BYTES:
            self.entries.clear()
            self.size = 0
        self.entries[key] = decoded
        self.size += len(key[0])


def _time_us(record: bytes) -> int:
    """A record's time in microseconds, as mrtparse reads it (the microsecond field of ``*_ET`` types)."""
    micro = int.from_bytes(record[12:16], "big") if record[4:6] == _ET_TYPE else 0
    return int.from_bytes(record[0:4], "big") * US_PER_S + micro


def _decode_cached(
    ctx: _Ctx, cache: _DecodeCache, slimmer: Slimmer | None, whole: bytes, hits: list[int]
) -> tuple[bool, str | None]:
    """Decode a BGP4MP message record, or replay an equal one's decoding: (kept, failure reason)."""
    key = cache.key(whole, hits)  # None: too short to have its time fields, decoded alone
    if key is not None and key in cache.entries:
        decoded = cache.entries[key]
        return (False, None) if decoded is None else (True, decoded.replay(ctx, _time_us(whole)))
    record = whole if slimmer is None else slimmer.slim(whole, hits)
    if record is None:
        if key is not None:
            cache.put(key, None)
        return False, None
    ctx.checked = slimmer is not None and slimmer.checked
    try:
        if key is None:
            return True, _decode_record(ctx, record)
        ctx.recording, notes_before = [], len(ctx.notes)
        reason = _decode_record(ctx, record)
        cache.put(key, _Decoded(ctx.recording, ctx.notes[notes_before:], reason))
    finally:
        ctx.recording, ctx.checked = None, False
    return True, reason


def _decode_all(ctx: _Ctx, records: Iterator[tuple[int, bytes, list[int]]], path: str) -> list[Problem]:
    problems = []
    slimmer = Slimmer(ctx.targets) if ctx.targets is not None else None
    cache = _DecodeCache()
    with _lenient_mrtparse():
        for offset, whole, hits in records:
            rows_before, ctx.offset = len(ctx.rows), offset
            if whole[4:8] in _MESSAGE_HEADS:  # framing.message_record, without unpacking
                kept, reason = _decode_cached(ctx, cache, slimmer, whole, hits)
                if not kept:
                    continue
            else:
                record, cut = cap_rib_entries(whole)
                if cut:
                    problems.append(Problem(path, offset, RIB_CUT, cut))
                reason = _decode_record(ctx, record)
            if reason is not None:
                ctx.rows.truncate(rows_before)
                problems.append(Problem(path, offset, reason))
            problems.extend(Problem(path, offset, note) for note in dict.fromkeys(ctx.notes))
            ctx.notes.clear()
            ctx.rows.settle()
    if ctx.paths_dropped:
        problems.append(Problem(path, ctx.paths_dropped_at, PATHS_CUT, ctx.paths_dropped))
    return problems


EMPTY_FILE = "empty file: no MRT records"


def _walk_problems(path: str, stats: prefilter.WalkStats) -> list[Problem]:
    problems = []
    if stats.not_mrt:
        problems.append(Problem(path, 0, "not an MRT file"))
    if stats.bad_length_offset is not None:
        problems.append(Problem(path, stats.bad_length_offset, "implausible MRT record length; rest skipped"))
    if stats.torn_offset is not None:
        reason = f"torn last record ({stats.torn_missing} bytes missing)"
        problems.append(Problem(path, stats.torn_offset, reason))
    for mtype, (offset, count) in sorted(stats.skipped_types.items()):
        problems.append(Problem(path, offset, f"unsupported MRT type {mtype} skipped", count))
    return problems


def _kind(stats: prefilter.WalkStats) -> str:
    if stats.not_mrt:
        return "unknown"
    if stats.records == 0:
        return "empty"
    if stats.rib_records == 0 and stats.update_records == 0:
        return "unknown"
    return "rib" if stats.rib_records >= stats.update_records else "updates"


@functools.lru_cache(maxsize=SCANNER_CACHE)
def _built_scanner(targets: TargetSet) -> prefilter.Scanner:
    """One scanner per target set (its tables take milliseconds to build; files are many)."""
    return prefilter.Scanner(targets)


_last_scanner: tuple[TargetSet, prefilter.Scanner] | None = None


def _scanner(targets: TargetSet) -> prefilter.Scanner:
    """:func:`_built_scanner`, answered at once when asked for the same target set object as last time,
    as every file of a read does (the cache hashes the set, and that walks every target: ~60 us a file)."""
    global _last_scanner
    last = _last_scanner
    if last is not None and last[0] is targets:
        return last[1]
    scanner = _built_scanner(targets)
    _last_scanner = (targets, scanner)
    return scanner


def joined_if_few_rows(table: pa.Table, files: int) -> pa.Table:
    """``table``, the tables of ``files`` files put together, as one chunk when they average fewer than
    :data:`FEW_ROWS_PER_FILE` rows: every compute function, the conversion to pandas and each IPC message
    pay per chunk, and a filtered read keeps a few rows from most files."""
    return table.combine_chunks() if table.num_rows < FEW_ROWS_PER_FILE * files else table


def read_mrt_file(path: str | os.PathLike[str], targets: TargetSet | None, collector: str) -> FileResult:
    """Read one MRT file (gzip, bzip2 or plain) into elements kept by ``targets`` (``None``: all)."""
    rows = _Columns()
    return replace(_read_into(rows, path, open_stream(path), targets, collector), elements=rows.table())


def read_mrt_files(
    files: Sequence[tuple[str | os.PathLike[str], str]],
    targets: TargetSet | None,
    streams: StreamsAhead | None = None,
) -> list[FileResult]:
    """:func:`read_mrt_file` of each ``(path, collector)``, the files' rows made one Arrow table and each
    file's elements a slice of it: a filtered read keeps a few rows from most files, and a table per file
    cost about 50 us whatever its rows. The files are opened by ``streams`` (made for a longer read that
    these files are part of), else by streams of their own."""
    rows = _Columns()
    read = []
    paths = [path for path, _ in files]
    with StreamsAhead(paths) if streams is None else contextlib.nullcontext(streams) as opener:
        for path, collector in files:
            start = len(rows)
            result = _read_into(rows, path, opener.open(path), targets, collector)
            read.append((result, start, len(rows) - start))
    table = rows.table()
    return [replace(r, elements=table.slice(start, n) if n else _NO_ELEMENTS) for r, start, n in read]


def _read_into(
    rows: _Columns, path: str | os.PathLike[str], stream: Stream, targets: TargetSet | None, collector: str
) -> FileResult:
    """Read a file through ``stream``, its elements added to ``rows`` (the result's own table left empty)."""
    name = str(path)
    stats = prefilter.WalkStats()
    scanner = _scanner(targets) if targets is not None else None
    ctx = _Ctx(targets, collector, name, rows=rows)
    chunks = iter(stream)
    decode_problems = _decode_all(ctx, prefilter.kept_records_with_hits(chunks, scanner, stats), name)
    for _ in chunks:  # a walk stopped early: still check the compressed stream to report its damage
        pass
    problems = [] if stream.problem is None else [Problem(name, stream.problem_offset, stream.problem)]
    problems += _walk_problems(name, stats) + decode_problems
    if stats.records == 0 and not problems:
        problems.append(Problem(name, 0, EMPTY_FILE))
    return FileResult(
        path=name,
        collector=collector,
        kind=_kind(stats),
        records=stats.records,
        elements=_NO_ELEMENTS,
        problems=problems,
        first_time=stats.first_time,
        last_time=stats.last_time,
        decompressed_bytes=stream.decompressed_bytes,
    )


def elements_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Element rows as a table of schema :data:`ELEMENTS`. Most files of a filtered read give a few rows or
    none, so the per-call cost counts: ``Table.from_pylist`` costs ~250 us whatever the rows, one record
    batch ~70 us for a few, and a file with none shares one empty table (tables are immutable)."""
    if not rows:
        return _NO_ELEMENTS
    if len(rows) > ONE_BATCH_ROWS:  # a batch's string columns hold at most 2 GiB
        return pa.Table.from_pylist(rows, schema=ELEMENTS)
    return pa.Table.from_batches([pa.RecordBatch.from_pylist(rows, schema=ELEMENTS)])


def _format_time(time: Any) -> str:
    if isinstance(time, datetime):
        delta = time.replace(tzinfo=None) - _EPOCH
        seconds, micro = delta.days * 86400 + delta.seconds, delta.microseconds
    else:
        seconds, micro = divmod(int(time), US_PER_S)
    return f"{seconds}.{micro:06d}" if micro else str(seconds)


def bgpdump_line(row: Mapping[str, Any]) -> str:
    """An element row as ``bgpdump -m`` prints it, without the leading record-type field.

    E.g. ``1470931200|A|37.49.236.123|198290|192.140.252.0/22|198290 6661|IGP|37.49.236.123|0|0||NAG||``.
    A missing next hop prints as bgpdump's ``255.255.255.255``, a missing ORIGIN as ``INCOMPLETE`` (the
    table keeps both null). Times with zero microseconds print as
    whole seconds (bgpdump prints ``.000000`` for BGP4MP_ET records: the table does not keep the type).
    """
    head = f"{_format_time(row['time'])}|"
    peer = f"{row['peer_ip']}|{row['peer_asn']}"
    kind = row["elem_type"]
    if kind == "S":
        return f"{head}STATE|{peer}|{row['old_state']}|{row['new_state']}"
    prefix = row["prefix"] if row["path_id"] is None else f"{row['prefix']}|{row['path_id']}"
    if kind == "W":
        return f"{head}W|{peer}|{prefix}"
    fields = [
        "B" if kind == "R" else "A",
        peer,
        prefix,
        row["as_path"] or "",
        row["bgp_origin"] or BGPDUMP_NO_ORIGIN,
        row["next_hop"] or BGPDUMP_NO_NEXT_HOP,
        str(row["local_pref"]),
        str(row["med"]),
        " ".join(row["communities"] or []),
        "AG" if row["atomic_aggregate"] else "NAG",
        row["aggregator"] or "",
    ]
    return head + "|".join(fields) + "|"
