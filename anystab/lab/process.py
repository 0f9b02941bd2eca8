"""Running commands and daemons for the lab, and waiting by polling.

Steps:

1. Commands run to completion with :func:`run` (output captured; a failure raises :class:`LabError` with
   the command's stderr).
2. Daemons run as children of the lab process (:class:`Daemon`): started with ``ip netns exec``, which
   replaces itself with the daemon, so the child's pid is the daemon's; stopped with SIGTERM, waited for
   up to ``STOP_TIMEOUT_S``, then killed.
3. :func:`wait_for` polls a condition every ``POLL_INTERVAL_S`` until it holds or a timeout passes; the
   timeout error names what was awaited and the last state seen.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from anystab.errors import LabError

POLL_INTERVAL_S = 0.1
STOP_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 30.0

T = TypeVar("T")


def run(args: Sequence[str], check: bool = True) -> str:
    """Run a command to completion; its stdout. A non-zero exit raises :class:`LabError` if ``check``."""
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(args)}: {exc}") from None
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def in_ns(namespace: str, *args: str) -> list[str]:
    """A command line that runs ``args`` inside a named network namespace."""
    return ["ip", "netns", "exec", namespace, *args]


class Daemon:
    """One daemon process, a child of the lab process, its output appended to a log file."""

    def __init__(self, name: str, args: Sequence[str], log: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            try:
                self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd)
            except OSError as exc:
                raise LabError(f"cannot start {self.name}: {exc}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise LabError(f"{self.name} exited with status {self.proc.returncode}; its log ends:\n{tail}")

    def stop(self) -> None:
        """SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL; always reaps the child."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(
    what: str,
    probe: Callable[[], T],
    done: Callable[[T], bool],
    timeout_s: float,
    daemons: Sequence[Daemon] = (),
) -> T:
    """Poll ``probe`` until ``done(value)``; the value. LabError after ``timeout_s`` or if a daemon dies."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        for daemon in daemons:
            daemon.check_alive()
        try:
            last = probe()
        except LabError:
            last = None
        if last is not None and done(last):
            return last
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout_s:.0f} s waiting for {what}; last state: {last!r}")
        time.sleep(POLL_INTERVAL_S)
