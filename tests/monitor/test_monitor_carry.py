"""The VP walks carried between runs: after a history long against the cut's lag, a run adding one file
resumes from the saved walks, reads the elements of only the files at or after the cut, and the dataset
equals one clean run over every file."""

from support.monitor import assert_same_dataset, dataset_tables, grow, growing_archive, write_config

from anystab.monitor import load_config, run_monitor
from anystab.monitor.carry import SNAPSHOT_LAG_S

HOURS = 5
EXTRA = 'sessions = ["10s", "10m"]\nmin_dwell = "20s"'


def test_runs_after_a_long_history_resume_from_the_cut_and_equal_a_clean_run(tmp_path):
    files, source, archive, config = growing_archive(tmp_path, HOURS, EXTRA)
    grow(files, source, archive, len(files) - 3)
    first = run_monitor(load_config(config))
    assert first.carried == [] and first.files_loaded == len(files) - 3
    for count in range(len(files) - 2, len(files) + 1):
        grow(files, source, archive, count)
        report = run_monitor(load_config(config))
        assert report.carried == ["dns"]
        # the cut is 2 h before the window's end: the files of the last ~2 h (and a little) only
        assert 0 < report.files_loaded < len(files) * (SNAPSHOT_LAG_S + 1800) / (HOURS * 3600)
    clean_config = write_config(tmp_path / "clean", source, extra=EXTRA)
    assert run_monitor(load_config(clean_config)).carried == []
    assert_same_dataset(
        dataset_tables(tmp_path / "grown" / "dataset"), dataset_tables(tmp_path / "clean" / "dataset")
    )


def test_a_late_file_before_the_cut_falls_back_to_the_whole_recomputation(tmp_path):
    files, source, archive, config = growing_archive(tmp_path, 3, EXTRA)
    late = next(f for f in files[len(files) // 4 :] if f.stat().st_size > 100 and "pdates" in f.name)
    grow([f for f in files if f != late], source, archive, len(files) - 1)
    run_monitor(load_config(config))
    grow(files, source, archive, len(files))  # a lagging collector's file, from before the saved cut
    report = run_monitor(load_config(config))
    assert report.carried == [] and report.files_loaded > len(files) // 2
    clean_config = write_config(tmp_path / "clean", source, extra=EXTRA)
    run_monitor(load_config(clean_config))
    assert_same_dataset(
        dataset_tables(tmp_path / "grown" / "dataset"), dataset_tables(tmp_path / "clean" / "dataset")
    )


def test_a_corrupt_saved_state_is_said_and_the_run_recomputes_in_full(tmp_path):
    files, source, archive, config = growing_archive(tmp_path, HOURS, EXTRA)
    grow(files, source, archive, len(files) - 2)
    run_monitor(load_config(config))
    saved = list((tmp_path / "grown" / "state" / "carry").iterdir())
    assert len(saved) == 1
    saved[0].write_bytes(b"\x1f\x8b not a gzip stream")
    grow(files, source, archive, len(files) - 1)
    report = run_monitor(load_config(config))
    assert report.carried == []
    assert [n for n in report.notes if n.startswith("dns: the saved route state") and "unreadable" in n]
    grow(files, source, archive, len(files))
    report = run_monitor(load_config(config))
    assert report.carried == ["dns"] and not [n for n in report.notes if "saved route state" in n]
    clean_config = write_config(tmp_path / "clean", source, extra=EXTRA)
    run_monitor(load_config(clean_config))
    assert_same_dataset(
        dataset_tables(tmp_path / "grown" / "dataset"), dataset_tables(tmp_path / "clean" / "dataset")
    )
