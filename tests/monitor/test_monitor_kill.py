"""A monitor run killed with SIGKILL at many points: readers always see one whole generation of the dataset,
and the next run finishes the work, nothing lost or twice."""

import json
import shutil
import signal
import time

import pyarrow.parquet as pq
from support.monitor import assert_same_dataset, dataset_tables, grow, popen_monitor, run_cli, write_config

from anystab.monitor.dataset import part_file, published
from anystab.monitor.state import ElementCache, load_checkpoint

KILLS = 6


def _complete(config):
    done = run_cli("monitor", "--config", str(config), "--json")
    assert done.returncode in (0, 1, 2), done.stderr
    return json.loads(done.stdout)


def _phase_after_kill(folder):
    """Whatever the kill hit: the published files exist and are whole; where the run had got to."""
    manifest = published(folder / "dataset")
    for key, entry in manifest.items():
        pq.read_table(part_file(folder / "dataset", key, entry))
    for path in (folder / "state" / "files").glob("*.parquet"):
        pq.read_table(path)
    checkpoint = load_checkpoint(folder / "state")
    return (
        len(ElementCache(folder / "state").keys()),
        checkpoint.runs,
        len(list((folder / "dataset").rglob("*.parquet"))),
    )


def _same(a, b):
    try:
        assert_same_dataset(a, b)
    except AssertionError:
        return False
    return True


def test_sigkill_anywhere_then_rerun_gives_the_clean_dataset(tmp_path, full_archive):
    source, files = full_archive
    clean_config = write_config(tmp_path / "clean", source)
    started = time.monotonic()
    _complete(clean_config)
    full_run_s = time.monotonic() - started
    clean = dataset_tables(tmp_path / "clean" / "dataset")

    # the first half processed and checkpointed, once; each kill starts from a copy at the same path
    half = tmp_path / "half"
    half_config = write_config(half, half / "archive")
    grow(files, source, half / "archive", len(files) // 2)
    _complete(half_config)
    before = dataset_tables(half / "dataset")
    assert not _same(before, clean)

    folder = tmp_path / "run"
    phases = set()
    for i in range(KILLS):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(half, folder)  # keeps mtimes: the copied cache stays valid
        config = write_config(folder, half / "archive")
        grow(files, source, half / "archive", len(files))
        proc = popen_monitor(config)
        time.sleep(full_run_s * (i + 0.5) / KILLS)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        phases.add((proc.returncode == -signal.SIGKILL, *_phase_after_kill(folder)))
        seen = dataset_tables(folder / "dataset")
        assert _same(seen, before) or _same(seen, clean)  # one whole generation, never a mix
        report = _complete(config)
        assert report["files_cached"] == len(files)
        assert_same_dataset(dataset_tables(folder / "dataset"), clean)
        assert _complete(config)["partitions_written"] == 0  # and once done, nothing more to do
        shutil.rmtree(half / "archive")
        grow(files, source, half / "archive", len(files) // 2)
    assert len(phases) >= 2, phases  # the kills landed at different points of a run
