"""The element cache's metadata index is only a shortcut: whatever happens to it, the cache reads the same."""

from __future__ import annotations

import os

from anystab.monitor.state import INDEX_NAME, ElementCache, FileKey, cache_name
from anystab.schemas import ELEMENTS
from anystab.sources import FileResult, Problem, SourceFile


def _store(cache: ElementCache, path: str, records: int) -> FileKey:
    source = SourceFile(path, "rrc00")
    result = FileResult(
        path=path,
        collector="rrc00",
        kind="updates",
        records=records,
        elements=ELEMENTS.empty_table(),
        problems=[Problem(path, 7, "torn last record (3 bytes missing)")],
        first_time=100.0,
        last_time=100.0 + records,
    )
    key = FileKey(path, records * 10, records, "t")
    cache.store(source, result, key)
    return key


def _view(cache: ElementCache) -> list[tuple]:
    return [(c.key, c.result.records, c.result.problems, c.source) for c in cache.load()]


def _run(folder) -> ElementCache:
    """The cache as the next run sees it (a run keeps what it read of the index in memory)."""
    return ElementCache(folder)


def test_index_follows_replaced_entries_and_survives_damage(tmp_path) -> None:
    cache = ElementCache(tmp_path)
    keys = {p: _store(cache, p, n) for n, p in enumerate(["/a/1.gz", "/a/2.gz", "/a/3.gz"], start=1)}
    first = _view(cache)
    assert cache.keys() == keys
    index = tmp_path / "files" / INDEX_NAME
    assert index.is_file()

    # an entry replaced after the index was written (same path, new version): read from the entry
    keys["/a/2.gz"] = _store(cache, "/a/2.gz", 20)
    assert cache.keys() == keys and _run(tmp_path).keys() == keys
    assert [v[1] for v in _view(_run(tmp_path))] == [1, 20, 3]

    # a torn or foreign index, and a missing one, change nothing
    for damage in (b"{", b'{"version": 1, "entries": []}', b'{"version": 99}'):
        index.write_bytes(damage)
        assert _run(tmp_path).keys() == keys
    index.unlink()
    assert _run(tmp_path).keys() == keys
    assert index.is_file()

    # a copy in the index for an entry whose stamp no longer matches is not believed
    index.write_text(index.read_text().replace('"records":3,', '"records":30,'))
    assert sorted(v[1] for v in _view(_run(tmp_path))) == [1, 20, 30]  # stamps match: the copy is used
    entry = tmp_path / "files" / cache_name("/a/3.gz")
    os.utime(entry, ns=(entry.stat().st_atime_ns, entry.stat().st_mtime_ns + 1))
    assert sorted(v[1] for v in _view(_run(tmp_path))) == [1, 3, 20]
    assert _view(_run(tmp_path))[0] == first[0]
