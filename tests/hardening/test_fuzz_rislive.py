"""Fuzzing the RIS Live frame parser (:func:`anystab.sources.rislive.parse_frame`).

Frames: random bytes and text, random JSON of bounded depth, and real-shaped ``ris_message`` frames
(UPDATE, RIS_PEER_STATE, NOTIFICATION, ris_error) with fields dropped, retyped or replaced. Properties:
``parse_frame`` returns a :class:`LiveItem` (rows, malformed or ris_error) within the case bound and never
raises; the rows it returns build an ELEMENTS table (every value fits its column) and hold only
prefixes the targets keep. Frames that once broke the parser are kept in ``corpus/rislive`` and
replayed by ``test_corpus.py`` (see docs/reliability.md).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import bounded, fuzz

from anystab.schemas import ELEMENTS
from anystab.sources.rislive import LiveItem, parse_frame
from anystab.targets import make_target, target_set

READER = "rislive"
TARGETS = target_set([make_target("192.0.2.0/24", "192.0.2.53"), make_target("2001:db8:53::/48")])
INT64 = (1 << 63) - 1
PREFIXES = ("192.0.2.0/24", "192.0.2.128/25", "192.0.0.0/16", "0.0.0.0/0", "2001:db8:53::/48", "10.0.0.0/8",
            "192.0.2.0/33", "garbage", "", "::/0", "192.0.2.1")  # fmt: skip
_NUMBER = st.integers(-INT64, INT64) | st.floats(-1e15, 1e15, allow_nan=False)
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBER | st.text(max_size=20) | st.sampled_from(PREFIXES),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
_ASN = st.integers(0, (1 << 32) - 1) | st.sampled_from(("64500", "x", "-1", "")) | _JSON
_TIME = (
    st.floats() | st.integers(-(2**70), 2**70) | st.sampled_from(("1748822400.5", "x", "", "nan", "1e400"))
)
_TIME |= st.none() | st.lists(_JSON, max_size=2) | st.dictionaries(st.text(max_size=5), _JSON, max_size=2)


@st.composite
def real_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A ris_message (or ris_error) frame close to what RIS Live sends, with fields damaged."""
    kind = draw(st.sampled_from(("UPDATE", "RIS_PEER_STATE", "NOTIFICATION", "OPEN", "KEEPALIVE")))
    peer = st.sampled_from(("198.51.100.1", "::1")) | _JSON
    data: dict[str, Any] = {
        "timestamp": draw(_TIME), "peer": draw(peer), "peer_asn": draw(_ASN),
        "host": draw(st.sampled_from(("rrc00", "rrc21")) | _JSON), "type": kind,
    }  # fmt: skip
    if kind == "UPDATE":
        data["path"] = draw(st.lists(_ASN | st.lists(_ASN, max_size=3), max_size=6))
        data["community"] = draw(st.lists(st.lists(_ASN, min_size=2, max_size=2), max_size=3) | _JSON)
        data["origin"] = draw(st.sampled_from(("igp", "egp", "incomplete", "IGP")) | _JSON)
        data["med"] = draw(st.integers(0, (1 << 32) - 1) | _JSON)
        data["aggregator"] = draw(st.sampled_from(("64511:192.0.2.1", "")) | _JSON)
        prefixes = st.lists(st.sampled_from(PREFIXES) | _JSON, max_size=4)
        announcement = st.fixed_dictionaries(
            {
                "next_hop": st.sampled_from(("198.51.100.1", "2001:db8::1,fe80::1")) | _JSON,
                "prefixes": prefixes,
            }
        )
        data["announcements"] = draw(st.lists(announcement | _JSON, max_size=3))
        data["withdrawals"] = draw(prefixes)
    elif kind == "RIS_PEER_STATE":
        data["state"] = draw(st.sampled_from(("down", "connected", "up")) | _JSON)
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=2)):
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = draw(_TIME if key == "timestamp" else _JSON)
    frame_type = draw(st.sampled_from(("ris_message", "ris_message", "ris_error", "pong")))
    return {"type": frame_type, "data": data if frame_type != "ris_error" else {"message": draw(_JSON)}}


def _check(frame: str | bytes) -> LiveItem:
    with bounded(READER):
        item = parse_frame(frame, TARGETS, at=1.0)
    assert isinstance(item, LiveItem) and item.kind in ("rows", "malformed", "ris_error")
    if item.rows:
        table = pa.Table.from_pylist(item.rows, schema=ELEMENTS)
        for prefix in table.column("prefix").to_pylist():
            assert prefix is None or TARGETS.matches(prefix)
    if item.kind == "malformed":
        assert item.note and len(item.note) < 1000
    return item


@fuzz(200)
@given(frame=real_shaped())
def test_real_shaped_frames(frame: dict[str, Any]) -> None:
    _check(json.dumps(frame))


@fuzz(150)
@given(value=_JSON)
def test_random_json(value: Any) -> None:
    _check(json.dumps(value))


@fuzz(150)
@given(raw=st.binary(max_size=400) | st.text(max_size=400))
def test_random_bytes_and_text(raw: bytes | str) -> None:
    item = _check(raw)
    assert item.kind in ("malformed", "rows", "ris_error")
