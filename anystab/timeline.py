"""Timeline: each vantage point's route state per target, as intervals of constant state.

Steps:

1. Split the elements by vantage point (collector, peer_asn, peer_ip), keeping the given processing order
   (it is authoritative: elements are never re-sorted here).
2. Decide when each VP is first observed: from the window start if it has an ``R`` element at or before it
   (a RIB dump), else from its first element inside the window. A VP with neither is never observed.
3. Walk each VP's elements and keep its routes: prefix -> path id -> (AS path, next hop, communities).
   ``R``/``A`` set a route, ``W`` removes the route with the same prefix and path id. A ``W`` without a
   path id removes only the route stored without a path id (on an ADD-PATH session it removes nothing).
4. After each element, recompute the state of every target whose address the element's prefix contains:
   the effective route is the route of the longest prefix containing the target's address, covers counted
   only down to the target set's ``min_cover``. Among several ADD-PATH path ids for that prefix the lowest
   path id wins (no path id sorts first): collectors record every path a peer sends and no best-path
   choice, so any rule is a convention; the lowest id is stable and does not depend on arrival order.
   Several elements at one timestamp collapse: only the state after the last of them is kept.
5. Session gaps: an ``S`` element into any state but Established (6) opens a gap and forgets all the VP's
   routes. The session is back up at the next ``S`` into Established or the next ``A``/``R``; the gap lasts
   ``params.resync_s`` seconds more, and at its end every target is snapshotted with the routes held then.
6. Clip each (VP, target) series to the window, overlay the collector gaps (missing archive files: the VP
   is unobserved there but its routes are kept), and merge neighbouring intervals with equal state.

7. Snapshot: a (VP, target) with no observed time in the window whose VP has RIB entries inside the window
   (a collector with a RIB dump and no update file) gets one zero-length row at the dump's time with the
   state then: the RIB is an instant's view, which shows sites and catchment but no time to break in.

A (VP, target) pair gets rows when the VP is observed at all in the window and some element of that VP
concerns the target (a prefix containing the target's address, down to ``min_cover``, or a more-specific
inside the target prefix). Rows cover the whole window with state routed, unrouted or unobserved.

8. Resuming (:func:`walk_timeline`): the same walk, with every VP's walk noted at a cut T_c after all its
   elements before T_c (and what was due before T_c) were taken, as a :class:`WalkSnapshot`: per VP a
   :class:`VpSnapshot` of its observation start, routes held, session down and resync end, every
   target's state, the targets its elements concern, their rows before T_c and its last RIB entry before
   T_c (step 7). A later walk of only the elements at or after T_c, resumed from the snapshot, gives the
   rows of one walk of every element; where it cannot (a VP's elements concern a target they did not
   before T_c, a VP never observed before T_c has elements after it): :class:`ResumeMiss`. The snapshot
   has a JSON form (:meth:`WalkSnapshot.to_json`, :meth:`WalkSnapshot.from_json`); the monitor saves it
   between runs (:mod:`anystab.monitor.carry`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from anystab.frames import group_indices, to_frame
from anystab.params import AnalysisParams
from anystab.schemas import TABLES
from anystab.sites import origin_of, site_name, site_signature
from anystab.targets import Target, prefix_key_and_text
from anystab.units import US_PER_S

ESTABLISHED = 6
ROUTED = "routed"
UNROUTED = "unrouted"
UNOBSERVED = "unobserved"
WALK_CHUNK = 1 << 16
_BITS = {4: 32, 6: 128}

# (state, site, signature, prefix, as_path, origin, next_hop, communities)
State = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None, tuple[str, ...]]
UNROUTED_STATE: State = (UNROUTED, None, None, None, None, None, None, ())
UNOBSERVED_STATE: State = (UNOBSERVED, None, None, None, None, None, None, ())
VP_KEYS = ["collector", "peer_asn", "peer_ip"]
PAIR_KEYS = [*VP_KEYS, "target"]


def to_seconds(times: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since the epoch (microsecond resolution)."""
    if getattr(times.dtype, "unit", None) == "us" or times.dtype == "datetime64[us]":  # read as they are
        micros: np.ndarray = times.array.asi8
        return micros / US_PER_S
    seconds: np.ndarray = times.dt.as_unit("us").astype("int64").to_numpy() / US_PER_S
    return seconds


def to_micros(seconds: Sequence[float] | np.ndarray) -> list[int]:
    """Float seconds as integer microseconds, for timestamp columns (``round(float(s) * US_PER_S)`` of each:
    numpy's rint rounds halves to even as ``round`` does, and every finite time fits)."""
    micros = np.asarray(seconds, dtype=float) * US_PER_S
    if not np.isfinite(micros).all():  # not a time: round's own error
        return [round(float(s) * US_PER_S) for s in seconds]
    whole: list[int] = np.rint(micros).astype(np.int64).tolist()
    return whole


def make_frame(
    name: str, columns: Mapping[str, Sequence[Any] | np.ndarray | pa.Array], order: np.ndarray | None = None
) -> pd.DataFrame:
    """A DataFrame with the columns and types of the named schema (time columns given in float seconds; a
    column given as an Arrow array is taken as it is; a numpy array of numbers is read as a list of them
    would be). ``order``: the rows' positions in the columns, each column taken in that order once made
    (as Arrow arrays: a Python list reordered value by value costs far more)."""
    schema = TABLES[name]
    arrays = []
    for fld in schema:
        values = columns.get(fld.name, [])
        if isinstance(values, pa.Array):
            arrays.append(values)
            continue
        if pa.types.is_timestamp(fld.type):
            values = to_micros(values)
        arrays.append(pa.array(values, type=fld.type))
    if order is not None:
        at = pa.array(order, pa.int64())
        arrays = [array.take(at) for array in arrays]
    return to_frame(pa.Table.from_arrays(arrays, schema=schema))


