"""A file's elements become Arrow record batches as they are read: the same table as one batch at the end.

Rows are settled into a record batch every ``SETTLE_ROWS`` rows, between records; a record that fails
to decode takes its rows back. Reading with a bound of one row (a batch per record) and with none must
give equal results, on the shared files and on generated repeats with damaged and ADD-PATH records.
Up to ``FEW_ROWS`` rows become a batch through one conversion of the rows, more a column at a time: both
ways give equal tables (every shared file, a whole update file with state changes, generated repeats).
Files read one after another into one table, sliced per file, equal files read alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR, MRT_FILES, assert_same_results, sampled_targets
from test_decode_cache import TARGETS, _repeated_records, _write

from anystab.sources import SourceFile, heap, mrt
from anystab.sources.mrt import read_mrt_file
from anystab.sources.remote import read_source, read_sources


def _settled_and_whole(path: Path, targets, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(mrt, "SETTLE_ROWS", 1)
        settled = read_mrt_file(path, targets, "test")
    with monkeypatch.context() as m:
        m.setattr(mrt, "SETTLE_ROWS", 1 << 40)
        whole = read_mrt_file(path, targets, "test")
    return settled, whole


@pytest.mark.parametrize("name", MRT_FILES)
def test_shared_files_same_settled_or_whole(name: str, monkeypatch) -> None:
    settled, whole = _settled_and_whole(MRT_DIR / name, sampled_targets(name, seed=3), monkeypatch)
    assert_same_results([whole], [settled])


def test_repeats_with_failures_same_settled_or_whole(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(mrt, "DECODE_CACHE_RECORDS", 0)  # every record decoded, failed ones included
    path = _write(tmp_path / "updates.gz", _repeated_records(), 50)
    settled, whole = _settled_and_whole(path, TARGETS, monkeypatch)
    assert_same_results([whole], [settled])
    assert settled.problems  # the damaged record, whose rows were taken back
    assert len(settled.elements.to_batches()) > 50 > len(whole.elements.to_batches())


def _rows_and_columns(path: Path, targets, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(mrt, "FEW_ROWS", 1 << 40)
        by_rows = read_mrt_file(path, targets, "test")
    with monkeypatch.context() as m:
        m.setattr(mrt, "FEW_ROWS", 0)
        by_columns = read_mrt_file(path, targets, "test")
    assert by_rows.elements.schema.equals(mrt.ELEMENTS, check_metadata=True)
    return by_rows, by_columns


@pytest.mark.parametrize("name", MRT_FILES)
def test_shared_files_same_built_by_rows_or_columns(name: str, monkeypatch) -> None:
    by_rows, by_columns = _rows_and_columns(MRT_DIR / name, sampled_targets(name, seed=5), monkeypatch)
    assert_same_results([by_columns], [by_rows])


@pytest.mark.parametrize("targets", [None, TARGETS])
def test_every_kind_of_value_same_built_by_rows_or_columns(tmp_path: Path, targets, monkeypatch) -> None:
    by_rows, by_columns = _rows_and_columns(MRT_DIR / "ris.rrc06.updates.1401488100.gz", targets, monkeypatch)
    assert_same_results([by_columns], [by_rows])
    if targets is None:  # state changes, communities, aggregators, withdrawals
        assert set(by_rows.elements.column("elem_type").to_pylist()) == {"A", "W", "S"}
    path = _write(tmp_path / "updates.gz", _repeated_records(), 3)  # ADD-PATH path ids, IPv6
    by_rows, by_columns = _rows_and_columns(path, targets, monkeypatch)
    assert_same_results([by_columns], [by_rows])
    assert by_rows.elements.column("path_id").null_count < by_rows.elements.num_rows


# In a new process (pyarrow imported first or not): pyarrow's default pool, then what a compute function
# and an IPC stream (Arrow's C++ default pool) allocated through mimalloc, and the variable the process's
# children inherit.
_POOL = """
import os, sys
if sys.argv[1] == "pyarrow first":
    import pyarrow
import anystab.sources.mrt, pyarrow as pa, pyarrow.compute as pc
values = pa.array(list(range(100_000)))
pc.unique(values)
sink = pa.BufferOutputStream()
with pa.ipc.new_stream(sink, pa.schema([("a", pa.int64())])) as writer:
    writer.write_table(pa.table({"a": values}))
mimalloc = pa.mimalloc_memory_pool().max_memory() if "mimalloc" in pa.supported_memory_backends() else 0
print(pa.default_memory_pool().backend_name, mimalloc, os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))
"""


def _pool(env: dict[str, str], order: str = "anystab first") -> list[str]:
    argv = [sys.executable, "-c", _POOL, order]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout.split()


def test_arrow_allocates_with_malloc_unless_the_user_chose() -> None:
    """pyarrow's default and the C++ library's (compute functions, IPC streams) alike: mimalloc, Arrow's
    own, is not used at all; where pyarrow was imported first, pyarrow's default still is malloc."""
    env = {k: v for k, v in os.environ.items() if k != heap.ARROW_POOL_ENV}
    assert _pool(env) == ["system", "0", "system"]
    assert _pool(env, "pyarrow first")[::2] == ["system", "system"]
    assert _pool({**env, heap.ARROW_POOL_ENV: "jemalloc"})[::2] == ["jemalloc", "jemalloc"]


def test_files_read_together_equal_files_read_alone(tmp_path: Path) -> None:
    """``read_mrt_files``: every shared file (sampled targets), a damaged, an empty and a state-change
    file, their rows one table sliced per file, equal to reading each alone."""
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes((MRT_DIR / "ris.rrc06.updates.1401488100.gz").read_bytes()[:3000])
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    paths = [MRT_DIR / n for n in MRT_FILES] + [damaged, empty, MRT_DIR / "ris.rrc06.updates.1401488100.gz"]
    targets = sampled_targets(MRT_FILES[0], seed=9)
    alone = [read_mrt_file(p, targets, "test") for p in paths]
    together = mrt.read_mrt_files([(p, "test") for p in paths], targets)
    assert_same_results(alone, together)
    assert alone[-3].problems and alone[-2].kind == "empty" and alone[-1].elements.num_rows


def test_sources_read_in_order_local_runs_together() -> None:
    """``read_sources``: URLs among local paths are read on their own, in the order given."""
    names = MRT_FILES[:4]
    files = [
        SourceFile((MRT_DIR / n).as_uri() if i % 3 == 1 else str(MRT_DIR / n), "test")
        for i, n in enumerate(names)
    ]
    targets = sampled_targets(names[0], seed=9)
    got = read_sources(files, targets)
    assert [r.path for r in got] == [f.path for f in files]
    alone = [read_source(f, targets) for f in files]
    assert_same_results(alone, got)
