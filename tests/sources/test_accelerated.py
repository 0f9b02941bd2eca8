"""The compiled scanner (``anystab/sources/_scan.c``) against the numpy reference it replaces.

Both paths must keep the same records with the same hits and walk statistics, and cut kept UPDATEs to the
same bytes, on random files (whole, split into random chunks, damaged), on random bytes and on every real
file. The Python path still reads every real file as bgpdump does, in this process and with
``ANYSTAB_PURE_PYTHON=1``; a package without the built extension falls back; ``setup.py`` builds the
extension, and without a working compiler builds without it. Reading many small files in batches on two
processes gives what one process gives.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.mrt_samples import (
    MRT_DIR,
    MRT_FILES,
    assert_same_results,
    filtered_reference,
    reference_keys,
    sampled_targets,
)
from support.needs import need_c_compiler, need_compiled_scanner
from support.random_mrt import mrt_file

from anystab.errors import BadInputError
from anystab.generate import mrtwrite as mw
from anystab.sources import SourceFile, bgpdump_line, framing, prefilter, read_files, read_mrt_file
from anystab.sources.decompress import open_stream
from anystab.sources.parallel import batches
from anystab.sources.prefilter import Scanner, WalkStats, kept_records_with_hits
from anystab.sources.slim import MESSAGE_SUBTYPES, Slimmer, could_keep
from anystab.targets import TargetSet, make_target, target_set

ROOT = Path(__file__).resolve().parents[2]
MODES = ("any", "exact", "more", "less")
RANDOM = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
SMALL_FILES = (
    "ris.rrc06.updates.1401488100.gz",
    "ris.bview.ipv4_unicast_add_path.gz",
    "ris.updates.long_withdrawal.gz",
    "ris.updates.nlri_mask_trailing_bits.gz",
)

Kept = list[tuple[int, bytes, list[int]]]


def _walk(chunks: list[bytes], scanner: Scanner | None, compiled: bool) -> tuple[Kept, WalkStats]:
    stats = WalkStats()
    return list(kept_records_with_hits(iter(chunks), scanner, stats, compiled)), stats


def _is_message(record: bytes) -> bool:
    return (
        record[4:6] in (b"\x00\x10", b"\x00\x11") and int.from_bytes(record[6:8], "big") in MESSAGE_SUBTYPES
    )


def _slimmed(kept: Kept, targets: TargetSet, compiled: bool) -> list[tuple[bool, bytes | None]]:
    """Each kept message record slimmed: (returned the record itself, the bytes)."""
    slimmer = Slimmer(targets, compiled)
    out = []
    for _offset, record, hits in kept:
        if _is_message(record):
            cut = slimmer.slim(record, hits)
            out.append((cut is record, cut))
    return out


def assert_same_paths(chunks: list[bytes], targets: TargetSet | None) -> Kept:
    """Both paths keep the same records, hits and stats, and slim the kept UPDATEs alike."""
    need_compiled_scanner()
    scanner = None if targets is None else Scanner(targets)
    reference, ref_stats = _walk(chunks, scanner, compiled=False)
    kept, stats = _walk(chunks, scanner, compiled=True)
    assert kept == reference
    assert stats == ref_stats
    if targets is not None:
        assert _slimmed(kept, targets, True) == _slimmed(kept, targets, False)
    return kept


def _targets(prefixes: list[str], mode: str) -> TargetSet:
    return target_set([make_target(p) for p in prefixes], mode)  # type: ignore[arg-type]


def test_extension_is_built_and_used() -> None:
    need_compiled_scanner()
    assert framing.scan is not None
    assert framing.ACCELERATED
    assert Slimmer(_targets(["192.0.2.0/24"], "any")).compiled


@RANDOM
@given(mrt_file(), st.lists(st.integers(1, 4000), max_size=6), st.booleans())
def test_random_files_same_on_both_paths(case, cuts, scan) -> None:  # type: ignore[no-untyped-def]
    prefixes, mode, data = case
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert_same_paths(chunks, _targets(prefixes, mode) if scan else None)


@RANDOM
@given(mrt_file(), st.lists(st.integers(1, 4000), max_size=6), st.integers(16, 4096))
def test_pieces_alone_or_gathered_same_on_both_paths(case, cuts, size) -> None:  # type: ignore[no-untyped-def]
    """A chunk that is a whole piece, with nothing carried over, is scanned where it lies, and what it
    leaves is carried as a gathered piece's is: with pieces this small, every case (a piece alone, one
    gathered from several chunks, one after carried bytes, a last one alone) gives what the numpy path
    gives when it cuts the same pieces. (Both read the bytes after a piece's last record as zeros, so the
    pieces decide the hits found at a record's very end.)"""
    prefixes, mode, data = case
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefilter, "COMPILED_SCAN_BYTES", size)
        patch.setattr(prefilter, "SCAN_BYTES", size)
        assert_same_paths(chunks, _targets(prefixes, mode))


