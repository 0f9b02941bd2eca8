"""Hostile MRT inputs built on purpose: huge declared lengths, decompression bombs, a RIB holding millions
of ADD-PATH routes for one prefix, and a child process that reads one and reports its peak memory."""

from __future__ import annotations

import bz2
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from anystab.generate import mrtwrite as mw
from anystab.units import US_PER_S

TARGET = "192.0.2.0/24"
PEER = mw.Peer(64500, "10.0.0.1")
TIME0 = 1_700_000_000
ENTRIES_PER_RECORD = 60_000  # a TABLE_DUMP_V2 RIB record counts its entries in 2 bytes
ZERO_CHUNK = bytes(1 << 24)

_READ_SCRIPT = """
import json, sys
from anystab.sources import read_mrt_file
from anystab.targets import make_target, target_set
targets = target_set([make_target(p) for p in json.loads(sys.argv[2])]) if sys.argv[2] != "null" else None
result = read_mrt_file(sys.argv[1], targets, "hostile")
# VmHWM is this process's own peak; ru_maxrss would include the parent's size at fork
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "peak_mib": peak_kib / 1024,
    "rows": result.elements.num_rows,
    "records": result.records,
    "problems": [[p.offset, p.reason, p.count] for p in result.problems],
}))
"""


def addpath_rib(path: Path, routes: int, prefix: str = TARGET) -> Path:
    """A TABLE_DUMP_V2 dump whose one peer holds ``routes`` ADD-PATH routes (path ids 1..N) for ``prefix``."""
    route = mw.Route(prefix, (64500, 64496), "10.0.0.1", path_id=1)
    attrs = mw.encode_attributes(route, rib=True)
    tail = struct.pack("!H", len(attrs)) + attrs
    head = mw.encode_prefix(prefix)
    subtype = mw.RIB_IPV4_UNICAST_ADDPATH
    parts = [mw.encode_peer_index(mw.RibDump(TIME0, (PEER,)))]
    for seq, first in enumerate(range(1, routes + 1, ENTRIES_PER_RECORD)):
        ids = range(first, min(first + ENTRIES_PER_RECORD, routes + 1))
        entries = b"".join(struct.pack("!HII", 0, TIME0, i) + tail for i in ids)
        body = struct.pack("!I", seq) + head + struct.pack("!H", len(ids)) + entries
        parts.append(mw.mrt_record(TIME0 * US_PER_S, mw.MRT_TABLE_DUMP_V2, subtype, body))
    path.write_bytes(b"".join(parts))
    return path


def huge_length(path: Path, declared: int = (1 << 32) - 1, good_records: int = 3) -> Path:
    """``good_records`` state changes, then a record header declaring ``declared`` body bytes."""
    changes = [mw.StateChange(TIME0 * US_PER_S + i, 64500, "10.0.0.1", 1, 6) for i in range(good_records)]
    bad = struct.pack(">IHHI", TIME0, mw.MRT_BGP4MP, 4, declared) + bytes(64)
    path.write_bytes(mw.encode_records(changes, et=False) + bad)
    return path


def bomb(path: Path, kind: str, mib: int = 1024) -> Path:
    """``mib`` MiB of zero bytes compressed as ``kind`` (gzip: ~1 KiB per MiB, bzip2: under 1 KiB in all)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31) if kind == "gzip" else bz2.BZ2Compressor(9)
    with path.open("wb") as out:
        for _ in range(mib // 16):
            out.write(comp.compress(ZERO_CHUNK))
        out.write(comp.flush())
    return path


def read_in_child(path: Path, prefixes: list[str] | None, timeout_s: float = 300.0) -> dict[str, object]:
    """Read ``path`` in a fresh interpreter; its peak resident memory (MiB, ``VmHWM``), rows, records and
    problems."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", _READ_SCRIPT, str(path), json.dumps(prefixes)],
        capture_output=True, text=True, timeout=timeout_s, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"reader exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
