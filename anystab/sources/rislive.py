"""RIS Live: RIPE RIS's websocket stream of BGP messages, turned into ELEMENTS rows as they arrive.

Steps:

1. Connect to the websocket (default :data:`DEFAULT_URL`) and send one ``ris_subscribe`` per target prefix
   with ``moreSpecific`` and ``lessSpecific`` (:func:`subscribe_messages`); the target set's ``any`` filter,
   with its ``min_cover``, decides afterwards which prefixes are kept, as for MRT files.
2. Parse every frame on its own (:func:`parse_frame`). A frame that is not a JSON object of a known shape
   is *malformed*: counted and reported, never fatal. ``ris_error`` frames are reported. ``ris_message``
   frames become rows (:func:`message_rows`):

   - ``UPDATE``: one ``W`` per withdrawn prefix, then one ``A`` per announced prefix (bgpdump's order);
     ``path`` becomes bgpdump's AS path text (an AS_SET, a nested list, becomes ``{a,b}``), ``community``
     pairs become ``ASN:VALUE``, the IPv6 next hop is its first (global) address, ``host`` is the collector.
   - ``RIS_PEER_STATE``: ``down`` -> ``S`` into Idle (1), ``connected`` -> ``S`` into Established (6).
   - ``NOTIFICATION`` (either direction) -> ``S`` into Idle: RFC 4271 closes the session after any
     NOTIFICATION, and RIS Live's own ``down`` may come later or not at all; a second ``down`` is harmless.
   - ``OPEN``, ``KEEPALIVE`` and other types carry no route: ignored.

3. :class:`RisLiveSource` yields :class:`LiveItem` s: rows, malformed frames, ``ris_error`` messages and
   connection changes. When the connection fails or closes it waits (:class:`Backoff`: exponential from
   :data:`BACKOFF_BASE_S`, doubled per failed attempt, capped at :data:`BACKOFF_CAP_S`, with the upper half
   jittered), reconnects and subscribes again, for ever; a connection that delivered a frame resets it.
   :class:`ReplaySource` yields the same items from a recording (frames one a line, gzip allowed) at full
   speed, and ends with the file.

:func:`record_frames` writes the other direction, generated BGP records as RIS Live frames, for replaying
a scenario through a local server.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from anystab.errors import ConfigError, SourceUnavailableError
from anystab.targets import TargetSet
from anystab.text import pip_install
from anystab.units import US_PER_S

DEFAULT_URL = "wss://ris-live.ripe.net/v1/ws/?client=anystab"
INSTALL_HINT = f"anystab live needs the websockets package: {pip_install('live')}"
SOURCE_NAME = "ris-live"
IDLE, ESTABLISHED = 1, 6
PEER_STATES = {"down": IDLE, "connected": ESTABLISHED}
ORIGINS = {"igp": "IGP", "egp": "EGP", "incomplete": "INCOMPLETE"}
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
OPEN_TIMEOUT_S = 15.0
MAX_FRAME_BYTES = 16 * 1024 * 1024
EXCERPT_CHARS = 80
REPLAY_BATCH_LINES = 5000
MAX_TIME_S = 2**63 // US_PER_S - 1  # the ELEMENTS table holds times as int64 microseconds
MAX_U32 = 2**32 - 1  # AS numbers and MED are 32-bit in BGP


@dataclass
class LiveItem:
    """One thing the stream gave: ``rows``, ``malformed``, ``ris_error``, ``connected``, ``disconnected``, or
    ``ended`` (a recording that stops short).

    ``at`` is the wall-clock time (Unix seconds) it was seen; ``note`` says what happened for people.
    """

    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    at: float = 0.0


class LiveSource(Protocol):
    """A live stream of elements: :meth:`items` runs until cancelled (or the source ends)."""

    name: str

    def items(self) -> AsyncIterator[LiveItem]: ...


def subscribe_messages(targets: TargetSet) -> list[dict[str, Any]]:
    """One ``ris_subscribe`` per target prefix, with its more- and less-specifics, without raw bytes."""
    return [
        {
            "type": "ris_subscribe",
            "data": {
                "prefix": str(t.prefix),
                "moreSpecific": True,
                "lessSpecific": True,
                "socketOptions": {"includeRaw": False},
            },
        }
        for t in targets
    ]


def as_path_text(path: Sequence[Any]) -> str:
    """bgpdump's AS path text from RIS Live's ``path``: a nested list (AS_SET) becomes ``{a,b}``."""
    parts = []
    for hop in path:
        if isinstance(hop, list):
            parts.append("{" + ",".join(str(int(a)) for a in hop) + "}")
        else:
            parts.append(str(int(hop)))
    return " ".join(parts)


def _bounded_int(value: Any, top: int, name: str) -> int:
    """An integer in [0, top]; anything else is a ValueError (the frame is malformed)."""
    number = int(value)
    if not 0 <= number <= top:
        raise ValueError(f"{name} out of range: {number}")
    return number


def _time_us(value: Any) -> int:
    """RIS Live's float seconds as integer microseconds, refusing what the table cannot hold."""
    seconds = float(value)
    if not 0 <= seconds <= MAX_TIME_S:  # also refuses nan and infinities
        raise ValueError(f"timestamp out of range: {value!r}")
    return round(seconds * US_PER_S)


