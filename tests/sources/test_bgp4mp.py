"""anystab's own decoding of regular BGP4MP UPDATEs gives what mrtparse gives, or hands the record to it.

On every shared MRT file: each BGP4MP message record decoded here equals mrtparse's decoding in every
value anystab reads, and most of an update file's records are decoded here (the comparison is not
empty); reads with and without this decoder give the same elements and problems (all records and
sampled targets). On generated records (2-byte sessions with AS4_PATH and AS4_AGGREGATOR, AS_SET and
confederation segments, ADD-PATH, IPv6 with two next hops, long paths in extended-length attributes,
attributes of sizes mrtparse reads otherwise, repeated NLRI) and on records of the real files with bytes
overwritten at random, reads with and without it are equal.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import mrtparse
import pytest
from support.mrt_samples import MRT_DIR, MRT_FILES, assert_same_results, sampled_targets

from anystab.generate import mrtwrite as mw
from anystab.sources import bgp4mp, framing, mrt, prefilter
from anystab.sources.decompress import open_stream
from anystab.sources.mrt import FileResult, read_mrt_file
from anystab.targets import TargetSet

T0 = 1_700_000_000


def _message_records(path: Path) -> list[bytes]:
    stats = prefilter.WalkStats()
    kept = prefilter.kept_records_with_hits(iter(open_stream(path)), None, stats)
    return [record for _, record, _ in kept if record[4:8] in mrt._MESSAGE_HEADS]


def _nlri(entries: list[dict[str, Any]] | None) -> list[tuple[Any, ...]]:
    return [(n["prefix"], n["length"], n.get("path_id")) for n in entries or []]


def _read_values(data: dict[str, Any]) -> dict[str, Any]:
    """The values of a decoded record that anystab reads (mrt._bgp4mp, _parse_attrs, _aggregator)."""
    msg = data["bgp_message"]
    attrs: dict[int, Any] = {}
    for attr in msg["path_attributes"]:
        code = mrt._key(attr["type"])
        value = attr.get("value")
        if code == mrt.ATTR_ORIGIN:
            value = value[mrt._key(value)]
        elif code in (mrt.ATTR_AS_PATH, mrt.ATTR_AS4_PATH):
            value = [(mrt._key(s["type"]), list(s["value"])) for s in value]
        elif code in (mrt.ATTR_AGGREGATOR, mrt.ATTR_AS4_AGGREGATOR):
            value = (value["as"], value["id"])
        elif code == mrt.ATTR_MP_REACH:
            value = (value.get("next_hop"), _nlri(value.get("nlri")))
        elif code == mrt.ATTR_MP_UNREACH:
            value = _nlri(value.get("withdrawn_routes"))
        elif code not in (mrt.ATTR_NEXT_HOP, mrt.ATTR_MED, mrt.ATTR_LOCAL_PREF, mrt.ATTR_COMMUNITY):
            value = None  # present, not read
        attrs[code] = value
    return {
        "time": (mrt._key(data["timestamp"]), data.get("microsecond_timestamp", 0)),
        "type": (mrt._key(data["type"]), mrt._key(data["subtype"])),
        "peer": (int(data["peer_as"]), data["peer_ip"]),
        "message": mrt._key(msg["type"]),
        "withdrawn": _nlri(msg.get("withdrawn_routes")),
        "nlri": _nlri(msg.get("nlri")),
        "attributes": attrs,
    }


def _mrtparse(record: bytes) -> dict[str, Any] | None:
    with mrt._lenient_mrtparse():
        entry = next(mrtparse.Reader(io.BytesIO(record)))
    return None if entry.err is not None else entry.data


@pytest.mark.parametrize("name", MRT_FILES)
def test_every_update_record_decoded_as_mrtparse_does(name: str) -> None:
    records = _message_records(MRT_DIR / name)
    decoded = 0
    for record in records:
        data = bgp4mp.decode_update(record)
        if data is None:
            continue
        decoded += 1
        reference = _mrtparse(record)
        assert reference is not None, record.hex()
        assert _read_values(data) == _read_values(reference), record.hex()
    if len(records) > 100:  # an update file: the regular records are decoded here
        assert decoded >= 0.95 * len(records)


def _both(
    path: Path, targets: TargetSet | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[FileResult, FileResult]:
    fast = read_mrt_file(path, targets, "test")
    with monkeypatch.context() as m:
        m.setattr(mrt, "FAST_UPDATES", False)
        slow = read_mrt_file(path, targets, "test")
    return fast, slow


@pytest.mark.parametrize("name", MRT_FILES)
def test_shared_files_read_alike_with_sampled_targets(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(MRT_DIR / name, sampled_targets(name, seed=11), monkeypatch)
    assert_same_results([slow], [fast])


WHOLE = ("ris.rrc06.updates.1401488100.gz", "ris.updates.20160811.1600.gz", "ris.updates.long_withdrawal.gz")


@pytest.mark.parametrize("name", [*WHOLE, "ris.updates.nlri_mask_trailing_bits.gz"])
def test_shared_update_files_read_alike_whole(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every element of the smaller update files (the larger ones' records: the first test)."""
    fast, slow = _both(MRT_DIR / name, None, monkeypatch)
    assert_same_results([slow], [fast])
    assert fast.elements.num_rows > 0