def records_frame(name: str, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """A DataFrame of the named schema from row dicts (time columns in float seconds)."""
    return make_frame(name, {f: [r[f] for r in records] for f in TABLES[name].names})


def nullable(series: pd.Series) -> list[Any]:
    """A column as a Python list with None for missing values (``series.astype(object).where(series.notna(),
    None).tolist()``, without the copy of the column and the ``where`` that cost about 0.3 ms each)."""
    out: list[Any] = series.tolist()
    missing = series.isna().to_numpy()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            out[i] = None
    return out


def _tuple(communities: Any) -> tuple[str, ...]:
    return tuple(communities) if communities is not None and not isinstance(communities, float) else ()


def shared_nullable(series: pd.Series) -> list[Any]:
    """:func:`nullable`, with one object per distinct value (elements repeat a few values many times:
    a Python object per element and column would cost more memory than the elements themselves)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.array([*uniques.tolist(), None], dtype=object)
    out: list[Any] = values[codes].tolist()
    return out


@dataclass
class _PrefixInfo:
    key: tuple[int, int, int] | None
    text: str | None
    covers: list[int]  # targets whose address the prefix contains (down to min_cover)
    relevant: list[int]  # targets the prefix concerns (covers, or a more-specific inside the target)


class _TargetIndex:
    """Which targets a prefix covers or concerns, found without a pass over the targets per prefix.

    A prefix of length L covers the targets whose address lies in its range: a slice of the targets
    sorted by (version, address), found by bisection. It lies inside a target when, for one of the few
    distinct target lengths at most L, its network masked to that length is a target prefix: per target
    length, the first 64 of every prefix's 128 bits (left-aligned) masked at once and looked up among the
    targets' of that length; the few that match are checked whole.
    """

    def __init__(self, targets: Sequence[Target], min_cover: dict[int, int]) -> None:
        self.min_cover = min_cover
        self.addresses: dict[int, list[int]] = {}  # per version, the targets' addresses sorted
        self.order: dict[int, list[int]] = {}  # and the targets' indexes in that order
        for version in (4, 6):
            places = sorted((int(t.address), i) for i, t in enumerate(targets) if t.prefix.version == version)
            self.addresses[version] = [address for address, _ in places]
            self.order[version] = [i for _, i in places]
        self.exact: dict[tuple[int, int, int], list[int]] = {}
        for i, t in enumerate(targets):
            key = (t.prefix.version, int(t.prefix.network_address), t.prefix.prefixlen)
            self.exact.setdefault(key, []).append(i)
        nets: dict[tuple[int, int], list[int]] = {}
        for version, net, length in self.exact:
            nets.setdefault((version, length), []).append(net)
        self.first_words: dict[tuple[int, int], np.ndarray] = {}  # per (version, length), sorted
        self.word_targets: dict[tuple[int, int], list[list[int]]] = {}  # the targets of each word there
        for (version, length), n in nets.items():
            words = _first_words(n, version)
            order = np.argsort(words, kind="stable")
            self.first_words[version, length] = words[order]
            self.word_targets[version, length] = [self.exact[version, n[j], length] for j in order.tolist()]
        self.lengths = {v: sorted(length for version, length in nets if version == v) for v in (4, 6)}

    def infos(self, texts: Iterable[str]) -> dict[str, _PrefixInfo]:
        """Each prefix's :class:`_PrefixInfo`: the targets each covers found by one sorted search per
        address family for all prefixes at once."""
        out: dict[str, _PrefixInfo] = {}
        parsed: list[tuple[str, tuple[int, int, int], str]] = []
        for text in texts:
            try:
                key, canonical = prefix_key_and_text(text)
            except ValueError:
                out[text] = _PrefixInfo(None, None, [], [])
                continue
            if key[2] < self.min_cover[key[0]]:
                out[text] = _PrefixInfo(key, canonical, [], [])
            else:
                parsed.append((text, key, canonical))
        inside = self._inside([key for _, key, _ in parsed])
        covered = self._covered([key for _, key, _ in parsed])
        for (text, key, canonical), within, covers in zip(parsed, inside, covered, strict=True):
            if not within or within == covers:  # a target prefix itself: its own address, inside itself
                relevant = covers
            elif not covers:  # inside targets, covering none (the most usual more-specific)
                relevant = within if len(within) == 1 else sorted(set(within))
            else:
                relevant = covers if set(within) <= set(covers) else sorted(set(covers).union(within))
            out[text] = _PrefixInfo(key, canonical, covers, relevant)
        return out

    def _covered(self, keys: list[tuple[int, int, int]]) -> list[list[int]]:
        """Per prefix key, the targets whose address lies in its range, in target order: per address family
        the range's ends searched among the sorted addresses for all prefixes at once (IPv6 addresses as
        Python ints, compared as such)."""
        found: list[list[int]] = [[] for _ in keys]
        for version, bits in _BITS.items():
            at = [k for k, key in enumerate(keys) if key[0] == version]
            if not at or not self.addresses[version]:
                continue
            kind = np.int64 if version == 4 else object
            addresses = np.array(self.addresses[version], dtype=kind)
            nets = np.array([keys[k][1] for k in at], dtype=kind)
            ends = nets + np.array([1 << (bits - keys[k][2]) for k in at], dtype=kind)
            lows = np.searchsorted(addresses, nets, side="left").tolist()
            highs = np.searchsorted(addresses, ends, side="left").tolist()
            order = self.order[version]
            for k, lo, hi in zip(at, lows, highs, strict=True):
                if hi > lo:
                    covers = found[k] = order[lo:hi]
                    if hi - lo > 1:
                        covers.sort()
        return found

    def _inside(self, keys: list[tuple[int, int, int]]) -> list[list[int]]:
        """Per prefix key, the targets it lies inside (its network masked to a target's length is that
        target's prefix)."""
        found: list[list[int]] = [[] for _ in keys]
        for version, bits in _BITS.items():
            at = np.array([k for k, key in enumerate(keys) if key[0] == version], dtype=np.int64)
            if not at.size or not self.lengths[version]:
                continue
            first = _first_words([keys[k][1] for k in at.tolist()], version)
            length = np.array([keys[k][2] for k in at.tolist()])
            for tlen in self.lengths[version]:
                cand = np.flatnonzero(length >= tlen)
                masked = first[cand] & _top_bits(min(tlen, 64))  # the second word settles only lengths > 64
                shift = bits - tlen
                words = self.first_words[version, tlen]
                place = np.minimum(np.searchsorted(words, masked), len(words) - 1)
                hit = words[place] == masked
                if tlen <= 64:  # the first word is the whole masked network: one target prefix per word
                    at_word = self.word_targets[version, tlen]
                    for k, w in zip(at[cand[hit]].tolist(), place[hit].tolist(), strict=True):
                        found[k] += at_word[w]
                    continue
                for k in at[cand[hit]].tolist():
                    net = keys[k][1]
                    found[k] += self.exact.get((version, net >> shift << shift, tlen), ())
        return found


def _first_words(nets: list[int], version: int) -> np.ndarray:
    """The first 64 of a network's 128 bits, left-aligned (an IPv4 network in the top 32 bits)."""
    return np.array([net << (128 - _BITS[version]) >> 64 for net in nets], dtype=np.uint64)


_WORD = (1 << 64) - 1


def _top_bits(n: int) -> np.uint64:
    """A 64-bit word with its top ``n`` bits set."""
    return np.uint64(_WORD ^ ((1 << (64 - n)) - 1))


Route = tuple[str | None, str | None, tuple[str, ...]]


@dataclass
class WalkContext:
    """What every VP walk shares: targets, parameters, prefix and state caches."""

    targets: tuple[Target, ...]
    params: AnalysisParams
    prefixes: dict[str, _PrefixInfo] = field(default_factory=dict)
    candidates: list[list[tuple[int, int, int]]] = field(default_factory=list)
    states: dict[tuple[str, str | None, str | None, tuple[str, ...]], State] = field(default_factory=dict)
    sites: dict[Route, tuple[str | None, str | None, str | None]] = field(default_factory=dict)

    def build(self, prefix_texts: set[str]) -> None:
        ts = self.params.targets
        index = _TargetIndex(self.targets, {4: ts.min_cover(4), 6: ts.min_cover(6)})
        self.prefixes = index.infos(prefix_texts)
        cands: list[set[tuple[int, int, int]]] = [set() for _ in self.targets]
        for info in self.prefixes.values():
            if info.key is None:  # an unreadable prefix covers no target
                continue
            for i in info.covers:
                cands[i].add(info.key)
        self.candidates = [sorted(c, key=lambda k: -k[2]) for c in cands]

    def routed_state(self, prefix: str, route: tuple[str | None, str | None, tuple[str, ...]]) -> State:
        key = (prefix, *route)
        state = self.states.get(key)
        if state is None:
            as_path, next_hop, communities = route
            told = self.sites.get(route)  # a route's site is the same for every prefix it leads to
            if told is None:
                p = self.params
                signature = site_signature(as_path or "", next_hop, communities, p.site_by, p.site_map)
                told = self.sites[route] = (
                    site_name(signature, p.site_by, p.site_map),
                    signature,
                    origin_of(as_path),
                )
            site, signature, origin = told
            state = (ROUTED, site, signature, prefix, as_path, origin, next_hop, communities)
            self.states[key] = state
        return state


Span = tuple[float, float, State]
_UNTRACKED: tuple[list[float], list[State]] = ([], [])  # the series of a target a walk does not track


@dataclass
class WalkColumns:
    """The element columns the walk reads, as Python lists."""

    time: np.ndarray
    elem_type: list[str]
    prefix: list[Any]  # str, or None on state rows (the walk checks before it reads one)
    path_id: list[int | None]
    as_path: list[str | None]
    next_hop: list[str | None]
    communities: list[tuple[str, ...]]
    new_state: list[int | None]

    def same(self, a: int, b: int) -> bool:
        """Whether rows ``a`` and ``b`` agree in time and every field the walk reads."""
        same: bool = (
            self.time[a] == self.time[b]
            and self.prefix[a] == self.prefix[b]
            and self.elem_type[a] == self.elem_type[b]
            and self.path_id[a] == self.path_id[b]
            and self.as_path[a] == self.as_path[b]
            and self.next_hop[a] == self.next_hop[b]
            and self.communities[a] == self.communities[b]
            and self.new_state[a] == self.new_state[b]
        )
        return same

    @classmethod
    def of(cls, elements: pd.DataFrame) -> WalkColumns:
        seen: dict[tuple[str, ...], tuple[str, ...]] = {}
        of_object: dict[int, tuple[str, ...]] = {}  # rows of equal lists mostly share one array
        comms = []
        for c in elements["communities"].tolist():  # alive all along: an id is one object's
            t = of_object.get(id(c))
            if t is None:
                key = _tuple(c)
                t = of_object[id(c)] = seen.setdefault(key, key)
            comms.append(t)
        return cls(
            to_seconds(elements["time"]),
            shared_nullable(elements["elem_type"]),
            shared_nullable(elements["prefix"]),
            shared_nullable(elements["path_id"]),
            shared_nullable(elements["as_path"]),
            shared_nullable(elements["next_hop"]),
            comms,
            shared_nullable(elements["new_state"]),
        )


class VpWalk:
    """One VP's route state through its elements, recording each target's state after every change."""

    def __init__(self, ctx: WalkContext, obs_start: float, tracked: Sequence[int] | None = None) -> None:
        """``tracked``: the targets whose series to keep (default every target); a walk given only the
        targets its elements concern records the same series for them and skips the rest."""
        self.ctx = ctx
        self.tracked: Sequence[int] = range(len(ctx.targets)) if tracked is None else tracked
        self.obs_start = obs_start
        self.start_due: float | None = obs_start if obs_start > -math.inf else None
        self.routes: dict[tuple[int, int, int], dict[int | None, tuple[str, Route]]] = {}
        self.down = False
        self.resume_at: float | None = None
        first = UNROUTED_STATE if obs_start == -math.inf else UNOBSERVED_STATE
        self.series: list[tuple[list[float], list[State]]]
        if tracked is None:
            self.series = [([-math.inf], [first]) for _ in ctx.targets]
        else:
            self.series = [_UNTRACKED] * len(ctx.targets)  # filled in C, not a Python loop over targets
            for i in tracked:
                self.series[i] = ([-math.inf], [first])

    def observing(self, t: float) -> bool:
        return t >= self.obs_start and not self.down and (self.resume_at is None or t >= self.resume_at)

    def state_of(self, t: float, target: int) -> State:
        return self._state(target) if self.observing(t) else UNOBSERVED_STATE

    def _state(self, target: int) -> State:
        """A target's state while the VP is observed: the route of its longest covering prefix held."""
        for key in self.ctx.candidates[target]:
            entries = self.routes.get(key)
            if entries:
                if len(entries) == 1:
                    prefix, route = next(iter(entries.values()))
                else:
                    prefix, route = entries[min(entries, key=lambda p: -1 if p is None else p)]
                return self.ctx.routed_state(prefix, route)
        return UNROUTED_STATE

    def emit(self, t: float, targets: Sequence[int]) -> None:
        observing = self.observing(t)  # the same for every target at one time
        for i in targets:
            times, states = self.series[i]
            state = self._state(i) if observing else UNOBSERVED_STATE
            if times[-1] == t:
                states[-1] = state
            else:
                times.append(t)
                states.append(state)

    def flush(self, before: float) -> None:
        """Snapshot every target at the scheduled times (observation start, resync end) before ``before``."""
        if self.start_due is None and self.resume_at is None:  # nothing scheduled: the usual case
            return
        due = sorted(s for s in (self.start_due, self.resume_at) if s is not None and s < before)
        for s in due:
            self.emit(s, self.tracked)
        if self.start_due is not None and self.start_due < before:
            self.start_due = None
        if self.resume_at is not None and self.resume_at < before:
            self.resume_at = None

    def walk(self, cols: WalkColumns, rows: np.ndarray) -> None:
        """Take the rows in order. A row equal to the one before it in time and every field the walk reads
        changes nothing (the state after it is the state after the first), so it is not taken again."""
        previous = None
        for first in range(0, len(rows), WALK_CHUNK):  # row numbers as Python ints, a chunk at a time
            for r in rows[first : first + WALK_CHUNK].tolist():
                if previous is None or not cols.same(previous, r):
                    self.step(cols, r)
                previous = r
        self.flush(math.inf)

    def step(self, cols: WalkColumns, r: int) -> None:
        """Take element row ``r``: a state change or a route change, after what was due before it."""
        t = float(cols.time[r])
        self.flush(t)
        kind = cols.elem_type[r]
        if kind == "S":
            self.state_change(t, cols.new_state[r])
        elif kind in ("A", "R", "W") and cols.prefix[r] is not None:
            route = (cols.as_path[r], cols.next_hop[r], cols.communities[r])
            self.route_change(t, kind, cols.prefix[r], cols.path_id[r], route)

    def state_change(self, t: float, new_state: int | None) -> None:
        if new_state is None:
            return
        if new_state != ESTABLISHED:
            self.down, self.resume_at = True, None
            self.routes.clear()
            self.emit(t, self.tracked)
        elif self.down:
            self.session_up(t)

    def session_up(self, t: float) -> None:
        self.down = False
        self.resume_at = t + self.ctx.params.resync_s

    def route_change(self, t: float, kind: str, prefix: str, path_id: int | None, route: Route) -> None:
        info = self.ctx.prefixes[prefix]
        if info.key is None:
            return
        if kind == "W":
            entries = self.routes.get(info.key)
            if entries is not None:
                entries.pop(path_id, None)
                if not entries:
                    del self.routes[info.key]
        else:
            if self.down:
                self.session_up(t)
            self.routes.setdefault(info.key, {})[path_id] = (info.text or prefix, route)
        self.emit(t, info.covers)


def observation_start(cols: WalkColumns, rows: np.ndarray, window: tuple[float, float]) -> float | None:
    """-inf when a RIB entry at or before the window start exists, else the first element in the window."""
    w0, w1 = window
    times = cols.time[rows]
    for r, t in zip(rows, times, strict=True):
        if t <= w0 and cols.elem_type[r] == "R":
            return -math.inf
    inside = times[(times >= w0) & (times <= w1)]
    return float(inside[0]) if len(inside) else None


def series_intervals(
    times: list[float], states: list[State], window: tuple[float, float], gaps: list[tuple[float, float]]
) -> list[tuple[float, float, State]]:
    """Series -> intervals clipped to the window, collector gaps overlaid, equal neighbours merged."""
    w0, w1 = window
    ends = [*times[1:], math.inf]
    out: list[tuple[float, float, State]] = []
    if not gaps:  # each interval clipped to the window, nothing to cut (append_interval written inline)
        for start, end, state in zip(times, ends, states, strict=True):
            s = w0 if w0 > start else start  # max(start, w0) and min(end, w1), as the builtins pick
            e = w1 if w1 < end else end
            if e > s:
                if out and out[-1][2] == state and out[-1][1] == s:
                    out[-1] = (out[-1][0], e, state)
                else:
                    out.append((s, e, state))
        return out
    gap_starts = [g[0] for g in gaps]
    for start, end, state in zip(times, ends, states, strict=True):
        s, e = max(start, w0), min(end, w1)
        if e <= s:
            continue
        cuts = sorted({s, e, *(b for g in gaps for b in g if s < b < e)})
        for a, b in zip(cuts, cuts[1:], strict=False):
            k = bisect.bisect_right(gap_starts, a) - 1
            in_gap = k >= 0 and gaps[k][0] <= a < gaps[k][1]
            append_interval(out, a, b, UNOBSERVED_STATE if in_gap else state)
    return out


def append_interval(out: list[tuple[float, float, State]], start: float, end: float, state: State) -> None:
    if out and out[-1][2] == state and out[-1][1] == start:
        out[-1] = (out[-1][0], end, state)
    else:
        out.append((start, end, state))


def collector_gaps(
    gaps: pd.DataFrame | None, window: tuple[float, float]
) -> dict[str, list[tuple[float, float]]]:
    """Collector -> sorted, merged unobserved intervals clipped to the window."""
    result: dict[str, list[tuple[float, float]]] = {}
    if gaps is None or gaps.empty:
        return result
    starts, ends = to_seconds(gaps["start"]), to_seconds(gaps["end"])
    for collector, s, e in zip(gaps["collector"], starts, ends, strict=True):
        s, e = max(float(s), window[0]), min(float(e), window[1])
        if e > s:
            result.setdefault(str(collector), []).append((s, e))
    for collector, spans in result.items():
        spans.sort()
        merged = [spans[0]]
        for s, e in spans[1:]:
            if s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        result[collector] = merged
    return result


_TIMELINE_FIELDS = ["state", "site", "signature", "prefix", "as_path", "origin", "next_hop", "communities"]


def build_timeline(
    elements: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The TIMELINE table: per (VP, target), maximal intervals of constant route state over the window.
    The series of the pairs whose collector has no gap become intervals all at once (:class:`_Spans`)."""
    if elements.empty:
        return timeline_frame([])
    ctx = WalkContext(tuple(params.targets), params)
    ctx.build(set(elements["prefix"].dropna().unique().tolist()))
    cols = WalkColumns.of(elements)
    by_collector = collector_gaps(gaps, window)
    groups = group_indices(elements, VP_KEYS, dropna=False)
    spans = _Spans(window)
    for vp, rows in groups.items():
        obs_start = observation_start(cols, rows, window)
        if obs_start is None:
            continue
        relevant = sorted(_relevant_targets(ctx, cols, rows))
        walk = VpWalk(ctx, obs_start, relevant)
        walk.walk(cols, rows)
        gaps_here = by_collector.get(str(vp[0]), [])
        dump = rib_time(cols, rows, window)
        for i in relevant:
            spans.add(vp, ctx.targets[i].text, walk.series[i], dump, gaps_here)
    return spans.frame()


def _relevant_targets(ctx: WalkContext, cols: WalkColumns, rows: np.ndarray) -> set[int]:
    """The targets a VP's element rows concern: the relevant targets of each distinct prefix, taken once."""
    prefixes = set(map(cols.prefix.__getitem__, rows.tolist()))
    prefixes.discard(None)
    return {i for p in prefixes for i in ctx.prefixes[p].relevant}


class _Spans:
    """The timeline rows of many (VP, target) series: those without collector gaps clipped to the window
    and merged (:func:`series_intervals`) all at once, as arrays; the others one at a time."""

    def __init__(self, window: tuple[float, float]) -> None:
        self.window = window
        self.vps: list[tuple[Any, ...]] = []
        self.targets: list[str] = []
        self.series: list[tuple[list[float], list[State]]] = []
        self.dumps: list[float | None] = []
        self.together: list[int] = []  # the pairs whose series are made intervals at once
        self.alone: dict[int, list[Span]] = {}  # the others' intervals

    def add(
        self,
        vp: tuple[Any, ...],
        target: str,
        series: tuple[list[float], list[State]],
        dump: float | None,
        gaps: list[tuple[float, float]],
    ) -> None:
        """A pair's series, its VP's last RIB time in the window (step 7) and its collector's gaps."""
        k = len(self.vps)
        self.vps.append(vp)
        self.targets.append(target)
        self.series.append(series)
        self.dumps.append(dump)
        if gaps:
            spans = series_intervals(*series, self.window, gaps)
            observed = any(state[0] != UNOBSERVED for _, _, state in spans)
            self.alone[k] = spans if observed else snapshot(*series, dump)
        else:
            self.together.append(k)

    def frame(self) -> pd.DataFrame:
        """The TIMELINE table, rows in the order the pairs were added."""
        pair, start, end, states = self._together()
        for k, spans in self.alone.items():
            pair += [k] * len(spans)
            start += [s for s, _, _ in spans]
            end += [e for _, e, _ in spans]
            states += [state for _, _, state in spans]
        order = np.argsort(np.asarray(pair, dtype=np.int64), kind="stable")  # each pair's rows in order
        ordered = order.tolist()
        return _frame_of_rows(
            self.vps,
            self.targets,
            np.asarray(pair, dtype=np.int64)[order],
            [start[r] for r in ordered],
            [end[r] for r in ordered],
            [states[r] for r in ordered],
        )

    def _together(self) -> tuple[list[int], list[float], list[float], list[State]]:
        """:func:`series_intervals` without gaps, for every pair of ``together`` at once: each entry of a
        series lasts until the next (the last forever), is clipped to the window and left out if empty; an
        entry joins the one kept before it where both are the pair's, of equal state and touching. A pair
        left with no observed interval gets its snapshot instead (:func:`snapshot`, into ``alone``)."""
        w0, w1 = self.window
        times: list[float] = []
        states: list[State] = []
        for k in self.together:
            times += self.series[k][0]
            states += self.series[k][1]
        lengths = np.array([len(self.series[k][0]) for k in self.together], dtype=np.int64)
        pair = np.repeat(np.asarray(self.together, dtype=np.int64), lengths)
        begin = np.asarray(times, dtype=np.float64)
        last = np.cumsum(lengths) - 1  # each series' last entry
        finish = np.append(begin[1:], math.inf)
        finish[last] = math.inf
        s = np.where(w0 > begin, w0, begin)
        e = np.where(w1 < finish, w1, finish)
        kept = np.flatnonzero(e > s)
        code = _value_codes(states)[kept]
        pair, s, e = pair[kept], s[kept], e[kept]
        joins = np.zeros(len(kept), dtype=bool)
        joins[1:] = (pair[1:] == pair[:-1]) & (code[1:] == code[:-1]) & (e[:-1] == s[1:])
        heads = np.flatnonzero(~joins)
        tails = np.append(heads[1:] - 1, len(kept) - 1) if len(heads) else heads
        state = [states[r] for r in kept[heads].tolist()]
        pairs = pair[heads]
        observed = np.zeros(len(self.vps), dtype=bool)
        observed[pairs[np.array([st[0] != UNOBSERVED for st in state], dtype=bool)]] = True
        for k in self.together:
            if not observed[k]:
                self.alone[k] = snapshot(*self.series[k], self.dumps[k])
        keep = observed[pairs]
        return (
            pairs[keep].tolist(),
            s[heads][keep].tolist(),
            e[tails][keep].tolist(),
            [st for st, chosen in zip(state, keep.tolist(), strict=True) if chosen],
        )


def _value_codes(states: list[State]) -> np.ndarray:
    """Each state's number, equal states (not only the same object) numbered alike: each distinct object
    looked up by value once."""
    codes, distinct = _object_codes(states)
    by_value: dict[State, int] = {}
    numbers = np.array([by_value.setdefault(state, len(by_value)) for state in distinct], dtype=np.int64)
    value_codes: np.ndarray = numbers[codes]
    return value_codes


def _object_codes(states: list[State]) -> tuple[np.ndarray, list[State]]:
    """Each state's number among the distinct objects (the walk shares one object per state), and those
    objects: told apart by their ids, all at once."""
    ids = np.fromiter(map(id, states), dtype=np.uint64, count=len(states))
    _, first, codes = np.unique(ids, return_index=True, return_inverse=True)
    return codes.astype(np.int64, copy=False), [states[k] for k in first.tolist()]


def rib_time(cols: WalkColumns, rows: np.ndarray, window: tuple[float, float]) -> float | None:
    """The time of the VP's last RIB entry inside the window (None: it has none there)."""
    times = cols.time[rows]
    inside = [
        t
        for r, t in zip(rows, times, strict=True)
        if cols.elem_type[r] == "R" and window[0] <= t <= window[1]
    ]
    return float(max(inside)) if inside else None


def snapshot(times: list[float], states: list[State], at: float | None) -> list[tuple[float, float, State]]:
    """Step 7: the zero-length interval [at, at] with the state after every element at or before ``at`` (a RIB
    dump's time), for a pair observed nowhere else in the window; none when the VP was not observed then."""
    if at is None:
        return []
    state = states[bisect.bisect_right(times, at) - 1]
    return [] if state[0] == UNOBSERVED else [(at, at, state)]


def timeline_frame(parts: list[tuple[tuple[Any, ...], str, list[Span]]]) -> pd.DataFrame:
    """The TIMELINE table of each (VP, target text, intervals) in ``parts``, rows in that order."""
    spans = [span for _, _, pair_spans in parts for span in pair_spans]
    pair = np.repeat(np.arange(len(parts)), [len(pair_spans) for _, _, pair_spans in parts])
    return _frame_of_rows(
        [vp for vp, _, _ in parts],
        [target for _, target, _ in parts],
        pair,
        [s[0] for s in spans],
        [s[1] for s in spans],
        [s[2] for s in spans],
    )


def _frame_of_rows(
    vps: list[tuple[Any, ...]],
    targets: list[str],
    pair: np.ndarray,
    start: list[float],
    end: list[float],
    states: list[State],
) -> pd.DataFrame:
    """The TIMELINE table of rows given as each row's pair (an index into ``vps`` and ``targets``), start, end
    and state: a pair's columns made once per pair and a state's once per distinct state object, then
    taken for every row."""
    codes, distinct = _object_codes(states)
    state = pa.array(codes, pa.int64())
    at = pa.array(pair, pa.int64())
    schema = TABLES["timeline"]
    columns: dict[str, list[Any] | pa.Array] = {
        "start": start,
        "end": end,
        "communities": pa.array(
            [list(st[-1]) if st[0] == ROUTED else None for st in distinct], schema.field("communities").type
        ).take(state),
    }
    for k, name in enumerate(VP_KEYS):
        columns[name] = pa.array([vp[k] for vp in vps], schema.field(name).type).take(at)
    columns["target"] = pa.array(targets, schema.field("target").type).take(at)
    for k, name in enumerate(_TIMELINE_FIELDS[:-1]):
        columns[name] = pa.array([st[k] for st in distinct], schema.field(name).type).take(state)
    return make_frame("timeline", columns)


# Step 8: a resumable walk. A route a walk holds: (prefix, path id, AS path, next hop, communities).
SavedRoute = tuple[str, int | None, str | None, str | None, tuple[str, ...]]
SNAPSHOT_FORMAT = 2


class ResumeMiss(Exception):
    """A snapshot cannot give the exact walk of the elements from its cut on: walk every element instead."""


@dataclass(frozen=True)
class VpSnapshot:
    """One VP's walk at a cut.

    ``obs_start`` None: the VP had elements before the cut but is never observed. ``states``: every
    target's state at the cut (by index in the parameters' targets); ``relevant``: the targets its
    elements concern; ``head``: their timeline rows before the cut (clipped at it); ``rib_time``: its last
    RIB entry inside the window before the cut, and ``rib_states`` the relevant targets' states then.
    """

    obs_start: float | None
    start_due: float | None = None
    down: bool = False
    resume_at: float | None = None
    routes: tuple[SavedRoute, ...] = ()
    states: tuple[State, ...] = ()
    relevant: tuple[int, ...] = ()
    head: dict[int, tuple[Span, ...]] = field(default_factory=dict)
    rib_time: float | None = None
    rib_states: dict[int, State] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (tuples as lists, -inf as JSON's -Infinity)."""
        if self.obs_start is None:
            return {"miss": True}
        return {
            "obs_start": self.obs_start,
            "start_due": self.start_due,
            "down": self.down,
            "resume_at": self.resume_at,
            "routes": [[*r[:4], list(r[4])] for r in self.routes],
            "states": [_state_json(s) for s in self.states],
            "relevant": list(self.relevant),
            "head": {str(i): [[a, b, _state_json(s)] for a, b, s in h] for i, h in self.head.items()},
            "rib_time": self.rib_time,
            "rib_states": {str(i): _state_json(s) for i, s in self.rib_states.items()},
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> VpSnapshot:
        if doc.get("miss"):
            return cls(None)
        return cls(
            obs_start=doc["obs_start"],
            start_due=doc["start_due"],
            down=doc["down"],
            resume_at=doc["resume_at"],
            routes=tuple((p, i, a, n, tuple(c)) for p, i, a, n, c in doc["routes"]),
            states=tuple(_state_of(s) for s in doc["states"]),
            relevant=tuple(doc["relevant"]),
            head={int(i): tuple((a, b, _state_of(s)) for a, b, s in h) for i, h in doc["head"].items()},
            rib_time=doc["rib_time"],
            rib_states={int(i): _state_of(s) for i, s in doc["rib_states"].items()},
        )


@dataclass(frozen=True)
class WalkSnapshot:
    """Every VP's walk at ``cut``, in a window from ``w0``: what :func:`walk_timeline` resumes from."""

    cut: float
    w0: float
    vps: dict[tuple[Any, ...], VpSnapshot] = field(default_factory=dict)

    def prefixes(self) -> set[str]:
        """The prefixes of the routes held at the cut."""
        return {r[0] for v in self.vps.values() for r in v.routes}

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form; :meth:`from_json` reads it back."""
        vps = [[list(k), v.to_json()] for k, v in self.vps.items()]
        return {"format": SNAPSHOT_FORMAT, "cut": self.cut, "w0": self.w0, "vps": vps}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> WalkSnapshot:
        """The snapshot of :meth:`to_json`'s form; ValueError when it is another format."""
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a walk snapshot of format {SNAPSHOT_FORMAT}")
        vps = {tuple(k): VpSnapshot.from_json(v) for k, v in doc["vps"]}
        return cls(float(doc["cut"]), float(doc["w0"]), vps)


def _state_json(state: State) -> list[Any]:
    return [*state[:7], list(state[7])]


def _state_of(value: list[Any]) -> State:
    return (*value[:7], tuple(value[7]))


def resume_walk(ctx: WalkContext, saved: VpSnapshot) -> VpWalk:
    """A VP walk in the state ``saved`` holds (every target tracked, each series starting with its state)."""
    if saved.obs_start is None:
        raise ResumeMiss("a vantage point without observation start")
    walk = VpWalk(ctx, saved.obs_start)
    walk.start_due, walk.down, walk.resume_at = saved.start_due, saved.down, saved.resume_at
    for prefix, path_id, as_path, next_hop, communities in saved.routes:
        key = ctx.prefixes[prefix].key
        if key is not None:  # always: a walk holds only routes of prefixes with a key
            walk.routes.setdefault(key, {})[path_id] = (prefix, (as_path, next_hop, communities))
    walk.series = [([-math.inf], [state]) for state in saved.states]
    return walk


def _walk_state(walk: VpWalk) -> VpSnapshot:
    """The walk's own state (what :func:`resume_walk` restores), without relevance, rows and RIB."""
    routes = [
        (prefix, path_id, *route)
        for entries in walk.routes.values()
        for path_id, (prefix, route) in entries.items()
    ]
    routes.sort(key=lambda r: (r[0], -1 if r[1] is None else r[1]))
    return VpSnapshot(
        obs_start=walk.obs_start,
        start_due=walk.start_due,
        down=walk.down,
        resume_at=walk.resume_at,
        routes=tuple(routes),
        states=tuple(states[-1] for _, states in walk.series),
    )


def _stitch(head: Sequence[Span], spans: list[Span]) -> list[Span]:
    out = list(head)
    for a, b, s in spans:
        append_interval(out, a, b, s)
    return out


def _clip(spans: list[Span], cut: float) -> tuple[Span, ...]:
    return tuple((a, min(b, cut), s) for a, b, s in spans if a < cut)


def walk_timeline(
    elements: pd.DataFrame,
    params: AnalysisParams,
    window: tuple[float, float],
    gaps: pd.DataFrame | None,
    cut: float,
    resume: WalkSnapshot | None = None,
) -> tuple[pd.DataFrame, WalkSnapshot]:
    """(the TIMELINE table, every VP's walk at ``cut``): :func:`build_timeline`, and a snapshot to resume
    from. With ``resume`` (a snapshot at an earlier cut, same parameters and window start), ``elements`` are
    those at or after its cut, and the table is that of one walk over every element. :class:`ResumeMiss`
    when the snapshot cannot give it: a VP's elements concern a target they did not before the cut, or a VP
    never observed before the cut has elements after it."""
    parts: list[tuple[tuple[Any, ...], str, list[Span]]] = []
    ctx = WalkContext(tuple(params.targets), params)
    ctx.build(set(elements["prefix"].dropna().unique()) | (resume.prefixes() if resume else set()))
    cols = WalkColumns.of(elements)
    by_collector = collector_gaps(gaps, window)
    groups = {k: np.asarray(v) for k, v in group_indices(elements, VP_KEYS, dropna=False).items()}
    saved = resume.vps if resume else {}
    start = resume.cut if resume else window[0]
    cut = max(cut, start)
    vps: dict[tuple[Any, ...], VpSnapshot] = {}
    for vp in sorted({*groups, *saved}, key=str):
        rows = groups.get(vp, np.array([], dtype=np.int64))
        old = saved.get(vp)
        relevant = _relevant_targets(ctx, cols, rows)
        heads: dict[int, Sequence[Span]] = {}
        rib: tuple[float | None, dict[int, State]] = (None, {})
        if old is None:
            obs = observation_start(cols, rows, window)
            if obs is None:
                if len(rows) and cols.time[rows[0]] < cut:
                    vps[vp] = VpSnapshot(None)
                continue
            walk = VpWalk(ctx, obs)
            if resume is not None:
                heads = {i: [(window[0], start, UNOBSERVED_STATE)] for i in range(len(ctx.targets))}
        elif old.obs_start is None:
            if len(rows):
                raise ResumeMiss("a vantage point without observation start")
            vps[vp] = old
            continue
        else:
            if not relevant <= set(old.relevant):
                raise ResumeMiss("a vantage point's elements concern a new target")
            relevant |= set(old.relevant)
            walk = resume_walk(ctx, old)
            heads = dict(old.head)
            rib = (old.rib_time, dict(old.rib_states))
        vps[vp] = _walk_rows(walk, cols, rows, cut, rib, window, relevant)
        finals = {}
        dump, dump_states = _dump(walk, cols, rows, window, rib, relevant)
        for i in sorted(relevant):
            spans = series_intervals(*walk.series[i], (start, window[1]), by_collector.get(str(vp[0]), []))
            finals[i] = _stitch(heads.get(i, ()), spans)
            if any(s[0] != UNOBSERVED for _, _, s in finals[i]):
                parts.append((vp, ctx.targets[i].text, finals[i]))
            elif dump is not None and dump_states[i][0] != UNOBSERVED:
                parts.append((vp, ctx.targets[i].text, [(dump, dump, dump_states[i])]))
        head = {i: _clip(f, cut) for i, f in finals.items()}
        vps[vp] = replace(vps[vp], relevant=tuple(sorted(relevant)), head=head)
    return timeline_frame(parts), WalkSnapshot(cut, window[0], vps)


def _walk_rows(
    walk: VpWalk,
    cols: WalkColumns,
    rows: np.ndarray,
    cut: float,
    rib: tuple[float | None, dict[int, State]],
    window: tuple[float, float],
    relevant: set[int],
) -> VpSnapshot:
    """Walk the rows before ``cut``, note the walk there (and its last RIB entry before the cut), walk the
    rest (every row taken: a repeated row changes nothing, see :meth:`VpWalk.walk`)."""
    k = int(np.searchsorted(cols.time[rows], cut, side="left"))
    for r in rows[:k].tolist():
        walk.step(cols, r)
    walk.flush(cut)
    noted = _walk_state(walk)
    at = rib_time(cols, rows[:k], window)
    if at is not None:
        rib = (at, {i: _state_at(walk, i, at) for i in relevant})
    for r in rows[k:].tolist():
        walk.step(cols, r)
    walk.flush(math.inf)
    return replace(noted, rib_time=rib[0], rib_states=rib[1])


def _state_at(walk: VpWalk, target: int, at: float) -> State:
    times, states = walk.series[target]
    return states[bisect.bisect_right(times, at) - 1]


def _dump(
    walk: VpWalk,
    cols: WalkColumns,
    rows: np.ndarray,
    window: tuple[float, float],
    rib: tuple[float | None, dict[int, State]],
    relevant: set[int],
) -> tuple[float | None, dict[int, State]]:
    """Step 7's RIB time and states: the VP's last RIB entry inside the window, among these rows or else
    the one noted before the cut."""
    at = rib_time(cols, rows, window)
    if at is None:
        return rib
    return at, {i: _state_at(walk, i, at) for i in relevant}
