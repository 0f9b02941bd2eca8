"""The MRT writer: every record type decodes with mrtparse and bgpdump to the values written."""

from __future__ import annotations

import bz2
import gzip
import subprocess
from pathlib import Path

import mrtparse
import pytest
from support.needs import need_bgpdump

from anystab.generate.mrtwrite import (
    Peer,
    RibDump,
    RibEntry,
    Route,
    StateChange,
    Update,
    Withdrawal,
    encode_prefix,
    write_rib,
    write_updates,
)

T0 = 1_748_822_400  # 2025-06-02 00:00:00 UTC

FULL = Route(
    "192.0.2.0/24",
    (64501, 4200000001, 64497, 64496, 64496),
    "198.51.100.1",
    as_set=(64510, 4200000002),
    communities=("64497:100", "65535:65281"),
    med=5,
    local_pref=200,
    atomic_aggregate=True,
    aggregator=(4200000003, "192.0.2.1"),
)
V6 = Route("2001:db8:53::/48", (65536, 64498, 64496), "2001:db8::1", communities=("64498:200",))
PLAIN = Route("203.0.113.128/25", (64502, 64511), "198.51.100.2", origin=2)


def _records(path: Path) -> list[dict]:
    return [dict(m.data) for m in mrtparse.Reader(str(path))]


def _attrs(attrs: list) -> dict[str, object]:
    return {next(iter(a["type"].values())): a["value"] for a in attrs}


