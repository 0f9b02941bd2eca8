"""Repeated records are decoded by mrtparse once: reading with the decode cache equals decoding every record.

On every shared MRT file (sampled targets, both scanner paths) and on generated files of repeated records
(ADD-PATH routes, whose bounds count every add again; withdrawals; records mrtparse cannot decode; a
BGP4MP_ET record too short for its microseconds), the
read with the cache gives the same elements, in order, and the same problems as with the cache off.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR, MRT_FILES, assert_same_results, sampled_targets

from anystab.generate import mrtwrite as mw
from anystab.sources import framing, mrt
from anystab.sources.mrt import read_mrt_file
from anystab.targets import make_target, target_set

TARGETS = target_set([make_target("192.0.2.0/24"), make_target("2001:db8::/32")])
T0 = 1_700_000_000_000_000


def _both(path: Path, targets, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    cached = read_mrt_file(path, targets, "test")
    with monkeypatch.context() as m:
        m.setattr(mrt, "DECODE_CACHE_RECORDS", 0)
        uncached = read_mrt_file(path, targets, "test")
    return cached, uncached


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("name", MRT_FILES)
def test_shared_files_same_with_and_without_cache(name: str, compiled: bool, monkeypatch) -> None:
    if compiled and framing.scan is None:
        pytest.skip("the compiled scanner is not built")  # the numpy case still runs
    monkeypatch.setattr(framing, "ACCELERATED", compiled)
    cached, uncached = _both(MRT_DIR / name, sampled_targets(name, seed=7), monkeypatch)
    assert_same_results([uncached], [cached])


def _write(path: Path, records: list[bytes], repeats: int) -> Path:
    mw.write_bytes(path, b"".join(records) * repeats)
    return path


def _repeated_records() -> list[bytes]:
    peer = dict(peer_asn=64500, peer_ip="198.51.100.1")
    route = mw.Route("192.0.2.0/24", (64500, 64496), "198.51.100.1", communities=("64500:1",))
    more = mw.Route("192.0.2.128/25", (64500, 64497), "198.51.100.1")
    other = mw.Route("203.0.113.0/24", (64500, 64498), "198.51.100.1")
    v6 = mw.Route("2001:db8:1::/48", (64500, 64496), "2001:db8::1")
    records = [
        mw.encode_update(mw.Update(T0, **peer, announce=(route, more, other)), et=True),
        mw.encode_update(mw.Update(T0 + 7, **peer, withdraw=(mw.Withdrawal("192.0.2.128/25"),)), et=False),
        mw.encode_update(mw.Update(T0 + 9, 64501, "2001:db8::1", announce=(v6,)), et=True),
    ]
    for path_id in (1, 2, 3):  # ADD-PATH: the live path ids of a prefix are bounded, counted per add
        addpath = mw.Route("192.0.2.0/24", (64500, 64496), "198.51.100.1", path_id=path_id)
        records.append(mw.encode_update(mw.Update(T0 + path_id, **peer, announce=(addpath,)), et=True))
    damaged = bytearray(records[0])
    damaged[57] = 0xFF  # the path attributes' length, past the end: mrtparse gives up on this record
    records.append(bytes(damaged))
    return records


@pytest.mark.parametrize("max_paths", [2, mrt.MAX_PATHS_PER_PREFIX])
def test_repeated_records_same_with_and_without_cache(tmp_path: Path, monkeypatch, max_paths: int) -> None:
    monkeypatch.setattr(mrt, "MAX_PATHS_PER_PREFIX", max_paths)
    path = _write(tmp_path / "updates.gz", _repeated_records(), 300)
    cached, uncached = _both(path, TARGETS, monkeypatch)
    assert_same_results([uncached], [cached])
    assert cached.elements.num_rows > 300 * 4
    assert cached.problems  # the damaged record, each time


@pytest.mark.parametrize("targets", [None, TARGETS])
def test_records_too_short_for_their_time_fields(tmp_path: Path, monkeypatch, targets) -> None:
    """A BGP4MP_ET message record too short for its microseconds is decoded alone (and reported)."""
    short = struct.pack(">IHHI", T0 // 1_000_000, 17, 4, 2) + b"\0\0"
    path = _write(tmp_path / "updates", [short, *_repeated_records()[:2]], 5)
    cached, uncached = _both(path, targets, monkeypatch)
    assert_same_results([uncached], [cached])
    if targets is None:
        assert sum(p.count for p in cached.problems if p.reason.startswith("undecodable")) >= 5


def test_repeats_differ_only_in_time(tmp_path: Path) -> None:
    """Records equal but for their time give elements equal but for theirs."""
    route = mw.Route("192.0.2.0/24", (64500, 64496), "198.51.100.1")
    updates = [mw.Update(T0 + i * 1_000_001, 64500, "198.51.100.1", announce=(route,)) for i in range(50)]
    path = tmp_path / "updates"
    mw.write_updates(path, updates, et=True)
    rows = read_mrt_file(path, TARGETS, "test").elements.to_pylist()
    assert [int(r["time"].timestamp() * 1_000_000) for r in rows] == [u.time_us for u in updates]
    assert len({tuple((k, str(v)) for k, v in r.items() if k != "time") for r in rows}) == 1