@cache
def _element_columns() -> tuple[str, ...]:
    from anystab.schemas import ELEMENTS  # pyarrow: loaded with the first frame, not with the command line

    return tuple(ELEMENTS.names)


def _row(data: dict[str, Any], kind: str, time_us: int) -> dict[str, Any]:
    row = dict.fromkeys(_element_columns())
    row.update(
        time=time_us,
        elem_type=kind,
        collector=str(data["host"]),
        peer_asn=_bounded_int(data["peer_asn"], MAX_U32, "peer_asn"),
        peer_ip=str(data["peer"]),
        source=SOURCE_NAME,
    )
    return row


def _route_values(data: dict[str, Any], next_hop: str | None) -> dict[str, Any]:
    aggregator = data.get("aggregator")
    origin = data.get("origin")
    return {
        "as_path": as_path_text(data.get("path") or []),
        "bgp_origin": ORIGINS.get(str(origin).lower(), str(origin).upper()) if origin else None,
        "next_hop": next_hop.split(",")[0].strip() if next_hop else None,
        "local_pref": 0,
        "med": _bounded_int(data.get("med") or 0, MAX_U32, "med"),
        "communities": [f"{int(a)}:{int(v)}" for a, v in data.get("community") or []],
        "atomic_aggregate": bool(data.get("atomic_aggregate", False)),
        "aggregator": str(aggregator).replace(":", " ", 1) if aggregator else None,
    }


def _update_rows(data: dict[str, Any], time_us: int, targets: TargetSet) -> list[dict[str, Any]]:
    rows = []
    for prefix in data.get("withdrawals") or []:
        if targets.matches(str(prefix)):
            rows.append({**_row(data, "W", time_us), "prefix": str(prefix)})
    for announcement in data.get("announcements") or []:
        values = _route_values(data, announcement.get("next_hop"))
        for prefix in announcement.get("prefixes") or []:
            if targets.matches(str(prefix)):
                rows.append({**_row(data, "A", time_us), "prefix": str(prefix), **values})
    return rows


def _state_row(data: dict[str, Any], time_us: int, new_state: int) -> dict[str, Any]:
    old_state = ESTABLISHED if new_state != ESTABLISHED else IDLE
    return {**_row(data, "S", time_us), "old_state": old_state, "new_state": new_state}


