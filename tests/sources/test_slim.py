"""Cutting kept UPDATE records down to their matching NLRI: the decoded elements are those of the whole
record, filtered; irregular records are left whole; SIGPIPE stays ignored after importing the decoder."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anystab.generate import mrtwrite as mw
from anystab.sources import read_mrt_file
from anystab.sources.prefilter import Scanner
from anystab.sources.slim import Slimmer
from anystab.targets import make_target, target_set

TARGETS = target_set([make_target("192.0.2.0/24"), make_target("2001:db8:53::/48")], "any")
NOISE_V4 = [f"10.{i // 256}.{i % 256}.0/24" for i in range(300)]
NOISE_V6 = [f"2001:db8:{i:x}::/48" for i in range(0x100, 0x200)]


def _update(v4: list[str], v6: list[str], withdrawn: list[str], subtype: int = 4) -> bytes:
    path_id = 7 if subtype == 9 else None
    route = mw.Route("2001:db8::/32", (64500, 64501), "2001:db8::1", as_set=(1, 2), communities=("192:0",))
    mp = b"".join(mw.encode_prefix(p, path_id) for p in v6)
    attrs = mw.encode_attributes(route, mp)
    attrs += mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_NEXT_HOP, bytes([10, 0, 0, 1]))
    gone = b"".join(mw.encode_prefix(p, path_id) for p in withdrawn)
    nlri = b"".join(mw.encode_prefix(p, path_id) for p in v4)
    head = struct.pack("!IIHH", 64500, 64512, 0, 1) + bytes([192, 0, 2, 9]) + bytes(4)
    return mw.mrt_record(
        1_700_000_000_123_456, mw.MRT_BGP4MP_ET, subtype, head + mw.bgp_update(gone, attrs, nlri)
    )


def _hits(record: bytes) -> list[int]:
    arr = np.frombuffer(record + bytes(8), dtype=np.uint8)
    return Scanner(TARGETS).hits(arr, len(record)).tolist()


def _rows(path: Path, data: bytes, targets=TARGETS) -> list[dict]:  # type: ignore[no-untyped-def]
    path.write_bytes(data)
    rows = read_mrt_file(path, targets, "test").elements.drop_columns(["source"]).to_pylist()
    return rows


@pytest.mark.parametrize("subtype", [4, 9])
def test_slimmed_record_decodes_to_the_matching_elements(tmp_path: Path, subtype: int) -> None:
    v4 = NOISE_V4[:150] + ["192.0.2.0/25"] + NOISE_V4[150:]
    v6 = NOISE_V6[:50] + ["2001:db8:53::/48"] + NOISE_V6[50:]
    record = _update(v4, v6, ["192.0.0.0/16", *NOISE_V4[:40]], subtype)
    cut = Slimmer(TARGETS).slim(record, _hits(record))
    assert cut is not None and len(cut) < len(record) / 10
    whole = _rows(tmp_path / "whole.mrt", record, None)
    expected = [r for r in whole if TARGETS.matches(r["prefix"])]
    assert [r["prefix"] for r in expected] == ["192.0.0.0/16", "192.0.2.0/25", "2001:db8:53::/48"]
    assert _rows(tmp_path / "cut.mrt", cut, None) == expected
    assert _rows(tmp_path / "filtered.mrt", record) == expected


def test_record_without_matching_nlri_is_dropped() -> None:
    record = _update(NOISE_V4, NOISE_V6, [])
    assert Slimmer(TARGETS).slim(record, list(range(len(record)))) is None


def test_all_matching_record_is_kept_as_is() -> None:
    record = _update(["192.0.2.0/24"], ["2001:db8:53::/48"], [])
    assert Slimmer(TARGETS).slim(record, _hits(record)) is record


def test_irregular_records_stay_whole() -> None:
    twice = _update(["192.0.2.0/24", *NOISE_V4[:5], *NOISE_V4[:1]], [], [])
    slimmer = Slimmer(TARGETS)
    assert slimmer.slim(twice, _hits(twice)) is twice  # a repeated prefix: mrtparse re-reads as ADD-PATH
    record = _update(["192.0.2.0/24", *NOISE_V4[:5]], [], [])
    torn = record[:-1]
    torn = torn[:8] + struct.pack("!I", len(torn) - 12) + torn[12:]
    assert slimmer.slim(torn, _hits(torn)) is torn  # BGP length disagrees with the record's
    state = mw.encode_state_change(mw.StateChange(0, 64500, "192.0.2.1", 1, 6), et=False)
    assert slimmer.slim(state, []) is state


def test_sigpipe_ignored_after_importing_the_decoder() -> None:
    code = (
        "import os, sys\n"
        "import anystab.sources.mrt\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        "try:\n"
        "    os.write(w, b'x')\n"
        "except BrokenPipeError:\n"
        "    sys.exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 3
