"""The pre-filter (with the UPDATE slimming behind it) never drops a matching element.

Oracle for the real files (tests/data/mrt): Debian ``bgpdump -m``'s output of every element, which equals
anystab's own decoding of every element without the pre-filter (pinned here for the smaller files, whose
output is committed whole; the larger ones are field-by-field equal for their sampled targets in
test_bgpdump_equal and were checked whole when the references were made). Oracle for random files: anystab's
own decoding without the pre-filter.
"""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.mrt_data import reference
from support.mrt_samples import (
    MRT_DIR,
    MRT_FILES,
    filtered_reference,
    read_everything,
    reference_lines,
    sampled_targets,
)
from support.random_mrt import mrt_file

from anystab.sources import bgpdump_line, read_mrt_file
from anystab.sources.prefilter import WINDOW_BYTES, Scanner, WalkStats, _prefix_windows, kept_records
from anystab.targets import make_target, target_set

MODES = ("exact", "more", "less", "any")
ET_FILE = "ris.updates.et-header.2015.gz"


@pytest.mark.parametrize("name", MRT_FILES)
def test_prefilter_keeps_every_matching_element(name: str) -> None:
    for mode, seed in zip(MODES, (1, 2, 3, 4), strict=True):
        targets = sampled_targets(name, seed=seed, mode=mode)
        got = [bgpdump_line(r) for r in read_mrt_file(MRT_DIR / name, targets, "test").elements.to_pylist()]
        assert got == filtered_reference(name, targets), mode


@pytest.mark.parametrize("name", [n for n in MRT_FILES if reference(n).whole])
def test_reference_is_decode_everything(name: str) -> None:
    rows = read_everything(name).elements.to_pylist()
    assert [bgpdump_line(r) for r in rows] == list(reference_lines(name))


def test_prefilter_drops_most_records() -> None:
    targets = sampled_targets(ET_FILE)
    stats = WalkStats()
    data = gzip.decompress((MRT_DIR / ET_FILE).read_bytes())
    kept = sum(1 for _ in kept_records([data], Scanner(targets), stats))
    filtered = read_mrt_file(MRT_DIR / ET_FILE, targets, "test")
    assert filtered.records == stats.records == 89686
    assert 0 < kept < stats.records / 10
    assert 0 < filtered.elements.num_rows < reference(ET_FILE).line_count / 50


def _matching(table: pa.Table, targets) -> pa.Table:  # type: ignore[no-untyped-def]
    prefixes = table.column("prefix")
    distinct = [p for p in pc.unique(prefixes).to_pylist() if p is not None]
    wanted = pa.array([p for p in distinct if targets.matches(p)], pa.string())
    return table.filter(pc.or_(pc.is_null(prefixes), pc.is_in(prefixes, wanted)))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(mrt_file())
def test_random_files_prefilter_equals_decode_then_filter(tmp_path_factory, case) -> None:  # type: ignore[no-untyped-def]
    prefixes, mode, data = case
    path = Path(tmp_path_factory.mktemp("random")) / "file.mrt"
    path.write_bytes(data)
    targets = target_set([make_target(p) for p in prefixes], mode)
    everything = read_mrt_file(path, None, "test").elements
    got = read_mrt_file(path, targets, "test").elements
    assert got.equals(_matching(everything, targets))


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


def test_one_scanner_per_target_set() -> None:
    """The scanner is built once per target set: asked again for the same set, or for an equal one, the
    same scanner comes back; another set gets its own."""
    from anystab.sources.mrt import _scanner
    from anystab.targets import make_target, target_set

    one = target_set([make_target("192.0.2.0/24")], "any")
    again = target_set([make_target("192.0.2.0/24")], "any")
    other = target_set([make_target("198.51.100.0/24")], "any")
    first = _scanner(one)
    assert _scanner(one) is first and _scanner(again) is first
    assert _scanner(other) is not first and _scanner(one) is first


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just(4), st.integers(0, (1 << 32) - 1), st.integers(0, 32)),
            st.tuples(st.just(6), st.integers(0, (1 << 128) - 1), st.integers(0, 128)),
        ),
        max_size=50,
    )
)
def test_prefix_windows_of_many_keys_are_each_keys_window(keys: list[tuple[int, int, int]]) -> None:
    """Each key's window is what an NLRI of its prefix holds after its length byte: the network's first
    bytes, its bits past the length cleared (both families, every length, networks with host bits)."""
    lengths, windows = _prefix_windows(keys)
    assert lengths.tolist() == [length for _, _, length in keys]
    assert windows.dtype == np.uint64
    bits = 8 * WINDOW_BYTES
    expected = []
    for version, net, length in keys:
        head = (net.to_bytes(4 if version == 4 else 16, "big") + bytes(WINDOW_BYTES))[:WINDOW_BYTES]
        keep = min(length, bits)
        expected.append(int.from_bytes(head, "big") >> (bits - keep) << (bits - keep) if keep else 0)
    assert windows.tolist() == expected
