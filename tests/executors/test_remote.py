"""Sources read on the workers through fsspec: the sample archive served by a real HTTP server on
127.0.0.1 (fsspec's HTTP filesystem, aiohttp), ``file://`` URLs, and URLs that cannot be read."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from support.executors import SAMPLE, assert_identical, sample_request, with_paths

from anystab.errors import BadInputError, SourceUnavailableError
from anystab.executors import LocalExecutor
from anystab.pipeline import analyze
from anystab.sources import SourceFile, discover
from anystab.sources.archive import is_url
from anystab.sources.remote import discover_sources, read_source, walk_key
from anystab.targets import make_target, target_set


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("s3://bucket/ris/", True),
        ("https://data.ris.ripe.net/rrc00/", True),
        ("file:///srv/archive", True),
        ("memory://x", True),
        ("/srv/archive", False),
        ("data/rrc00", False),
        ("C:/archive", False),
        ("rrc00:2025", False),
    ],
)
def test_is_url(text, url):
    assert is_url(text) is url


def test_walk_key_orders_a_folders_files_before_its_subfolders():
    names = ["b/x.gz", "a.gz", "b/c/y.gz", "z.gz", "b/a.gz"]
    assert sorted(names, key=walk_key) == ["a.gz", "z.gz", "b/a.gz", "b/x.gz", "b/c/y.gz"]


def _relative(files: list[SourceFile], base: str) -> list[tuple]:
    return [
        (f.path[len(base) :].lstrip("/"), f.collector, f.project, f.name_kind, f.name_time) for f in files
    ]


def test_http_listing_equals_a_local_folder_walk(http_folder):
    base = http_folder(SAMPLE)
    remote = discover_sources([base])
    local = discover([str(SAMPLE)])
    assert len(remote) == len(local) == 22
    assert all(f.path.startswith(base) for f in remote)
    assert _relative(remote, base) == _relative(local, str(SAMPLE))


def test_sample_over_http_on_dask_equals_local_files(http_folder, dask_executor, tmp_path):
    base = http_folder(SAMPLE)
    result = analyze(sample_request((base,)), executor=dask_executor)
    single = analyze(sample_request())
    mapping = {f.path: str(SAMPLE) + "/" + f.path[len(base) :] for f in discover_sources([base])}
    assert set(result.tables["files"]["path"]) == set(mapping)
    assert set(result.tables["elements"]["source"]) <= set(mapping)
    assert_identical(single, with_paths(result, mapping), tmp_path)


def test_damage_in_a_file_read_over_http_names_the_url(http_folder, tmp_path):
    folder = tmp_path / "archive"
    shutil.copytree(SAMPLE / "rrc00", folder / "rrc00")
    victim = folder / "rrc00" / "2025.06" / "updates.20250602.0030.gz"
    victim.write_bytes(victim.read_bytes()[:-200])  # a torn download
    base = http_folder(folder)
    req = sample_request((base,))
    result = analyze(req, executor=LocalExecutor(jobs=2))
    problems = result.tables["problems"]
    assert list(problems["path"].unique()) == [base + "rrc00/2025.06/updates.20250602.0030.gz"]
    local = analyze(sample_request((str(folder),)))
    assert not local.tables["problems"].empty
    mapping = {f.path: str(folder) + "/" + f.path[len(base) :] for f in discover_sources([base])}
    assert_identical(local, with_paths(result, mapping), tmp_path / "cmp")


def test_file_urls_equal_local_paths(local_executor, tmp_path):
    url = (SAMPLE / "rrc00").as_uri()
    result = analyze(sample_request((url,)), executor=local_executor)
    single = analyze(sample_request((str(SAMPLE / "rrc00"),)))
    mapping = {f.path: f.path.removeprefix("file://") for f in discover_sources([url])}
    assert_identical(single, with_paths(result, mapping), tmp_path)


def test_a_single_file_url(http_folder):
    base = http_folder(SAMPLE)
    (found,) = discover_sources([base + "rrc00/2025.06/bview.20250602.0000.gz"])
    assert (found.collector, found.name_kind) == ("rrc00", "rib")
    targets = target_set([make_target("192.0.2.0/24", "192.0.2.53")])
    result = read_source(found, targets)
    assert result.kind == "rib" and result.elements.num_rows > 0
    assert set(result.elements.column("source").to_pylist()) == {found.path}


def test_a_missing_url_is_source_unavailable(http_folder):
    base = http_folder(SAMPLE)
    missing = SourceFile(base + "rrc00/2025.06/updates.20250602.2355.gz", "rrc00", "ris", "updates", None)
    with pytest.raises(SourceUnavailableError, match="cannot read"):
        read_source(missing, None)


def test_an_empty_url_folder_is_bad_input(tmp_path, http_folder):
    (tmp_path / "notes.txt").write_text("no MRT here")
    with pytest.raises(BadInputError, match="no MRT files"):
        discover_sources([http_folder(tmp_path)])


def test_local_and_url_sources_mix(http_folder):
    base = http_folder(SAMPLE)
    files = discover_sources([str(SAMPLE / "route-views.linx"), base + "rrc00/"])
    assert {f.collector for f in files} == {"rrc00", "route-views.linx"}
    assert Path(files[0].path).is_file() and files[-1].path.startswith("http://")


def test_missing_fsspec_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # what an environment without the extra sees
    with pytest.raises(SourceUnavailableError, match="anystab\\[dask\\]"):
        discover_sources(["s3://bucket/ris/"])
    assert discover_sources([str(SAMPLE / "rrc00")])  # local paths need no fsspec
