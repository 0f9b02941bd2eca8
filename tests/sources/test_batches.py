"""A file's elements become Arrow record batches as they are read: the same table as one batch at the end.

Rows are settled into a record batch every ``SETTLE_ROWS`` rows, between records; a record that fails
to decode takes its rows back. Reading with a bound of one row (a batch per record) and with none must
give equal results, on the shared files and on generated repeats with damaged and ADD-PATH records.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR, MRT_FILES, assert_same_results, sampled_targets
from test_decode_cache import TARGETS, _repeated_records, _write

from anystab.sources import mrt
from anystab.sources.mrt import read_mrt_file


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


def _pool(env: dict[str, str]) -> str:
    code = "import anystab.sources.mrt, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return run.stdout.strip()


def test_arrow_allocates_with_malloc_unless_the_user_chose() -> None:
    env = {k: v for k, v in os.environ.items() if k != mrt.ARROW_POOL_ENV}
    assert _pool(env) == "system"
    assert _pool({**env, mrt.ARROW_POOL_ENV: "jemalloc"}) == "jemalloc"