# --- generated records --------------------------------------------------------------------------------


def _attr(code: int, value: bytes, flags: int = 0x40) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def _segment(kind: int, asns: list[int], size: int) -> bytes:
    return struct.pack("!BB", kind, len(asns)) + b"".join(a.to_bytes(size, "big") for a in asns)


def _record(
    subtype: int, attributes: bytes, nlri: bytes = b"", withdrawn: bytes = b"", et: bool = True
) -> bytes:
    """A BGP4MP(_ET) message record of ``subtype`` from an IPv4 peer."""
    size = 4 if subtype in framing.AS4_MESSAGE_SUBTYPES else 2
    head = (64500).to_bytes(size, "big") + (64501).to_bytes(size, "big") + struct.pack("!HH", 0, 1)
    head += bytes([192, 0, 2, 1]) + bytes([192, 0, 2, 2])
    body = head + mw.bgp_update(withdrawn, attributes, nlri)
    return mw.mrt_record(T0 * 1_000_000 + 5, mw.MRT_BGP4MP_ET if et else mw.MRT_BGP4MP, subtype, body)


def _prefix(text: str, path_id: int | None = None) -> bytes:
    return mw.encode_prefix(text, path_id)


def _generated_records() -> list[bytes]:
    origin = _attr(1, b"\x00")
    hop = _attr(3, bytes([192, 0, 2, 1]))
    trans = 23456
    two_byte_path = _attr(2, _segment(2, [64500, trans, 3356], 2) + _segment(1, [trans, 65001], 2))
    as4_path = _attr(17, _segment(2, [4200000001, 3356], 4) + _segment(1, [4200000002, 65001], 4), 0xC0)
    aggregator = _attr(7, trans.to_bytes(2, "big") + bytes([10, 0, 0, 1]), 0xC0)
    as4_aggregator = _attr(18, (4200000009).to_bytes(4, "big") + bytes([10, 0, 0, 2]), 0xC0)
    confed = _attr(
        2, _segment(3, [65010, 65011], 4) + _segment(4, [65012], 4) + _segment(2, [64500, 3356], 4)
    )
    long_path = _attr(2, _segment(2, list(range(1, 256)), 4) + _segment(2, list(range(300, 400)), 4))
    communities = _attr(8, b"".join(struct.pack("!HH", 64500, i) for i in range(70)), 0xC0)
    med_pref = _attr(4, struct.pack("!I", 7), 0x80) + _attr(5, struct.pack("!I", 200))
    extras = _attr(9, bytes(4), 0x80) + _attr(10, bytes(8), 0x80) + _attr(16, bytes(16), 0xC0)
    extras += _attr(32, bytes(24), 0xC0) + _attr(35, b"\x00\x00\xfd\xe8", 0xC0) + _attr(6, b"")
    v6_hops = bytes.fromhex("20010db8000000000000000000000001fe800000000000000000000000000001")
    mp_reach = _attr(14, struct.pack("!HBB", 2, 1, 32) + v6_hops + b"\x00" + _prefix("2001:db8:1::/48"), 0x80)
    mp_unreach = _attr(
        15, struct.pack("!HB", 2, 1) + _prefix("2001:db8:2::/48") + _prefix("2001:db8:3::/47"), 0x80
    )
    v4 = _prefix("192.0.2.0/24") + _prefix("198.51.100.0/22") + _prefix("203.0.113.128/25")
    records = [
        _record(1, origin + two_byte_path + hop + aggregator + as4_path + as4_aggregator, v4),
        _record(6, origin + two_byte_path + hop + as4_path, v4, et=False),
        _record(4, origin + confed + hop + med_pref + communities + extras, v4),
        _record(4, origin + long_path + hop, v4, withdrawn=_prefix("10.0.0.0/8")),
        _record(4, origin + _attr(2, _segment(2, [64500], 4)) + mp_reach + mp_unreach),
        _record(4, mp_unreach),  # withdrawals only
        _record(
            9,
            origin + _attr(2, _segment(2, [64500], 4)) + hop,
            _prefix("192.0.2.0/24", 1) + _prefix("192.0.2.0/24", 2),
        ),
        _record(
            8, origin + two_byte_path + hop, _prefix("192.0.2.0/24", 7), withdrawn=_prefix("10.0.0.0/8", 3)
        ),
        _record(4, origin + _attr(2, b"") + hop, bytes([25, 192, 0, 2, 0x80])),  # bits past the length
        _record(
            4, origin + _attr(2, _segment(2, [64500], 4)) + hop, _prefix("192.0.2.0/24") * 2
        ),  # read as ADD-PATH
        _record(4, _attr(1, b"\x00\x00") + hop, v4),  # ORIGIN of 2 bytes
        _record(4, _attr(4, b"\x00\x01") + hop, v4),  # MED of 2 bytes
        _record(4, _attr(7, bytes(7)) + hop, v4),  # AGGREGATOR of 7 bytes
        _record(4, origin + _attr(2, _segment(5, [1], 4)) + hop, v4),  # unknown segment type
        _record(4, origin + hop + _attr(26, b"\x01\x00\x0b" + bytes(8), 0x80), v4),  # AIGP: mrtparse's
        _record(4, origin + hop + origin, v4),  # an attribute twice
        _record(4, origin + _attr(3, bytes(16)), v4),  # NEXT_HOP of 16 bytes
        _record(4, origin + hop, v4 + bytes([24, 192, 0])),  # NLRI cut short
        _record(4, origin + hop, bytes([33, 1, 2, 3, 4, 5])),  # prefix too long for IPv4
    ]
    records.append(records[0][:-3])  # torn
    return records


