"""One run at a time: a real process holds the lock; overlapping runs wait or exit cleanly."""

import signal
import subprocess
import sys
import time

import pytest
from support.monitor import assert_same_dataset, dataset_tables, popen_monitor, run_cli, write_config

from anystab.errors import LockBusyError
from anystab.monitor.lock import RunLock

HOLDER = "import sys, time\nfrom anystab.monitor.lock import RunLock\nwith RunLock(sys.argv[1], 0):\n" \
    "    print('held', flush=True)\n    time.sleep(600)\n"  # fmt: skip


@pytest.fixture
def holder(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "state")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.returncode is None:
        proc.kill()
        proc.communicate()


def test_a_held_lock_makes_the_second_give_up_after_its_wait(tmp_path, holder):
    with pytest.raises(LockBusyError, match=f"pid {holder.pid}.*waited 0.2 s"):
        RunLock(tmp_path / "state", 0.2).acquire()


def test_a_killed_holder_never_blocks_later_runs(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.communicate()
    with RunLock(tmp_path / "state", 5) as lock:
        assert lock.path.read_text().strip() != str(holder.pid)


def test_monitor_with_a_busy_lock_exits_3_with_a_clear_message(tmp_path, holder, full_archive):
    config = write_config(tmp_path, full_archive[0])
    done = run_cli("monitor", "--config", str(config), "--wait", "0.3")
    assert done.returncode == 3 and done.stdout == ""
    assert "another anystab monitor run" in done.stderr and "giving up" in done.stderr
    assert not (tmp_path / "dataset").exists()


def test_two_runs_started_together_do_not_interleave(tmp_path, full_archive):
    clean_dir = tmp_path / "clean"
    clean_config = write_config(clean_dir, full_archive[0])
    assert run_cli("monitor", "--config", str(clean_config)).returncode in (0, 1, 2)
    config = write_config(tmp_path / "pair", full_archive[0])
    first, second = popen_monitor(config, "--wait", "120"), popen_monitor(config, "--wait", "120")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert {first.returncode, second.returncode} <= {0, 1, 2}, outs
    assert_same_dataset(dataset_tables(tmp_path / "pair" / "dataset"), dataset_tables(clean_dir / "dataset"))
    reads = sorted(int(out.split(" new files read")[0].split()[-1]) for out, _ in outs)
    assert reads == [0, 18]  # the second waited, then found everything done


def test_a_run_meeting_a_running_one_without_waiting_exits_3(tmp_path, full_archive):
    """A second run with ``--wait 0`` while a real run holds the lock exits 3 at once; the first then
    finishes normally. The first is stopped (SIGSTOP) while it holds the lock, so that it cannot finish
    before the second has tried: two runs merely started together may not overlap at all."""
    config = write_config(tmp_path, full_archive[0])
    first = popen_monitor(config, "--wait", "0")
    lock = tmp_path / "state" / "lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.002)
    first.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(LockBusyError):  # still held: the first had not finished when stopped
            RunLock(tmp_path / "state", 0).acquire()
        second = run_cli("monitor", "--config", str(config), "--wait", "0")
    finally:
        first.send_signal(signal.SIGCONT)
    out = first.communicate(timeout=300)
    assert second.returncode == 3 and second.stdout == "" and "giving up" in second.stderr
    assert first.returncode in (0, 1, 2), out
    assert run_cli("monitor", "--config", str(config), "--json").returncode in (0, 1, 2)
