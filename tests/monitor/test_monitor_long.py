"""A 6-hour archive arriving in many steps, the last ones one file at a time (as from cron), through
``run_monitor``: every step keeps most intervals from the stored dataset, and the end result equals one
clean run and one ``analyze`` of the whole period. The transient filter is on, so the change horizon's
reach back by ``min_dwell`` is exercised."""

import pandas as pd
from support.monitor import assert_same_dataset, dataset_tables, grow, growing_archive, write_config

from anystab.monitor import load_config, run_monitor
from anystab.pipeline import AnalysisRequest, analyze

HOURS = 6
EXTRA = 'sessions = ["10s", "1m", "10m", "1h"]\nmin_dwell = "20s"'


def _canonical(frame, keys):
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_long_archive_in_many_steps_equals_one_analysis(tmp_path):
    files, source, archive, config = growing_archive(tmp_path, HOURS, EXTRA)
    steps = [4, 30, 60, 75, *range(len(files) - 4, len(files) + 1)]
    horizons = []
    for count in steps:
        grow(files, source, archive, count)
        report = run_monitor(load_config(config))
        assert report.recomputed and report.files_cached == count
        horizons.append(report.horizon)
    assert all(h is not None for h in horizons[1:])  # each later step kept what it could
    grown = dataset_tables(tmp_path / "grown" / "dataset")

    clean_config = write_config(tmp_path / "clean", source, extra=EXTRA)
    run_monitor(load_config(clean_config))
    assert_same_dataset(grown, dataset_tables(tmp_path / "clean" / "dataset"))

    loaded = load_config(config)
    result = analyze(AnalysisRequest((str(source),), loaded.params(loaded.services[0]), jobs=1))
    vp = ["collector", "peer_asn", "peer_ip", "target"]
    for name, keys in (("timeline", [*vp, "start"]), ("events", ["time", *vp, "kind", "new_site"])):
        mine = _canonical(grown[name].drop(columns="service"), keys)
        theirs = _canonical(result.tables[name], keys)
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False, obj=name)
    assert (result.tables["events"]["kind"] == "switch").sum() > 0