@RANDOM
@given(mrt_file(), st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_files_same_on_both_paths(case, flips) -> None:  # type: ignore[no-untyped-def]
    prefixes, mode, data = case
    damaged = bytearray(data)
    for at, value in flips:
        damaged[at % len(damaged)] = value
    cut = flips[0][0] % (len(damaged) + 1)
    for variant in (bytes(damaged), bytes(damaged[:cut])):
        assert_same_paths([variant], _targets(prefixes, mode))


@RANDOM
@given(st.binary(max_size=3000), st.sampled_from(MODES))
def test_random_bytes_same_on_both_paths(data: bytes, mode: str) -> None:
    assert_same_paths([data], _targets(["192.0.2.0/24", "8.0.0.0/8", "2001:db8::/32"], mode))


@RANDOM
@given(mrt_file(), st.data())
def test_slimming_any_hits_same_on_both_paths(case, data) -> None:  # type: ignore[no-untyped-def]
    """The slimming plan agrees for any sorted hit positions, not only those the scanner finds."""
    prefixes, mode, raw = case
    targets = _targets(prefixes, mode)
    kept = assert_same_paths([raw], None)
    for _offset, record, _hits in kept:
        if not _is_message(record):
            continue
        hits = sorted(data.draw(st.sets(st.integers(0, len(record) - 1), max_size=40)))
        by_python, compiled = (
            Slimmer(targets, False).slim(record, hits),
            Slimmer(targets, True).slim(record, hits),
        )
        assert (compiled is record, compiled) == (by_python is record, by_python)


@pytest.mark.parametrize("attributes", [62, 63, 64, 65])
def test_attribute_walk_limit_same_on_both_paths(attributes: int) -> None:
    """Past MAX_ATTRIBUTES the framing counts as broken: every hit in the record counts (here the filler
    attributes' bytes too, beside the NLRI entry that keeps the record through step 7)."""
    target = "192.0.2.0/24"
    filler = b"".join(mw._attr(mw.FLAG_OPTIONAL, 99, bytes([24, 192, 0, 2])) for _ in range(attributes - 2))
    mp = mw._attr(
        mw.FLAG_OPTIONAL, mw.ATTR_MP_UNREACH, struct.pack("!HB", 2, 1) + mw.encode_prefix("2001:db8::/32")
    )
    attrs = filler + mp + mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_NEXT_HOP, bytes([10, 0, 0, 1]))
    head = struct.pack("!HHHH", 64500, 64512, 0, 1) + bytes([192, 0, 2, 9]) + bytes(4)
    update = mw.bgp_update(b"", attrs, mw.encode_prefix("10.0.0.0/8") + mw.encode_prefix(target))
    record = mw.mrt_record(1_700_000_000_000_000, mw.MRT_BGP4MP, 1, head + update)
    kept = assert_same_paths([record], _targets([target], "any"))
    assert len(kept) == 1
    assert len(kept[0][2]) == (attributes - 1 if attributes > prefilter.MAX_ATTRIBUTES else 1)


@pytest.mark.parametrize("follower", [b"", bytes([0x56, 0x29, 0x95, 0x0C])])
def test_an_entry_cut_by_its_record_end_reads_zeros_after_it(follower: bytes) -> None:
    """An NLRI entry that runs past its record (a /16 with one address byte left) reads zeros there, on
    both paths and whatever follows the record in the piece: the same hit whether the record ends the
    piece or another record's bytes come next."""
    head = struct.pack("!HHHH", 64500, 64512, 0, 1) + bytes([192, 0, 2, 9]) + bytes(4)
    attrs = mw._attr(mw.FLAG_TRANSITIVE, mw.ATTR_NEXT_HOP, bytes([10, 0, 0, 1]))
    record = mw.mrt_record(
        1_700_000_000_000_000, mw.MRT_BGP4MP, 1, head + mw.bgp_update(b"", attrs, b"\x10\xc0")
    )
    after = mw.mrt_record(int.from_bytes(follower or bytes(4), "big") * 1_000_000, 13, 1, bytes(8))
    chunks = [record + after] if follower else [record]
    kept = assert_same_paths(chunks, _targets(["192.0.0.0/16"], "any"))
    assert [(offset, hits) for offset, _, hits in kept if offset == 0] == [(0, [len(record) - 2])]


