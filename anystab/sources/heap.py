"""Keep the top of the C heap for the next chunk while files are read (glibc's malloc only); let Arrow
allocate there too (:func:`arrow_allocates_with_malloc`); give the heap's freed memory back once the files'
tables are let go (:func:`give_back_freed_memory`).

Steps:

1. A read makes a chunk of up to a MiB of decompressed bytes at a time, hands it to the scan, and lets it
   go. glibc's malloc gives the free memory at the top of its heap back to the system once it exceeds
   its trim threshold, keeping only ``M_TOP_PAD`` (128 KiB by default) of it, so the next chunk's pages
   are faulted in again, one by one: reading the 13.5 MB of the et-header file took 1,800 minor page
   faults in place of 350, and 3,100 when it was inflated on a thread ahead of the scan (the thread's
   heap is trimmed the same way).
2. :func:`keep_heap_top`, called as a file is read, sets ``M_TOP_PAD`` to :data:`TOP_PAD_BYTES` once per
   process through ``mallopt(3)``, so that a trim keeps that much: what the next chunks reuse. Setting it
   also stops glibc from raising its mmap threshold as large blocks are freed (from 128 KiB, by default,
   up to 32 MiB), and a chunk above the threshold is mapped afresh, page faults and all, each time; so
   the threshold is set as well, to :data:`MMAP_THRESHOLD_BYTES`, above any chunk. Both are left alone
   where the C library is not glibc, where the user set ``MALLOC_TOP_PAD_``, ``MALLOC_MMAP_THRESHOLD_``
   or a ``glibc.malloc`` tunable (theirs to choose), and with ``ANYSTAB_MALLOC_DEFAULTS=1``.
3. Memory only stays mapped while it would be reused: at most :data:`TOP_PAD_BYTES` per heap (the main
   one and one per reading thread), which a later allocation takes first; blocks above
   :data:`MMAP_THRESHOLD_BYTES` (large arrays) are still mapped on their own and given back when freed.
4. Arrow allocates with the C library's malloc too (:func:`arrow_allocates_with_malloc`, as ``anystab`` is
   imported): Arrow's own allocator (mimalloc) keeps freed memory for reuse, so the elements' tables, let
   go once the analysis has them as a DataFrame, stayed in the peak. Arrow has two defaults: pyarrow's
   (building arrays, converting to pandas) and its C++ library's (compute functions, IPC streams), which
   it reads from ``ARROW_DEFAULT_MEMORY_POOL`` once, as pyarrow is imported. So the variable is set to
   ``system`` before that (for this process and those it starts), and pyarrow's default is set as well
   where pyarrow came first. A user's own ``ARROW_DEFAULT_MEMORY_POOL`` stands. Left to mimalloc, the C++
   library's first allocation mapped a segment whose huge page took 5 ms to clear on a virtual machine
   that hands its memory over as it is first touched (once per process: in the analysis's first compute
   call, in a ``--jobs`` worker's first IPC stream).
5. Once the files' tables are let go (the analysis has them as a DataFrame), their blocks are free in the
   heap but still mapped: :func:`give_back_freed_memory` hands them back (``malloc_trim``) when more than
   :data:`GIVE_BACK_MIN_BYTES` are free (``mallinfo2``, glibc 2.33 and later; without it, always). A trim
   walks the whole heap (0.3-0.6 ms after a day of small files, where it gave back only the top kept in
   step 2); after a million elements it gives back hundreds of MB.

Measured (README "Performance"): reading the et-header file 0.034 s -> 0.031 s on one thread and
0.034 s -> 0.027 s with the thread ahead; the whole ``anystab analyze`` of 20 copies of it 1.12 s ->
0.98 s.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from typing import Any

TOP_PAD_BYTES = 4 << 20  # a few chunks of at most a MiB each (16 MiB kept no more faults away, measured)
MMAP_THRESHOLD_BYTES = 4 << 20  # above a chunk (READ_SIZE) and the buffer it is scanned in
GIVE_BACK_MIN_BYTES = 64 << 20  # free heap memory worth a trim (step 5)
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"  # Arrow's allocator: system (malloc), mimalloc or jemalloc
DEFAULTS_ENV = "ANYSTAB_MALLOC_DEFAULTS"  # "1": leave malloc's settings as they are
USER_ENV = ("MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")  # the user's own, never overridden (nor tunables)
M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3  # mallopt's parameter numbers (malloc.h)

_tried = False


def keep_heap_top() -> bool:
    """Step 2: set glibc's ``M_TOP_PAD`` and ``M_MMAP_THRESHOLD`` the first time it is called in this
    process; whether they are set by this call."""
    global _tried
    if _tried:
        return False
    _tried = True
    if os.environ.get(DEFAULTS_ENV) == "1" or any(name in os.environ for name in USER_ENV):
        return False
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    if not _glibc():
        return False
    try:
        mallopt = _libc().mallopt
        return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(M_TOP_PAD, TOP_PAD_BYTES))
    except (OSError, AttributeError):  # no symbols of the process itself to look up, no mallopt
        return False


def arrow_allocates_with_malloc() -> bool:
    """Step 4: make malloc Arrow's allocator unless the user chose one; whether it was made so here."""
    if ARROW_POOL_ENV in os.environ:  # the user's (or made so already)
        return False
    os.environ[ARROW_POOL_ENV] = "system"
    if "pyarrow" in sys.modules:  # imported first: its C++ default is chosen already, pyarrow's can be set
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    return True


def give_back_freed_memory() -> bool:
    """Step 5: return the C library's freed memory to the system (glibc's ``malloc_trim``) when more than
    :data:`GIVE_BACK_MIN_BYTES` of it are free; whether it was tried. glibc keeps freed blocks in its
    heap: the files' tables, let go once the analysis has them as a DataFrame, stayed in the RSS, and the
    later stages' Python objects (in their own arenas) do not reuse them."""
    if not sys.platform.startswith("linux"):
        return False
    trim = getattr(_libc(), "malloc_trim", None)  # None: a C library without it (musl)
    if trim is None or _free_bytes() <= GIVE_BACK_MIN_BYTES:
        return False
    trim(0)
    return True


def _free_bytes() -> float:
    """Bytes free in every heap of the C library (``mallinfo2``'s ``fordblks``); infinite where it cannot
    tell (glibc before 2.33)."""
    info = _mallinfo2()
    return math.inf if info is None else float(info().fordblks)


@functools.cache
def _libc() -> Any:
    """The C library, as this process has it loaded."""
    import ctypes

    return ctypes.CDLL(None)


@functools.cache
def _mallinfo2() -> Any:
    """The C library's ``mallinfo2`` returning its struct, or None."""
    import ctypes

    class MallInfo2(ctypes.Structure):  # malloc.h's struct mallinfo2
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd")
            + ("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
        ]

    info = getattr(_libc(), "mallinfo2", None)
    if info is not None:
        info.restype = MallInfo2
    return info


def _glibc() -> bool:
    """Whether this process runs on glibc (``confstr`` answers without reading any file)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # not Linux, or a C library without the name
        return False
