"""The work split: RIB-aligned slices, whole VPs per group, and joins that give a single run's rows."""

from __future__ import annotations

import pandas as pd
import pytest
from support.executors import edge_scenario, request

from anystab.elements import choose_window, gaps_table, select_elements
from anystab.executors.plan import (
    ReadTask,
    join_vp_tables,
    plan_slices,
    read_batches,
    read_files_task,
    read_order,
    run_vp_task,
    split_vp_stage,
    vp_groups,
    vp_tasks,
)
from anystab.per_vp import vp_tables
from anystab.sources import SourceFile, discover, read_files

T0 = 1_748_822_400.0


def _file(collector: str, kind: str, minutes: int) -> SourceFile:
    name = "bview" if kind == "rib" else "updates"
    return SourceFile(f"/a/{collector}/{name}.{minutes:04d}.gz", collector, "ris", kind, T0 + 60 * minutes)


def test_slices_start_at_each_rib_dump_per_collector():
    files = [
        _file("rrc01", "updates", 5),
        _file("rrc01", "rib", 0),
        _file("rrc01", "updates", 0),
        _file("rrc01", "rib", 480),
        _file("rrc01", "updates", 485),
        _file("rrc00", "updates", 0),
        _file("rrc00", "rib", 480),
    ]
    slices = plan_slices(files)
    assert [(s.collector, s.rib.name_time if s.rib else None, len(s.files)) for s in slices] == [
        ("rrc00", None, 1),  # updates before the first RIB dump: a slice without a RIB
        ("rrc00", T0 + 480 * 60, 0),
        ("rrc01", T0, 2),
        ("rrc01", T0 + 480 * 60, 1),
    ]
    assert sum(len(s.files) + (s.rib is not None) for s in slices) == len(files)


def test_read_order_puts_rib_dumps_then_large_files_first(tmp_path):
    paths = []
    for name, size in (("updates.20250602.0000.gz", 10), ("updates.20250602.0005.gz", 300), ("x.gz", 50)):
        (tmp_path / name).write_bytes(b"\0" * size)
        paths.append(SourceFile(str(tmp_path / name), "rrc00", "ris", "updates", None))
    rib = tmp_path / "bview.20250602.0000.gz"
    rib.write_bytes(b"\0")
    files = [*paths, SourceFile(str(rib), "rrc00", "ris", "rib", None)]
    assert read_order(files) == [3, 1, 2, 0]


@pytest.fixture(scope="module")
def selected(edge_archive):
    req = request((str(edge_archive),), edge_scenario(), min_dwell=60.0)
    files = discover(req.sources)
    results = read_files(files, req.params.targets.with_mode("any"), 2)
    window = choose_window(files, results, None, None)
    elements = select_elements(files, results, window)
    return elements, gaps_table(files, results, window), req.params, window


@pytest.mark.parametrize("parts", [1, 2, 3, 5, 8, 1000])
def test_vp_groups_hold_whole_vps_and_joined_parts_equal_one_run(selected, parts):
    elements, gaps, params, window = selected
    groups = vp_groups(elements, parts)
    seen = [set(zip(g["collector"], g["peer_asn"], g["peer_ip"], strict=True)) for g in groups]
    assert sum(len(s) for s in seen) == len(set().union(*seen))  # no VP in two groups
    assert all(g["collector"].nunique() == 1 for g in groups)
    assert sum(len(g) for g in groups) == len(elements)
    tasks = vp_tasks(elements, gaps, params, window, parts)
    joined = join_vp_tables([run_vp_task(t) for t in reversed(tasks)])
    for got, want in zip(joined, vp_tables(elements, gaps, params, window), strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_a_group_keeps_the_pipeline_order_of_its_elements(selected):
    elements = selected[0]
    for group in vp_groups(elements, 6):
        keyed = elements.reset_index().merge(group[["collector", "peer_asn", "peer_ip"]].drop_duplicates())
        assert list(keyed.sort_values("index")["time"]) == list(group["time"])


def test_a_read_task_equals_the_pipeline_reader(edge_archive):
    req = request((str(edge_archive),), edge_scenario())
    files = discover(req.sources)[:4]
    targets = req.params.targets.with_mode("any")
    ours = read_files_task(ReadTask(tuple(files), targets))
    theirs = read_files(files, targets, 1)
    for a, b in zip(ours, theirs, strict=True):
        assert (a.path, a.kind, a.records, a.first_time, a.last_time) == (
            b.path,
            b.kind,
            b.records,
            b.first_time,
            b.last_time,
        )
        assert a.elements.equals(b.elements)


def test_no_elements_give_no_groups_and_the_split_stage_still_answers(selected, local_executor):
    elements, gaps, params, window = selected
    empty = elements.iloc[0:0]
    assert vp_groups(empty, 4) == []
    for got, want in zip(
        split_vp_stage(local_executor)(empty, gaps, params, window),
        vp_tables(empty, gaps, params, window),
        strict=True,
    ):
        pd.testing.assert_frame_equal(got, want)


def test_read_batches_deal_every_file_once_big_files_alone(tmp_path):
    files = []
    for i, size in enumerate([5000] + [10] * 300 + [2000, 3000]):
        path = tmp_path / f"updates.20250602.{i:04d}.gz"
        path.write_bytes(b"\0" * size)
        files.append(SourceFile(str(path), "rrc00", "ris", "updates", None))
    batches = read_batches(files, workers=2)
    assert sorted(i for b in batches for i in b) == list(range(len(files)))
    assert batches[:3] == [[0], [302], [301]]  # largest first, each alone
    assert 3 < len(batches) <= 2 * 32 + 1
    assert read_batches(files[:1], workers=8) == [[0]]