@pytest.mark.parametrize("repeat", [False, True])
def test_hit_between_entries_same_on_both_paths(repeat: bool) -> None:
    """A wanted prefix read across two withdrawn entries (24.192.0.0/24, then 64.0.0.0/2): no entry
    starts there, so slimming would drop the record and the scan drops it already (step 7), unless a
    repeated entry makes the list irregular: then it is kept, and slimming leaves it whole."""
    withdrawn = bytes([24, 24, 192, 0, 2, 64]) + (bytes([2, 64]) if repeat else b"")
    head = struct.pack("!HHHH", 64500, 64512, 0, 1) + bytes([192, 0, 2, 9]) + bytes(4)
    update = mw.bgp_update(withdrawn, b"", b"")
    record = mw.mrt_record(1_700_000_000_000_000, mw.MRT_BGP4MP, 1, head + update)
    targets = _targets(["192.0.2.0/24"], "any")
    kept = assert_same_paths([record], targets)
    hit = len(record) - len(withdrawn) - 2 + 1
    for compiled in (True, False):
        assert Slimmer(targets, compiled).slim(record, [hit]) is (record if repeat else None)
        assert could_keep(record, [hit]) is repeat
    assert [hits for _offset, _record, hits in kept] == ([[hit]] if repeat else [])


@pytest.mark.parametrize("bgp_type", [1, 2, 3])
def test_only_updates_hold_hits_same_on_both_paths(bgp_type: int) -> None:
    """The same bytes framed as an UPDATE (its NLRI: 192.0.2.0/24) or as an OPEN or a NOTIFICATION."""
    body = bytes([0, 4, 8, 10, 8, 11, 0, 0, 24, 192, 0, 2])
    message = b"\xff" * 16 + struct.pack("!HB", 19 + len(body), bgp_type) + body
    head = struct.pack("!HHHH", 64500, 64512, 0, 1) + bytes([192, 0, 2, 9]) + bytes(4)
    record = mw.mrt_record(1_700_000_000_000_000, mw.MRT_BGP4MP, 1, head + message)
    kept = assert_same_paths([record], _targets(["192.0.2.0/24"], "any"))
    assert len(kept) == (1 if bgp_type == 2 else 0)


@pytest.mark.parametrize(("mrt_type", "subtype", "body"), [(13, 2, 4), (13, 2, 5), (12, 1, 8), (12, 1, 9)])
def test_short_rib_records_same_on_both_paths(mrt_type: int, subtype: int, body: int) -> None:
    """A RIB record too short for its prefix is kept for the decoder to report, on both paths."""
    record = mw.mrt_record(1_700_000_000_000_000, mrt_type, subtype, bytes(range(1, body + 1)))
    other = mw.mrt_record(1_700_000_000_000_000, mrt_type, subtype, bytes(40))
    kept = assert_same_paths([record + other], _targets(["192.0.2.0/24"], "exact"))
    assert [offset for offset, _record, _hits in kept] == ([0] if body in (4, 8) else [])


@pytest.mark.parametrize("name", MRT_FILES)
def test_real_files_same_on_both_paths(name: str) -> None:
    chunks = list(open_stream(MRT_DIR / name))  # the reader's own chunks, joined into 1 MiB pieces
    for mode, seed in zip(MODES, (1, 2, 3, 4), strict=True):
        assert_same_paths(chunks, sampled_targets(name, seed=seed, mode=mode))
    assert_same_paths(chunks, None)


def test_python_path_reads_like_bgpdump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "ACCELERATED", False)
    for name in MRT_FILES:
        targets = sampled_targets(name, seed=5)
        assert not Slimmer(targets).compiled
        rows = read_mrt_file(MRT_DIR / name, targets, "test").elements.to_pylist()
        assert [bgpdump_line(r) for r in rows] == filtered_reference(name, targets), name


_READ_LINES = """
import json, sys
from support.mrt_samples import MRT_DIR, sampled_targets
from anystab.sources import bgpdump_line, framing, prefilter, read_mrt_file
name = sys.argv[1]
rows = read_mrt_file(MRT_DIR / name, sampled_targets(name), "test").elements.to_pylist()
print(json.dumps({"accelerated": framing.ACCELERATED, "module": prefilter.__file__,
                  "lines": [bgpdump_line(r) for r in rows]}))
"""


