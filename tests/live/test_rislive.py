"""RIS Live frames to elements: updates, peer states, notifications, errors, malformed frames, backoff."""

from __future__ import annotations

import json
import random

import pytest
from support.mrt_data import RISLIVE_STREAM
from support.scenario import small_scenario

from anystab.errors import ConfigError
from anystab.generate.scenario import simulate, write_archive
from anystab.sources import read_mrt_file
from anystab.sources.archive import discover
from anystab.sources.rislive import (
    Backoff,
    as_path_text,
    check_url,
    message_rows,
    parse_frame,
    record_frames,
    subscribe_messages,
)
from anystab.targets import make_target, target_set

TARGETS = target_set([make_target("192.0.2.0/24", "192.0.2.53"), make_target("2001:db8:53::/48")])
COMPARED = ["time", "elem_type", "collector", "peer_asn", "peer_ip", "prefix", "as_path", "next_hop"]


def _update(**data: object) -> dict:
    base = {"timestamp": 1748822400.25, "peer": "198.51.100.1", "peer_asn": "64501", "host": "rrc01"}
    return {**base, "type": "UPDATE", **data}


def test_subscribe_asks_for_more_and_less_specifics_of_every_target():
    messages = subscribe_messages(TARGETS)
    assert [m["data"]["prefix"] for m in messages] == ["192.0.2.0/24", "2001:db8:53::/48"]
    for m in messages:
        assert m["type"] == "ris_subscribe"
        assert m["data"]["moreSpecific"] is True and m["data"]["lessSpecific"] is True
        assert m["data"]["socketOptions"] == {"includeRaw": False}


def test_as_path_with_an_as_set_is_written_as_bgpdump_does():
    assert as_path_text([64501, 64496, 64496, [64511, 64510]]) == "64501 64496 64496 {64511,64510}"
    assert as_path_text([]) == ""


def test_update_gives_withdrawals_then_announcements_of_target_prefixes_only():
    data = _update(
        path=[64501, 64496, [64511, 64512]],
        community=[[64496, 1], [65535, 65281]],
        origin="igp",
        med=20,
        aggregator="64511:192.0.2.1",
        announcements=[
            {"next_hop": "198.51.100.1", "prefixes": ["192.0.2.0/25", "203.0.113.0/24", "0.0.0.0/0"]},
            {"next_hop": "2001:db8::1,fe80::1", "prefixes": ["2001:db8:53::/48", "2001:db8::/32"]},
        ],
        withdrawals=["192.0.0.0/16", "198.18.0.0/15"],
    )
    rows = message_rows(data, TARGETS)
    assert [(r["elem_type"], r["prefix"]) for r in rows] == [
        ("W", "192.0.0.0/16"),
        ("A", "192.0.2.0/25"),
        ("A", "2001:db8:53::/48"),
        ("A", "2001:db8::/32"),
    ]
    a = rows[1]
    assert a["time"] == 1_748_822_400_250_000
    assert (a["collector"], a["peer_asn"], a["peer_ip"]) == ("rrc01", 64501, "198.51.100.1")
    assert a["as_path"] == "64501 64496 {64511,64512}"
    assert a["communities"] == ["64496:1", "65535:65281"]
    assert (a["bgp_origin"], a["med"], a["aggregator"]) == ("IGP", 20, "64511 192.0.2.1")
    assert rows[2]["next_hop"] == "2001:db8::1"
    assert rows[0]["as_path"] is None and rows[0]["next_hop"] is None


@pytest.mark.parametrize(
    ("data", "new_state"),
    [
        ({"type": "RIS_PEER_STATE", "state": "down"}, 1),
        ({"type": "RIS_PEER_STATE", "state": "connected"}, 6),
        ({"type": "NOTIFICATION", "notification": {"code": 6, "subcode": 5, "data": "0605"}}, 1),
    ],
)
def test_peer_state_and_notification_become_state_changes(data, new_state):
    base = {"timestamp": 1553625081.88, "peer": "195.66.224.59", "peer_asn": "24931", "host": "rrc01"}
    (row,) = message_rows({**base, **data}, TARGETS)
    assert (row["elem_type"], row["new_state"], row["prefix"]) == ("S", new_state, None)
    assert row["old_state"] == (6 if new_state == 1 else 1)


