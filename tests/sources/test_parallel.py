"""Reading files in a process pool gives the same results, in the same order, as reading them serially."""

from __future__ import annotations

from mrt_samples import MRT_DIR, sampled_targets

from anystab.sources import SourceFile, read_files
from anystab.sources.parallel import worker_count

NAMES = (
    "ris.rrc06.updates.1401488100.gz",
    "ris.bview.ipv4_unicast_add_path.gz",
    "ris.updates.long_withdrawal.gz",
    "ris.bview.64k_stream_overflow.gz",
    "ris.updates.nlri_mask_trailing_bits.gz",
)


def test_parallel_equals_serial() -> None:
    files = [SourceFile(str(MRT_DIR / n), f"c{i}") for i, n in enumerate(NAMES)]
    targets = sampled_targets(NAMES[0])
    ticks: list[int] = []
    serial = read_files(files, None, jobs=1, progress=ticks.append)
    parallel = read_files(files, None, jobs=2, progress=ticks.append)
    assert ticks == [1] * (2 * len(files))
    assert [r.path for r in parallel] == [f.path for f in files]
    for a, b in zip(serial, parallel, strict=True):
        assert (a.collector, a.kind, a.records, a.problems) == (b.collector, b.kind, b.records, b.problems)
        assert a.elements.equals(b.elements) and a.elements.num_rows > 0
    filtered = read_files(files, targets, jobs=0)
    assert [r.elements.num_rows for r in filtered] == [
        r.elements.num_rows for r in read_files(files, targets, 1)
    ]


def test_worker_count() -> None:
    assert worker_count(1, 10) == 1
    assert worker_count(4, 2) == 2
    assert worker_count(0, 100) >= 1
    assert worker_count(3, 0) == 1