def _read_in_subprocess(name: str, env: dict[str, str], cwd: Path) -> dict[str, object]:
    tests = str(ROOT / "tests")  # the helpers' package, tests/support, after any PYTHONPATH given
    env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (env.get("PYTHONPATH"), tests) if p)}
    proc = subprocess.run(
        [sys.executable, "-c", _READ_LINES, name],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _lines_here(name: str) -> list[str]:
    rows = read_mrt_file(MRT_DIR / name, sampled_targets(name), "test").elements.to_pylist()
    return [bgpdump_line(r) for r in rows]


def test_environment_variable_selects_the_python_path() -> None:
    name = "ris.updates.20160811.1600.gz"
    env = {**os.environ, framing.PURE_PYTHON_ENV: "1"}
    got = _read_in_subprocess(name, env, ROOT)
    assert got["accelerated"] is False
    assert got["lines"] == _lines_here(name) and got["lines"]


def test_package_without_the_extension_falls_back(tmp_path: Path) -> None:
    """A copy of the package without the built module (as after an install without a C compiler)."""
    shutil.copytree(
        ROOT / "anystab", tmp_path / "anystab", ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k != framing.PURE_PYTHON_ENV}
    env["PYTHONPATH"] = str(tmp_path)
    name = "ris.updates.20070211.0141.gz"
    got = _read_in_subprocess(name, env, tmp_path)
    assert str(got["module"]).startswith(str(tmp_path))
    assert got["accelerated"] is False
    assert got["lines"] == _lines_here(name) and got["lines"]


def _build(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = ["setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "lib"), "--build-temp"]
    return subprocess.run(
        [sys.executable, *args, str(tmp_path / "tmp")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_setup_builds_the_extension(tmp_path: Path) -> None:
    need_c_compiler()
    proc = _build(tmp_path, dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "lib" / "anystab" / "sources").glob("_scan*.so"))


def test_setup_without_a_compiler_builds_without_the_extension(tmp_path: Path) -> None:
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\nexit 1\n")
    failing.chmod(0o755)
    proc = _build(tmp_path, {**os.environ, "CC": str(failing), "LDSHARED": f"{failing} -shared"})
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.rglob("_scan*.so"))
    assert "_scan" in proc.stderr


def test_batched_process_pool_equals_one_process(tmp_path: Path) -> None:
    files = []
    for i in range(24):
        name = SMALL_FILES[i % len(SMALL_FILES)]
        copy = tmp_path / f"{i:02d}-{name}"
        shutil.copyfile(MRT_DIR / name, copy)
        files.append(SourceFile(str(copy), f"c{i % 3}"))
    groups = batches(files, 2)
    assert sorted(i for group in groups for i in group) == list(range(len(files)))
    assert 2 < len(groups) < len(files)
    targets = sampled_targets(SMALL_FILES[0])
    ticks: list[int] = []
    serial = read_files(files, targets, jobs=1)
    parallel = read_files(files, targets, jobs=2, progress=ticks.append)
    assert ticks == [1] * len(files)
    assert [r.path for r in parallel] == [f.path for f in files]
    assert_same_results(serial, parallel)
    assert sum(r.elements.num_rows for r in parallel) > 0
    missing = SourceFile(str(tmp_path / "updates.20240101.0000.gz"), "c0")
    for at in (0, len(files)):
        with pytest.raises(BadInputError, match="no such file"):
            read_files([*files[:at], missing, *files[at:]], targets, jobs=2)


def _many_targets(name: str, seed: int) -> list[str]:
    """Thousands of targets of many lengths for a real file: its reference prefixes, each also cut to a
    shorter length (so that the file's prefixes are more-specifics of targets), and random IPv4 and IPv6
    networks (lookups that mostly miss, spread over the whole address space)."""
    rng = random.Random(seed)
    out = []
    for text in reference_keys(name):
        net = ipaddress.ip_network(text, strict=False)
        out += [
            str(net),
            str(
                net.supernet(
                    new_prefix=rng.randint(min(net.prefixlen, net.max_prefixlen // 4), net.prefixlen)
                )
            ),
        ]
    for _ in range(2000):
        version, bits = rng.choice(((4, 32), (6, 128)))
        length = rng.randint(bits // 4, bits)
        address = (
            ipaddress.ip_address(rng.getrandbits(bits))
            if version == 4
            else ipaddress.IPv6Address(rng.getrandbits(bits))
        )
        out.append(str(ipaddress.ip_network(f"{address}/{length}", strict=False)))
    return out


THOUSANDS_FILES = [name for name in MRT_FILES if "64k" not in name and "trailing" not in name]


@pytest.mark.parametrize(
    ("name", "mode"),
    # one mode a file, the modes in turn (seconds a file); the et-header file in "any", where a record of
    # it read past its end on one path
    [
        (name, "any" if "et-header" in name else MODES[k % len(MODES)])
        for k, name in enumerate(THOUSANDS_FILES)
    ],
)
def test_thousands_of_targets_same_on_both_paths(name: str, mode: str) -> None:
    """The compiled lookups (a bit per address's first 16 bits before each table probe, one table per
    target length) keep what the numpy lookups keep, with thousands of targets of many lengths; and an
    NLRI entry running past its record reads zeros there on both paths, whatever record follows it in
    the piece (the et-header file has one, 403 bytes into a record of 405, that read the next record's
    bytes on one path and a piece's zero padding on the other)."""
    chunks = list(open_stream(MRT_DIR / name))
    targets = _targets(_many_targets(name, seed=len(name)), mode)
    assert len(targets) > 2000
    kept = assert_same_paths(chunks, targets)
    assert mode == "exact" or kept or name.startswith("ris.bview.ipv")
