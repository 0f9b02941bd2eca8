"""One run at a time: a real process holds the lock; overlapping runs wait or exit cleanly."""

import signal
import subprocess
import sys

import pytest
from monitor_support import assert_same_dataset, dataset_tables, popen_monitor, run_cli, write_config

from anystab.monitor.lock import LockBusyError, RunLock

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


def test_two_runs_started_together_without_waiting(tmp_path, full_archive):
    config = write_config(tmp_path, full_archive[0])
    first, second = popen_monitor(config, "--wait", "0"), popen_monitor(config, "--wait", "0")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    codes = sorted([first.returncode, second.returncode])
    assert codes[1] == 3 and codes[0] in (0, 1, 2), outs  # one ran, the other exited cleanly
    assert "giving up" in (outs[0][1] + outs[1][1])
    assert run_cli("monitor", "--config", str(config), "--json").returncode in (0, 1, 2)
