"""The pre-filter never drops a record holding a matching element."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mrt_samples import MRT_DIR, MRT_FILES, read_everything, sampled_targets

from anystab.sources import read_mrt_file
from anystab.sources.prefilter import Scanner
from anystab.targets import make_target, target_set

MODES = ("exact", "more", "less", "any")


@pytest.mark.parametrize("name", MRT_FILES)
def test_prefilter_keeps_every_matching_element(name: str) -> None:
    everything = read_everything(name).elements
    prefixes = everything.column("prefix")
    distinct = [p for p in pc.unique(prefixes).to_pylist() if p is not None]
    for mode, seed in zip(MODES, (1, 2, 3, 4), strict=True):
        targets = sampled_targets(name, seed=seed, mode=mode)
        wanted = pa.array([p for p in distinct if targets.matches(p)], pa.string())
        expected = everything.filter(pc.or_(pc.is_null(prefixes), pc.is_in(prefixes, wanted)))
        got = read_mrt_file(MRT_DIR / name, targets, "test").elements
        assert got.num_rows == expected.num_rows, mode
        assert got.equals(expected), mode


def test_prefilter_drops_most_records() -> None:
    name = "ris.updates.et-header.2015.gz"
    everything = read_everything(name)
    filtered = read_mrt_file(MRT_DIR / name, sampled_targets(name), "test")
    assert filtered.records == everything.records
    assert 0 < filtered.elements.num_rows < everything.elements.num_rows / 50


def _nlri(prefix: ipaddress.IPv4Network | ipaddress.IPv6Network, trailing: int) -> bytes:
    size = (prefix.prefixlen + 7) // 8
    raw = bytearray(prefix.network_address.packed[:size])
    spare = size * 8 - prefix.prefixlen
    if raw and spare:
        raw[-1] |= trailing & ((1 << spare) - 1)
    return bytes([prefix.prefixlen]) + bytes(raw)


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, str, str, int, bytes, bytes]:
    version = draw(st.sampled_from((4, 6)))
    bits = 32 if version == 4 else 128
    address = draw(st.integers(0, (1 << bits) - 1))
    tlen = draw(st.integers(8 if version == 4 else 16, bits))
    target = ipaddress.ip_network((address, tlen), strict=False)
    plen = draw(st.integers(0, bits))
    if draw(st.booleans()):
        other = address ^ draw(st.integers(0, (1 << bits) - 1)) >> draw(st.integers(0, bits))
    else:
        other = address
    prefix = ipaddress.ip_network((other, plen), strict=False)
    mode = draw(st.sampled_from(MODES))
    before, after = draw(st.binary(max_size=40)), draw(st.binary(max_size=40))
    return str(target), str(prefix), mode, draw(st.integers(0, 255)), before, after


@settings(max_examples=400, deadline=None)
@given(_case())
def test_scanner_finds_every_matching_nlri(case: tuple[str, str, str, int, bytes, bytes]) -> None:
    target, prefix, mode, trailing, before, after = case
    targets = target_set([make_target(target)], mode)  # type: ignore[arg-type]
    net = ipaddress.ip_network(prefix)
    data = before + _nlri(net, trailing) + after
    arr = np.frombuffer(data + bytes(8), dtype=np.uint8)
    hits = Scanner(targets).hits(arr, len(data)).tolist()
    if targets.matches(prefix):
        assert len(before) in hits