def _bgpdump(path: Path) -> list[str]:
    out = subprocess.run([need_bgpdump(), "-m", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@pytest.fixture
def updates_file(tmp_path: Path) -> Path:
    path = tmp_path / "updates.20250602.0000.gz"
    records = [
        Update(T0 * 10**6 + 123456, 64501, "198.51.100.1", (FULL, PLAIN), (Withdrawal("198.18.0.0/15"),)),
        Update(T0 * 10**6 + 500000, 65536, "2001:db8::a", (V6,), (Withdrawal("2001:db8:dead::/48"),), 12654),
        StateChange(T0 * 10**6 + 999999, 64501, "198.51.100.1", 6, 7),
        StateChange((T0 + 1) * 10**6, 64501, "198.51.100.1", 7, 8),
        StateChange((T0 + 2) * 10**6 + 1, 4200000001, "2001:db8::b", 1, 6),
    ]
    write_updates(path, records, et=True)
    return path


def test_update_records_decode_with_mrtparse(updates_file: Path) -> None:
    recs = _records(updates_file)
    assert [list(r["subtype"])[0] for r in recs] == [4] * 5 + [5] * 3
    first = recs[0]
    assert list(first["timestamp"]) == [T0] and first["microsecond_timestamp"] == 123456
    assert (first["peer_as"], first["peer_ip"]) == ("64501", "198.51.100.1")
    msg = first["bgp_message"]
    attrs = _attrs(msg["path_attributes"])
    segments = [(next(iter(s["type"].values())), s["value"]) for s in attrs["AS_PATH"]]
    assert segments == [
        ("AS_SEQUENCE", ["64501", "4200000001", "64497", "64496", "64496"]),
        ("AS_SET", ["64510", "4200000002"]),
    ]
    assert attrs["NEXT_HOP"] == "198.51.100.1"
    assert attrs["COMMUNITY"] == ["64497:100", "65535:65281"]
    assert (attrs["MULTI_EXIT_DISC"], attrs["LOCAL_PREF"]) == (5, 200)
    assert "ATOMIC_AGGREGATE" in attrs
    assert dict(attrs["AGGREGATOR"]) == {"as": "4200000003", "id": "192.0.2.1"}
    assert [(n["prefix"], n["length"]) for n in msg["nlri"]] == [("192.0.2.0", 24)]
    assert [(n["prefix"], n["length"]) for n in recs[1]["bgp_message"]["nlri"]] == [("203.0.113.128", 25)]
    withdrawn = recs[2]["bgp_message"]["withdrawn_routes"]
    assert [(n["prefix"], n["length"]) for n in withdrawn] == [("198.18.0.0", 15)]


def test_ipv6_update_uses_mp_reach_and_unreach(updates_file: Path) -> None:
    recs = _records(updates_file)
    assert recs[3]["afi"] == {2: "IPv6"} and recs[3]["local_as"] == "12654"
    reach = _attrs(recs[3]["bgp_message"]["path_attributes"])["MP_REACH_NLRI"]
    assert reach["next_hop"] == ["2001:db8::1"]
    assert [(n["prefix"], n["length"]) for n in reach["nlri"]] == [("2001:db8:53::", 48)]
    unreach = _attrs(recs[4]["bgp_message"]["path_attributes"])["MP_UNREACH_NLRI"]
    assert [(n["prefix"], n["length"]) for n in unreach["withdrawn_routes"]] == [("2001:db8:dead::", 48)]


def test_state_changes_keep_states_7_and_8(updates_file: Path) -> None:
    states = [
        (r["peer_ip"], r["microsecond_timestamp"], list(r["old_state"])[0], list(r["new_state"])[0])
        for r in _records(updates_file)
        if r["subtype"] == {5: "BGP4MP_STATE_CHANGE_AS4"}
    ]
    assert states == [("198.51.100.1", 999999, 6, 7), ("198.51.100.1", 0, 7, 8), ("2001:db8::b", 1, 1, 6)]


def test_updates_match_bgpdump(updates_file: Path) -> None:
    assert _bgpdump(updates_file) == [
        f"BGP4MP_ET|{T0}.123456|A|198.51.100.1|64501|192.0.2.0/24|64501 4200000001 64497 64496 64496 "
        "{64510,4200000002}|IGP|198.51.100.1|200|5|64497:100 no-export|AG|4200000003 192.0.2.1|",
        f"BGP4MP_ET|{T0}.123456|A|198.51.100.1|64501|203.0.113.128/25|64502 64511|INCOMPLETE|198.51.100.2|"
        "0|0||NAG||",
        f"BGP4MP_ET|{T0}.123456|W|198.51.100.1|64501|198.18.0.0/15",
        f"BGP4MP_ET|{T0}.500000|A|2001:db8::a|65536|2001:db8:53::/48|65536 64498 64496|IGP|2001:db8::1|0|0|"
        "64498:200|NAG||",
        f"BGP4MP_ET|{T0}.500000|W|2001:db8::a|65536|2001:db8:dead::/48",
        f"BGP4MP_ET|{T0}.999999|STATE|198.51.100.1|64501|6|7",
        f"BGP4MP_ET|{T0 + 1}.000000|STATE|198.51.100.1|64501|7|8",
        f"BGP4MP_ET|{T0 + 2}.000001|STATE|2001:db8::b|4200000001|1|6",
    ]


def test_plain_bgp4mp_keeps_whole_seconds(tmp_path: Path) -> None:
    path = tmp_path / "updates.bz2"
    write_updates(path, [Update(T0 * 10**6 + 999999, 64501, "198.51.100.1", (PLAIN,))], et=False)
    recs = _records(path)
    assert recs[0]["type"] == {16: "BGP4MP"} and "microsecond_timestamp" not in recs[0]
    assert _bgpdump(path) == [
        f"BGP4MP|{T0}|A|198.51.100.1|64501|203.0.113.128/25|64502 64511|INCOMPLETE|198.51.100.2|0|0||NAG||"
    ]


def test_addpath_update_and_withdrawal(tmp_path: Path) -> None:
    path = tmp_path / "updates"
    routes = (Route("192.0.2.0/24", (64501, 64496), "198.51.100.1", path_id=7),)
    gone = (Withdrawal("192.0.2.0/24", 9), Withdrawal("2001:db8:53::/48", 11))
    write_updates(path, [Update(T0 * 10**6, 64501, "198.51.100.1", routes, gone)], et=True)
    recs = _records(path)
    assert [r["subtype"] for r in recs] == [{9: "BGP4MP_MESSAGE_AS4_ADDPATH"}] * 3
    assert recs[0]["bgp_message"]["nlri"][0]["path_id"] == 7
    assert recs[1]["bgp_message"]["withdrawn_routes"][0]["path_id"] == 9
    unreach = _attrs(recs[2]["bgp_message"]["path_attributes"])["MP_UNREACH_NLRI"]
    assert unreach["withdrawn_routes"][0]["path_id"] == 11
    assert _bgpdump(path)[:2] == [
        f"BGP4MP_ET_AP|{T0}.000000|A|198.51.100.1|64501|192.0.2.0/24|7|64501 64496|IGP|198.51.100.1|"
        "0|0||NAG||",
        f"BGP4MP_ET_AP|{T0}.000000|W|198.51.100.1|64501|192.0.2.0/24|9",
    ]


@pytest.fixture
def rib_file(tmp_path: Path) -> Path:
    peers = (Peer(64501, "198.51.100.1", "198.51.100.1"), Peer(4200000001, "2001:db8::b"))
    entries = (
        RibEntry(0, FULL, T0 - 100),
        RibEntry(1, V6, T0 - 50),
        RibEntry(0, PLAIN, T0 - 10),
        RibEntry(0, Route("198.18.0.0/15", (64501, 64509), "198.51.100.1", path_id=3), T0 - 5),
        RibEntry(0, Route("198.18.0.0/15", (64501, 64508, 64509), "198.51.100.1", path_id=4), T0 - 4),
        RibEntry(1, Route("2001:db8:99::/48", (4200000001, 64509), "2001:db8::b", path_id=5), T0 - 3),
    )
    path = tmp_path / "bview.20250602.0000.bz2"
    write_rib(path, RibDump(T0, peers, entries, collector_id="192.0.2.250", view_name="master"))
    return path


def test_rib_decodes_with_mrtparse(rib_file: Path) -> None:
    recs = _records(rib_file)
    subtypes = [list(r["subtype"])[0] for r in recs]
    assert subtypes == [1, 2, 4, 2, 8, 10]
    index = recs[0]
    assert (index["collector_bgp_id"], index["view_name"]) == ("192.0.2.250", "master")
    assert [(p["peer_type"], p["peer_ip"], p["peer_as"]) for p in index["peer_entries"]] == [
        (2, "198.51.100.1", "64501"),
        (3, "2001:db8::b", "4200000001"),
    ]
    v6 = recs[2]["rib_entries"][0]
    assert recs[2]["prefix"] == "2001:db8:53::" and list(v6["originated_time"]) == [T0 - 50]
    assert _attrs(v6["path_attributes"])["MP_REACH_NLRI"]["next_hop"] == ["2001:db8::1"]
    assert [e["path_id"] for e in recs[4]["rib_entries"]] == [3, 4]
    assert [r["sequence_number"] for r in recs[1:]] == [0, 1, 2, 3, 4]


def test_rib_matches_bgpdump(rib_file: Path) -> None:
    assert _bgpdump(rib_file) == [
        f"TABLE_DUMP2|{T0}|B|198.51.100.1|64501|192.0.2.0/24|64501 4200000001 64497 64496 64496 "
        "{64510,4200000002}|IGP|198.51.100.1|200|5|64497:100 no-export|AG|4200000003 192.0.2.1|",
        f"TABLE_DUMP2|{T0}|B|2001:db8::b|4200000001|2001:db8:53::/48|65536 64498 64496|IGP|2001:db8::1|0|0|"
        "64498:200|NAG||",
        f"TABLE_DUMP2|{T0}|B|198.51.100.1|64501|203.0.113.128/25|64502 64511|INCOMPLETE|198.51.100.2|"
        "0|0||NAG||",
        f"TABLE_DUMP2_AP|{T0}|B|198.51.100.1|64501|198.18.0.0/15|3|64501 64509|IGP|198.51.100.1|0|0||NAG||",
        f"TABLE_DUMP2_AP|{T0}|B|198.51.100.1|64501|198.18.0.0/15|4|64501 64508 64509|IGP|198.51.100.1|"
        "0|0||NAG||",
        f"TABLE_DUMP2_AP|{T0}|B|2001:db8::b|4200000001|2001:db8:99::/48|5|4200000001 64509|IGP|2001:db8::b|"
        "0|0||NAG||",
    ]


def test_long_as_path_uses_extended_length_and_several_segments(tmp_path: Path) -> None:
    path = tmp_path / "long.gz"
    long_path = tuple(range(4200000000, 4200000300))
    route = Route("192.0.2.0/24", long_path, "0.0.0.0")
    write_updates(path, [Update(T0 * 10**6, 64501, "198.51.100.1", (route,))])
    attr = _records(path)[0]["bgp_message"]["path_attributes"][1]
    assert attr["flag"] & 0x10 and attr["length"] == 2 * 2 + 300 * 4
    assert [len(s["value"]) for s in attr["value"]] == [255, 45]


def test_compression_by_suffix_is_deterministic(tmp_path: Path) -> None:
    rec = [Update(T0 * 10**6, 64501, "198.51.100.1", (PLAIN,))]
    for name in ("a.gz", "b.gz", "c.bz2", "d.mrt"):
        write_updates(tmp_path / name, rec)
    raw = (tmp_path / "d.mrt").read_bytes()
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == raw
    assert bz2.decompress((tmp_path / "c.bz2").read_bytes()) == raw
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert (tmp_path / "a.gz").read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip mtime


@pytest.mark.parametrize(
    ("prefix", "path_id", "expected"),
    [
        ("0.0.0.0/0", None, b"\x00"),
        ("192.0.2.0/24", None, b"\x18\xc0\x00\x02"),
        ("10.0.0.0/9", 1, b"\x00\x00\x00\x01\x09\x0a\x00"),
        ("2001:db8::/32", None, b"\x20\x20\x01\x0d\xb8"),
    ],
)
def test_encode_prefix(prefix: str, path_id: int | None, expected: bytes) -> None:
    assert encode_prefix(prefix, path_id) == expected
