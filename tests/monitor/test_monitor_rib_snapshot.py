"""A collector with a RIB dump and no update files: its VPs get the zero-length snapshot rows of one
analysis in the monitor's timeline too (the monitor's resumable walk makes them as the analysis does)."""

import shutil
from pathlib import Path

import pandas as pd

from anystab.monitor import load_config, run_monitor
from anystab.monitor.dataset import read_dataset
from anystab.pipeline import AnalysisRequest, analyze
from anystab.timeline import PAIR_KEYS

SAMPLE = Path(__file__).resolve().parents[2] / "data"
RIB = "route-views.linx/bgpdata/2025.06/RIBS/rib.20250602.0000.bz2"


def test_a_rib_only_collector_has_its_snapshot_rows_in_the_monitor_timeline(tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(SAMPLE / "rrc00", archive / "rrc00")
    (archive / RIB).parent.mkdir(parents=True)
    shutil.copy(SAMPLE / RIB, archive / RIB)
    shutil.copy(SAMPLE / "service.toml", tmp_path / "service.toml")
    config = tmp_path / "monitor.toml"
    config.write_text(
        'state_dir = "state"\noutput_dir = "dataset"\ninterval = "10m"\njobs = 1\n'
        '[sources]\narchives = ["archive"]\n[[services]]\nfile = "service.toml"\n'
    )
    loaded = load_config(config)
    run_monitor(loaded)
    keys = [*PAIR_KEYS, "start", "end"]
    mine = read_dataset(loaded.output_dir, "timeline").drop(columns="service")
    mine = mine.sort_values(keys, kind="stable").reset_index(drop=True)
    result = analyze(AnalysisRequest((str(archive),), loaded.params(loaded.services[0]), jobs=1))
    theirs = result.tables["timeline"].sort_values(keys, kind="stable").reset_index(drop=True)
    snapshot_rows = mine[mine["start"] == mine["end"]]
    assert len(snapshot_rows) and set(snapshot_rows["collector"]) == {"route-views.linx"}
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)
