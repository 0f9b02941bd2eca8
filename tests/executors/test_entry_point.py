"""The one entry point, ``analyze(request, source, executor, progress)``: every source and executor gives
the same tables, and progress counts every file read. Local runs read with anystab's one local reader
(``sources/parallel.py``), also for URLs and with the local executor; a Dask cluster reads on its workers."""

from __future__ import annotations

import dataclasses

import pytest
from support.executors import SAMPLE, assert_identical, sample_request, with_paths

from anystab.executors import LocalExecutor
from anystab.pipeline import analyze
from anystab.sources.base import FilesSource
from anystab.sources.parallel import read_files
from anystab.sources.remote import discover_sources, read_source
from anystab.targets import make_target, target_set


@pytest.fixture(scope="module")
def single():
    return analyze(dataclasses.replace(sample_request(), jobs=1))


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_default_source_and_no_executor_equal_a_serial_run(single, jobs, tmp_path):
    result = analyze(dataclasses.replace(sample_request(), jobs=jobs), FilesSource(), None)
    assert len(single.tables["events"]) > 50
    assert_identical(single, result, tmp_path)


def _executor(where: str, request: pytest.FixtureRequest) -> object:
    if where == "local":
        return LocalExecutor(jobs=2)
    return request.getfixturevalue("dask_executor") if where == "dask" else None


@pytest.mark.parametrize("where", ["none", "local", "dask"])
def test_progress_counts_every_file_on_each_executor(where, request, tmp_path, single):
    executor = _executor(where, request)
    seen: list[tuple[int, int]] = []
    result = analyze(sample_request(), executor=executor, progress=lambda d, t: seen.append((d, t)))
    files = len(result.tables["files"])
    assert files == 22
    assert seen[-1] == (files, files)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {t for _, t in seen} == {files}
    assert_identical(single, result, tmp_path)


def test_urls_without_an_executor_are_read_by_the_local_reader(http_folder, single, tmp_path):
    base = http_folder(SAMPLE)
    result = analyze(sample_request((base,)))
    mapping = {f.path: str(SAMPLE) + "/" + f.path[len(base) :] for f in discover_sources([base])}
    assert set(result.tables["files"]["path"]) == set(mapping)
    assert_identical(single, with_paths(result, mapping), tmp_path)


def test_the_local_reader_reads_urls_in_worker_processes_as_one_by_one(http_folder):
    files = discover_sources([http_folder(SAMPLE) + "rrc00/"])
    targets = target_set([make_target("192.0.2.0/24", "192.0.2.53")])
    parallel = read_files(files, targets, jobs=2)
    assert len(parallel) == len(files) > 2
    for file, got in zip(files, parallel, strict=True):
        want = read_source(file, targets)
        assert (got.path, got.kind, got.records, got.first_time) == (
            want.path,
            want.kind,
            want.records,
            want.first_time,
        )
        assert got.elements.equals(want.elements)
