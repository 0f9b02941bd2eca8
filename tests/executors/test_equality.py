"""The same analysis on the local executor and on a real Dask LocalCluster of two workers: every table,
every parquet file, row for row, equal to the single-machine pipeline's, on the sample archive and on
generated multi-collector archives whose events cross slice edges (RIB dumps inside the window)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.executors import (
    EDGES,
    START,
    assert_identical,
    edge_scenario,
    request,
    sample_request,
)

from anystab.executors import plan_slices
from anystab.pipeline import analyze
from anystab.sources import discover


@pytest.fixture(scope="module")
def sample_single():
    return analyze(sample_request())


def test_sample_on_dask_equals_single_machine(sample_single, dask_executor, tmp_path):
    result = analyze(sample_request(), executor=dask_executor)
    assert len(sample_single.tables["events"]) > 50
    assert_identical(sample_single, result, tmp_path)


def test_sample_on_local_executor_equals_single_machine(sample_single, local_executor, tmp_path):
    assert_identical(sample_single, analyze(sample_request(), executor=local_executor), tmp_path)


def test_edge_archive_has_slices_whose_edges_events_cross(edge_archive):
    slices = plan_slices(discover([str(edge_archive)]))
    assert {s.collector for s in slices} == {"rrc01", "rrc05", "route-views3"}
    assert len(slices) == 3 * (1 + len(EDGES))
    single = analyze(request((str(edge_archive),), edge_scenario()))
    events = single.tables["events"]
    times = (events["time"] - pd_timestamp(START)).dt.total_seconds()
    for edge in EDGES:  # events on both sides of every edge, and a gap that spans the first one
        assert ((times > edge - 300) & (times < edge)).any() and ((times > edge) & (times < edge + 300)).any()
    gaps = events[events["kind"].isin(["gap_start", "gap_end"])]
    gap_times = sorted((gaps["time"] - pd_timestamp(START)).dt.total_seconds())
    assert gap_times[0] < EDGES[0] < gap_times[-1]


def pd_timestamp(seconds: float):
    import pandas as pd

    return pd.Timestamp(seconds, unit="s", tz="UTC")


@pytest.mark.parametrize("min_dwell", [0.0, 60.0])
def test_edge_archive_on_dask_equals_single_machine(edge_archive, dask_executor, tmp_path, min_dwell):
    req = request((str(edge_archive),), edge_scenario(), min_dwell=min_dwell)
    single = analyze(req)
    assert single.tables["events"]["kind"].isin(["switch"]).sum() > 5
    assert_identical(single, analyze(req, executor=dask_executor), tmp_path)


def test_window_starting_at_a_slice_rib_on_dask(edge_archive, dask_executor, tmp_path):
    """A window that opens at a mid-archive RIB dump: each collector starts from that dump on both."""
    req = request((str(edge_archive),), edge_scenario(), start=float(START + EDGES[0]))
    single = analyze(req)
    assert single.window[0] == START + EDGES[0]
    ribs = single.tables["elements"][single.tables["elements"]["elem_type"] == "R"]
    assert not ribs.empty and (ribs["time"] == pd_timestamp(START + EDGES[0])).all()
    assert_identical(single, analyze(req, executor=dask_executor), tmp_path)


def test_addpath_and_missing_file_at_an_edge_on_dask(edge_archive_addpath_gap, dask_executor, tmp_path):
    req = request((str(edge_archive_addpath_gap),), edge_scenario(addpath=True), min_dwell=60.0)
    single = analyze(req)
    assert (single.tables["gaps"]["reason"] == "missing_file").any()
    assert_identical(single, analyze(req, executor=dask_executor), tmp_path)


def test_files_given_in_another_order_give_the_same_tables(edge_archive, dask_executor, tmp_path):
    """Sources named collector by collector, in reverse: stage two's canonical order hides the difference
    in every table but ``files``, which lists files as discovered (as a local run does)."""
    folders = tuple(sorted((str(p) for p in Path(edge_archive).iterdir() if p.is_dir()), reverse=True))
    req = request(folders, edge_scenario())
    single = analyze(req)
    distributed = analyze(req, executor=dask_executor)
    assert_identical(single, distributed, tmp_path)
    whole = analyze(request((str(edge_archive),), edge_scenario()))
    for name in ("timeline", "events", "vp_stats", "estimates", "site_share", "elements"):
        assert whole.table(name).equals(distributed.table(name)), name
