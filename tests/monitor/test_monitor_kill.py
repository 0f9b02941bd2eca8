"""A monitor run killed with SIGKILL at many points: the next run finishes the work, nothing lost or twice."""

import json
import signal
import time

import pyarrow.parquet as pq
from monitor_support import assert_same_dataset, dataset_tables, grow, popen_monitor, run_cli, write_config

from anystab.monitor.state import ElementCache, load_checkpoint

KILLS = 6


def _complete(config):
    done = run_cli("monitor", "--config", str(config), "--json")
    assert done.returncode in (0, 1, 2), done.stderr
    return json.loads(done.stdout)


def _consistent_after_kill(folder):
    """Whatever the kill hit: every file in place is whole, the checkpoint is valid JSON."""
    for path in (folder / "dataset").rglob("*.parquet"):
        assert not path.name.startswith(".")
        pq.read_table(path)
    for path in (folder / "state" / "files").glob("*.parquet"):
        pq.read_table(path)
    checkpoint = load_checkpoint(folder / "state")
    return (
        len(ElementCache(folder / "state").keys()),
        checkpoint.runs,
        len(list((folder / "dataset").rglob("*.parquet"))),
    )


def test_sigkill_anywhere_then_rerun_gives_the_clean_dataset(tmp_path, full_archive):
    source, files = full_archive
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean_config = write_config(clean_dir, source)
    started = time.monotonic()
    _complete(clean_config)
    full_run_s = time.monotonic() - started
    clean = dataset_tables(clean_dir / "dataset")

    phases = set()
    for i in range(KILLS):
        folder = tmp_path / f"run{i}"
        archive = folder / "archive"
        config = write_config(folder, archive)
        grow(files, source, archive, len(files) // 2)
        _complete(config)  # the first half is processed and checkpointed
        grow(files, source, archive, len(files))
        proc = popen_monitor(config)
        time.sleep(full_run_s * (i + 0.5) / KILLS)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        phases.add((proc.returncode == -signal.SIGKILL, *_consistent_after_kill(folder)))
        report = _complete(config)
        assert report["files_cached"] == len(files)
        assert_same_dataset(dataset_tables(folder / "dataset"), clean)
        assert _complete(config)["partitions_written"] == 0  # and once done, nothing more to do
    assert len(phases) >= 2, phases  # the kills landed at different points of a run