def message_rows(data: dict[str, Any], targets: TargetSet) -> list[dict[str, Any]]:
    """ELEMENTS rows (``time`` in integer microseconds) from a ``ris_message``'s ``data``.

    Raises KeyError, TypeError or ValueError when a field the type needs is missing or malformed.
    """
    kind = data.get("type")
    time_us = _time_us(data["timestamp"])
    if kind == "UPDATE":
        return _update_rows(data, time_us, targets)
    if kind == "RIS_PEER_STATE":
        state = PEER_STATES.get(str(data.get("state")).lower())
        return [] if state is None else [_state_row(data, time_us, state)]
    if kind == "NOTIFICATION":
        return [_state_row(data, time_us, IDLE)]
    return []


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def parse_frame(text: str | bytes, targets: TargetSet, at: float = 0.0) -> LiveItem:
    """One frame as a :class:`LiveItem`: ``rows`` (possibly none), ``ris_error`` or ``malformed``."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        frame = json.loads(text)
        if not isinstance(frame, dict) or not isinstance(frame.get("data"), dict):
            raise ValueError("not an object with a data object")
        if frame.get("type") == "ris_error":
            return LiveItem("ris_error", note=str(frame["data"].get("message", frame["data"])), at=at)
        if frame.get("type") != "ris_message":
            return LiveItem("rows", at=at)
        return LiveItem("rows", message_rows(frame["data"], targets), at=at)
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        UnicodeDecodeError,
        RecursionError,
        OverflowError,
    ) as exc:
        shown = text if isinstance(text, str) else repr(text)
        return LiveItem("malformed", note=f"{type(exc).__name__}: {exc} in {_excerpt(shown)!r}", at=at)


@dataclass
class Backoff:
    """Delays between reconnection attempts: exponential, capped, the upper half jittered."""

    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0**self.attempt)
        self.attempt += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


def check_url(url: str) -> str:
    """A websocket URL (``ws://`` or ``wss://`` with a host), else :class:`ConfigError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"not a websocket URL: {url!r} (use ws://host:port/path or wss://...)")
    return url


def import_websockets() -> Any:
    """The websockets asyncio client, or :class:`SourceUnavailableError` with :data:`INSTALL_HINT`."""
    try:
        import websockets.asyncio.client as client
        import websockets.exceptions as exceptions
    except ImportError as exc:
        raise SourceUnavailableError(f"{INSTALL_HINT} (import failed: {exc})") from None
    return client, exceptions


class RisLiveSource:
    """RIS Live (or a server speaking its protocol at ``url``), reconnecting with :class:`Backoff`."""

    name = "ris-live"

    def __init__(self, targets: TargetSet, url: str = DEFAULT_URL, backoff: Backoff | None = None) -> None:
        self.targets = targets.with_mode("any")
        self.url = check_url(url)
        self.backoff = backoff or Backoff()
        self.client, self.exceptions = import_websockets()

    async def items(self) -> AsyncIterator[LiveItem]:
        import asyncio

        failures = (OSError, asyncio.TimeoutError, self.exceptions.WebSocketException)
        while True:
            reason = "the server closed the connection"
            try:
                async for item in self._session():
                    yield item
            except failures as exc:
                reason = f"{type(exc).__name__}: {exc}"
            delay = self.backoff.next_delay()
            yield LiveItem("disconnected", note=f"{reason}; reconnecting in {delay:.1f} s", at=time.time())
            await asyncio.sleep(delay)

    async def _session(self) -> AsyncIterator[LiveItem]:
        async with self.client.connect(
            self.url, open_timeout=OPEN_TIMEOUT_S, max_size=MAX_FRAME_BYTES
        ) as socket:
            for message in subscribe_messages(self.targets):
                await socket.send(json.dumps(message))
            yield LiveItem("connected", note=f"subscribed to {len(self.targets)} prefixes", at=time.time())
            async for frame in socket:
                self.backoff.reset()
                yield parse_frame(frame, self.targets, time.time())


class ReplaySource:
    """A recorded stream: RIS Live frames as the server sends them, one a line (gzip allowed), read at full
    speed. Lines are parsed exactly as frames off the websocket (a malformed one is reported and skipped); a
    recording cut short (a truncated gzip) ends the replay with an ``ended`` notice."""

    name = "ris-live-replay"

    def __init__(self, targets: TargetSet, path: str | os.PathLike[str]) -> None:
        self.targets = targets.with_mode("any")
        self.path = Path(path)

    async def items(self) -> AsyncIterator[LiveItem]:
        import asyncio

        lines = 0
        try:
            with _open_recording(self.path) as fh:
                for lines, line in enumerate(fh, 1):  # noqa: B007 (the count is reported after the loop)
                    if line.strip():
                        yield parse_frame(line, self.targets, time.time())
                    if lines % REPLAY_BATCH_LINES == 0:
                        await asyncio.sleep(0)  # let the run emit the events found so far
        except (OSError, EOFError, zlib.error) as exc:
            note = f"{self.path} ends early after {lines} lines: {exc}"
            yield LiveItem("ended", note=note, at=time.time())


def _open_recording(path: Path) -> io.BufferedIOBase:
    """The recording's lines as bytes; gzip told by its magic number, not by the name."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")  # noqa: SIM115 (the caller closes it)


def _route_frames(update: Any, host: str) -> list[dict[str, Any]]:
    """One UPDATE message per group of announced routes with equal attributes, as the MRT writer groups."""
    groups: dict[tuple[object, ...], list[Any]] = {}
    for route in update.announce:
        groups.setdefault((":" in route.prefix, *route.attrs_key()), []).append(route)
    messages = []
    for routes in groups.values():
        r = routes[0]
        path: list[Any] = list(r.as_path) + ([list(r.as_set)] if r.as_set else [])
        data = {
            "path": path,
            "community": [[int(c.split(":")[0]), int(c.split(":")[1])] for c in r.communities],
            "origin": ["IGP", "EGP", "INCOMPLETE"][r.origin],
            "announcements": [{"next_hop": r.next_hop, "prefixes": [x.prefix for x in routes]}],
        }
        if r.med is not None:
            data["med"] = r.med
        messages.append(data)
    for v6 in (False, True):
        gone = [w.prefix for w in update.withdraw if (":" in w.prefix) == v6]
        if gone:
            messages.append({"withdrawals": gone})
    return [{"type": "UPDATE", **m} for m in messages]


def _state_frames(change: Any) -> list[dict[str, Any]]:
    if change.new_state == ESTABLISHED:
        return [{"type": "RIS_PEER_STATE", "state": "connected"}]
    if change.old_state == ESTABLISHED:
        return [{"type": "RIS_PEER_STATE", "state": "down"}]
    return []  # the steps of the FSM between: RIS Live reports only down and connected


def record_frames(records: Iterable[Any], host: str) -> list[str]:
    """RIS Live frames (JSON text) for generated records of one collector ``host``, in the given order.

    Records are :mod:`anystab.generate.mrtwrite` ``Update`` and ``StateChange`` objects; ADD-PATH path
    ids are not carried (RIS Live has none).
    """
    frames = []
    for record in records:
        is_update = hasattr(record, "announce")
        bodies = _route_frames(record, host) if is_update else _state_frames(record)
        for body in bodies:
            data = {
                "timestamp": record.time_us / US_PER_S,
                "peer": record.peer_ip,
                "peer_asn": str(record.peer_asn),
                "id": f"{record.peer_ip}-{record.time_us}",
                "host": host,
                **body,
            }
            frames.append(json.dumps({"type": "ris_message", "data": data}))
    return frames
