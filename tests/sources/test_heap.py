"""The heap's top is kept for the next chunk (glibc): a read faults its pages in once, not once per chunk;
the user's own malloc settings, and ``ANYSTAB_MALLOC_DEFAULTS=1``, are left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.mrt_samples import MRT_DIR

from anystab.sources import heap

# In a new process: read the file (on one thread), then print whether the setting was made and the
# minor page faults of the read.
_READ = """
import json, resource, sys
from anystab.sources import heap
from anystab.sources.decompress import open_stream
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
size = sum(len(chunk) for chunk in open_stream(sys.argv[1]))
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults": faults, "size": size, "again": heap.keep_heap_top()}))
"""
GLIBC = heap._glibc()


def _clean_env() -> dict[str, str]:
    """This process's environment without any malloc setting."""
    return {
        k: v for k, v in os.environ.items() if k not in (heap.DEFAULTS_ENV, *heap.USER_ENV, "GLIBC_TUNABLES")
    }


def _read(extra_env: dict[str, str]) -> dict[str, int]:
    env = _clean_env() | {"ANYSTAB_ONE_THREAD": "1", **extra_env}
    path = MRT_DIR / "ris.updates.et-header.2015.gz"  # 13.5 MB in chunks of up to 1 MiB
    proc = subprocess.run(
        [sys.executable, "-c", _READ, str(path)], env=env, capture_output=True, text=True, check=True
    )
    got: dict[str, int] = json.loads(proc.stdout)
    assert got["size"] == 13_511_326
    assert got["again"] is False  # once per process
    return got


def test_a_read_faults_its_pages_in_once_not_once_per_chunk() -> None:
    """Measured: about 420 minor faults with the top kept, 1,800 without (and 3,300 pages in all)."""
    kept = _read({})["faults"]
    left = _read({heap.DEFAULTS_ENV: "1"})["faults"]
    if not GLIBC:  # nothing to set: the same either way
        assert not heap.keep_heap_top()
        return
    assert kept * 2 < left, (kept, left)


@pytest.mark.parametrize(
    "env",
    [
        {heap.DEFAULTS_ENV: "1"},
        {"MALLOC_TOP_PAD_": "131072"},
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.top_pad=131072"},
    ],
)
def test_the_users_own_settings_are_left_alone(env: dict[str, str]) -> None:
    """The first call sets nothing, and reports so; a tunable of another part of glibc does not count."""
    code = "from anystab.sources import heap; print(heap.keep_heap_top())"
    for extra, expected in ((env, "False"), ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2"}, str(GLIBC))):
        proc = subprocess.run(
            [sys.executable, "-c", code], env=_clean_env() | extra, capture_output=True, text=True, check=True
        )
        assert proc.stdout.strip() == expected


# In a new process: fill the heap with blocks of a MiB (under the mmap threshold kept_heap_top sets), let
# all go but the last (the top stays in use: nothing is trimmed as they go), and give the memory back.
_GIVE_BACK = """
import json, sys
from anystab.sources import heap
def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
heap.keep_heap_top()
little = heap.give_back_freed_memory()
blocks = [bytes(1 << 20) for _ in range(int(sys.argv[1]))]
before = rss()
del blocks[:-1]
freed = rss()
again = heap.give_back_freed_memory()
print(json.dumps({"little": little, "again": again, "before": before, "freed": freed, "after": rss()}))
"""


def test_freed_memory_is_given_back_when_there_is_much_of_it() -> None:
    """A trim walks the whole heap: not after a small read; after 150 MiB let go, the RSS falls by it."""
    proc = subprocess.run(
        [sys.executable, "-c", _GIVE_BACK, "150"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(proc.stdout)
    assert got["little"] is False
    if not GLIBC:  # the blocks are the C library's to keep or give back as it goes
        return
    assert got["freed"] > got["before"] - (16 << 20)  # still mapped once let go
    assert got["again"] is True
    assert got["after"] < got["freed"] - (100 << 20)
