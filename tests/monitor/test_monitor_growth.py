"""`anystab monitor` as a real subprocess over an archive that grows file by file."""

import json

import pandas as pd
from support.monitor import (
    assert_same_dataset,
    dataset_tables,
    grow,
    run_cli,
    write_config,
)

from anystab.monitor import load_config
from anystab.monitor.dataset import published, split_key
from anystab.pipeline import AnalysisRequest, analyze


def _clean(tmp_path, full_archive):
    source, files = full_archive
    config = write_config(tmp_path, source)
    done = run_cli("monitor", "--config", str(config))
    assert done.returncode in (0, 1, 2), done.stderr
    return config, dataset_tables(tmp_path / "dataset")


def test_growing_archive_equals_one_analysis_of_the_whole_period(tmp_path, full_archive):
    source, files = full_archive
    archive = tmp_path / "archive"
    config = write_config(tmp_path, archive)
    steps = [1, 2, 3, 7, 12, len(files)]
    for count in steps:
        grow(files, source, archive, count)
        done = run_cli("monitor", "--config", str(config), "--json")
        assert done.returncode in (0, 1, 2), done.stderr
        report = json.loads(done.stdout)
        assert report["files_cached"] == count
    grown = dataset_tables(tmp_path / "dataset")
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    _, clean = _clean(clean_dir, full_archive)
    assert_same_dataset(grown, clean)
    assert {split_key(k)[1] for k in published(tmp_path / "dataset")} == {"2025-06-01", "2025-06-02"}

    # the timeline and events are exactly those of one `analyze` of every file
    service = load_config(config).services[0]
    params = load_config(config).params(service)
    result = analyze(AnalysisRequest(sources=(str(source),), params=params, jobs=1))
    for name in ("timeline", "events"):
        mine = grown[name].drop(columns="service")
        pd.testing.assert_frame_equal(
            _canonical(mine, name), _canonical(result.tables[name], name), check_dtype=False, obj=name
        )


def _canonical(frame, name):
    vp = ["collector", "peer_asn", "peer_ip", "target"]
    keys = {"timeline": [*vp, "start"], "events": ["time", *vp, "kind", "new_site"]}[name]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_rerun_over_a_processed_window_changes_nothing(tmp_path, full_archive):
    config, before = _clean(tmp_path, full_archive)
    files = sorted((tmp_path / "dataset").rglob("*.*")) + [tmp_path / "state" / "checkpoint.json"]
    stamps = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files}
    done = run_cli("monitor", "--config", str(config), "--json")
    report = json.loads(done.stdout)
    assert report["files_read"] == 0 and report["partitions_written"] == 0 and not report["recomputed"]
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in files} == stamps
    assert_same_dataset(dataset_tables(tmp_path / "dataset"), before)
