"""One run at a time: an exclusive ``flock`` on a lock file in the state folder, with a bounded wait.

Steps:

1. Open (create) ``<state>/lock`` and try ``fcntl.flock(LOCK_EX | LOCK_NB)``.
2. While another process holds it, retry every :data:`POLL_S` seconds until ``wait_s`` has passed; then
   raise :class:`LockBusyError` naming the holder's pid (written into the file by the holder).
3. The kernel releases the lock when the holder exits, however it exits (SIGKILL included): a stale lock
   file never blocks a later run.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from anystab.errors import LockBusyError
from anystab.monitor.state import PRIVATE_FILE, make_private_dir

POLL_S = 0.1
LOCK_NAME = "lock"


class RunLock:
    """Context manager holding the state folder's lock for the duration of a run."""

    def __init__(self, state_dir: Path, wait_s: float) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self.wait_s = wait_s
        self._fd: int | None = None

    def acquire(self) -> None:
        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise LockBusyError(
                        f"another anystab monitor run (pid {holder}) holds {self.path}; "
                        f"waited {self.wait_s:g} s, giving up (nothing was changed)"
                    ) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