def test_generated_records_read_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _generated_records()
    path = tmp_path / "updates"
    mw.write_bytes(path, b"".join(records))
    fast, slow = _both(path, None, monkeypatch)
    assert_same_results([slow], [fast])
    assert fast.elements.num_rows > 20
    decoded = [bgp4mp.decode_update(r) is not None for r in records]
    assert decoded[:9] == [True] * 9  # the regular ones here, the irregular ones by mrtparse
    assert not any(decoded[9:])


@pytest.mark.parametrize("seed", range(4))
def test_damaged_records_read_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Records of real files and generated ones with bytes overwritten at random, each on its own."""
    rng = random.Random(seed)
    pool = _generated_records()
    for name in ("ris.rrc06.updates.1401488100.gz", "ris.updates.20160811.1600.gz"):
        records = _message_records(MRT_DIR / name)
        pool += rng.sample(records, 150)
    damaged = []
    for record in pool:
        for _ in range(3):
            data = bytearray(record)
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(framing.HEADER_LEN, len(data))] = rng.randrange(256)
            damaged.append(bytes(data))
    path = tmp_path / "damaged"
    mw.write_bytes(path, b"".join(damaged))
    fast, slow = _both(path, None, monkeypatch)
    assert_same_results([slow], [fast])
    assert fast.problems  # some of the damage is seen


_AIGP_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from anystab.sources.mrt import read_mrt_file
result = read_mrt_file(sys.argv[1], None, "test")
print(result.elements.num_rows)
for problem in result.problems:
    print(problem.offset, problem.reason)
"""


@pytest.mark.parametrize("length", [0, 1, 2])
def test_aigp_tlv_shorter_than_its_header_is_damage(tmp_path: Path, length: int) -> None:
    """mrtparse loops forever on an AIGP TLV whose length is under 3, growing its list until memory is
    gone: such a record is reported as damaged and the records around it are read. Run in a child
    process under a 1 GiB address-space cap and a time limit, so that a regression fails here instead of
    taking the machine's memory."""
    origin, hop = _attr(1, b"\x00"), _attr(3, bytes([192, 0, 2, 1]))
    path_attr = _attr(2, _segment(2, [64500], 4))
    good = _record(4, origin + path_attr + hop, _prefix("192.0.2.0/24"))
    bad = _record(
        4,
        origin + path_attr + hop + _attr(26, bytes([1, 0, length]) + bytes(8), 0x80),
        _prefix("198.51.100.0/24"),
    )
    path = tmp_path / "updates"
    mw.write_bytes(path, good + bad + good)
    child = subprocess.run(
        [sys.executable, "-c", _AIGP_CHILD, str(path)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    rows, *problems = child.stdout.splitlines()
    assert rows == "2"
    assert problems == [f"{len(good)} undecodable record (AIGP TLV length {length} under its 3-byte header)"]