@pytest.mark.parametrize("kind", ["OPEN", "KEEPALIVE", "RIS_PEER_STATE"])
def test_messages_without_routes_give_nothing(kind):
    data = {"timestamp": 1.0, "peer": "10.0.0.1", "peer_asn": "1", "host": "rrc00", "type": kind}
    assert message_rows({**data, "state": "unknown"}, TARGETS) == []


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "ris_message", "data": {"timestamp": 1, "peer": "10.0.0.1"',  # cut short
        "[1, 2, 3]",
        '{"type": "ris_message", "data": "UPDATE"}',
        '{"type": "ris_message", "data": {"type": "UPDATE", "peer": "10.0.0.1"}}',  # no timestamp
        json.dumps({"type": "ris_message", "data": _update(peer_asn="AS1", withdrawals=["192.0.2.0/24"])}),
        json.dumps({"type": "ris_message", "data": _update(path=["x"], announcements=[
            {"next_hop": "10.0.0.1", "prefixes": ["192.0.2.0/24"]}])}),
        b"\xff\xfe not utf-8",
    ],
)  # fmt: skip
def test_malformed_frames_are_reported_not_raised(text):
    item = parse_frame(text, TARGETS, at=5.0)
    assert item.kind == "malformed"
    assert item.rows == [] and item.at == 5.0 and item.note


def test_ris_error_is_reported():
    item = parse_frame('{"type": "ris_error", "data": {"message": "bad subscription"}}', TARGETS)
    assert (item.kind, item.note) == ("ris_error", "bad subscription")


def test_the_recorded_stream_sample_parses_with_its_one_malformed_line():
    items = [parse_frame(line, target_set([make_target("45.161.192.0/24")])) for line in
             RISLIVE_STREAM.read_text().splitlines()]  # fmt: skip
    kinds = [i.kind for i in items]
    assert kinds.count("malformed") == 1 and kinds[-1] == "malformed"
    assert kinds.count("ris_error") == 1
    rows = [r for i in items for r in i.rows]
    assert [(r["elem_type"], r["collector"], r["prefix"]) for r in rows] == [
        ("A", "rrc00", "45.161.192.0/23"),
        ("S", "rrc01", None),
        ("S", "rrc01", None),
    ]
    assert rows[0]["as_path"].split()[-1] == "268481"


def test_generated_frames_give_the_rows_the_mrt_reader_gives_for_the_same_updates(tmp_path):
    scenario = small_scenario()
    runs = simulate(scenario)
    write_archive(scenario, tmp_path, runs)
    for collector in ("rrc01", "route-views3"):
        files = sorted(f.path for f in discover([str(tmp_path / collector)]) if "updates" in f.path)
        mrt = [e for f in files for e in read_mrt_file(f, TARGETS, collector).elements.to_pylist()]
        mrt = [e for e in mrt if e["elem_type"] != "S"]
        records = sorted((t, i, s, rec) for i, r in enumerate(runs) if r.vp.collector == collector
                         for t, s, rec in r.records)  # fmt: skip
        rows = [r for f in record_frames([rec for *_, rec in records], collector) for r in
                parse_frame(f, TARGETS).rows if r["elem_type"] != "S"]  # fmt: skip
        assert len(rows) == len(mrt) > 0
        for row, want in zip(rows, mrt, strict=True):
            assert row["time"] == round(want["time"].timestamp() * 1_000_000)
            for column in COMPARED[1:]:
                assert row[column] == want[column], column
            assert row["communities"] == (want["communities"] if row["elem_type"] == "A" else None)


def test_backoff_grows_doubles_to_its_cap_with_jitter_and_resets():
    backoff = Backoff(base_s=0.5, cap_s=4.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays[3:])) > 1  # jittered
    backoff.reset()
    assert backoff.next_delay() <= 0.5


@pytest.mark.parametrize("url", ["http://ris-live.ripe.net/v1/ws/", "ws://", "ris-live.ripe.net"])
def test_only_websocket_urls_are_accepted(url):
    with pytest.raises(ConfigError):
        check_url(url)
