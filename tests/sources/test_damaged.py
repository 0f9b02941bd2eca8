"""Damaged input: reported with path, offset and reason; every good record before and after still read."""

from __future__ import annotations

import bz2
import gzip
import struct
from pathlib import Path

import pytest
from support.mrt_samples import MRT_DIR, read_everything, sampled_targets

from anystab.errors import BadInputError
from anystab.sources import open_stream, read_mrt_file

SMALL = "ris.rrc06.updates.1401488100.gz"
AS4_SUBTYPES = (4, 5, 7, 9, 11)


def _records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        length = struct.unpack_from(">I", data, pos + 8)[0]
        out.append(data[pos : pos + 12 + length])
        pos += 12 + length
    return out


def _small_records() -> list[bytes]:
    return _records(gzip.decompress((MRT_DIR / SMALL).read_bytes()))


def _reasons(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.reason for p in result.problems]


def test_truncated_gzip_keeps_what_is_there(tmp_path: Path) -> None:
    name = "ris.updates.et-header.2015.gz"
    raw = (MRT_DIR / name).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    targets = sampled_targets(name)
    full = read_mrt_file(MRT_DIR / name, targets, "rrc00").elements.drop_columns(["source"])
    part = read_mrt_file(cut, targets, "rrc00")
    assert part.problems[0].reason == "truncated gzip stream"
    assert part.problems[0].path == str(cut)
    assert "torn last record" in part.problems[1].reason
    assert part.problems[0].offset == part.decompressed_bytes > part.problems[1].offset
    rows = part.elements.num_rows
    assert 0 < rows < full.num_rows
    assert part.elements.drop_columns(["source"]).equals(full.slice(0, rows))


def test_truncated_bzip2_keeps_what_is_there(tmp_path: Path) -> None:
    name = "routeviews.updates.20131201.bz2"
    raw = (MRT_DIR / name).read_bytes()
    cut = tmp_path / "cut.bz2"
    cut.write_bytes(raw[: len(raw) // 2])
    targets = sampled_targets(name)
    full = read_mrt_file(MRT_DIR / name, targets, "route-views2").elements.drop_columns(["source"])
    part = read_mrt_file(cut, targets, "route-views2")
    assert _reasons(part)[0] == "truncated bzip2 stream"
    rows = part.elements.num_rows
    assert 0 < rows < full.num_rows
    assert part.elements.drop_columns(["source"]).equals(full.slice(0, rows))


def test_multi_member_gzip_and_multi_stream_bzip2(tmp_path: Path) -> None:
    records = _small_records()
    half = len(records) // 2
    first, second = b"".join(records[:half]), b"".join(records[half:])
    (tmp_path / "two.gz").write_bytes(gzip.compress(first) + gzip.compress(second))
    (tmp_path / "two.bz2").write_bytes(bz2.compress(first) + bz2.compress(second))
    whole = read_everything(SMALL).elements.drop_columns(["source"])
    for name in ("two.gz", "two.bz2"):
        result = read_mrt_file(tmp_path / name, None, "test")
        assert not result.problems
        assert result.decompressed_bytes == len(first) + len(second)
        assert result.elements.drop_columns(["source"]).equals(whole)


def test_plain_file_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "looks-compressed.gz"
    path.write_bytes(b"".join(_small_records()))
    stream = open_stream(path)
    assert sum(map(len, stream)) == path.stat().st_size and stream.format == "plain"
    assert read_mrt_file(path, None, "test").elements.num_rows == read_everything(SMALL).elements.num_rows


def test_corrupt_gzip_data_is_reported(tmp_path: Path) -> None:
    raw = bytearray((MRT_DIR / SMALL).read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = bytes(64)
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(raw))
    result = read_mrt_file(path, None, "test")
    assert any(r.startswith("corrupt gzip data") for r in _reasons(result))
    assert 0 < result.elements.num_rows < read_everything(SMALL).elements.num_rows


@pytest.mark.parametrize("content", [b"", gzip.compress(b"", mtime=0), bz2.compress(b"")])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty"
    path.write_bytes(content)
    result = read_mrt_file(path, None, "test")
    assert (result.kind, result.records, result.elements.num_rows) == ("empty", 0, 0)
    assert _reasons(result) == ["empty file: no MRT records"]  # docs/cli.md: an empty file is reported
    assert result.first_time is None


@pytest.mark.parametrize(
    "content", [b"hello, this is not MRT at all\n" * 10, b"abc", gzip.compress(b"{}\n", mtime=0)]
)
def test_not_an_mrt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes"
    path.write_bytes(content)
    result = read_mrt_file(path, None, "test")
    assert result.kind == "unknown"
    assert [(p.path, p.offset, p.reason) for p in result.problems] == [(str(path), 0, "not an MRT file")]


def test_missing_or_unreadable_path_raises(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        read_mrt_file(tmp_path / "absent.gz", None, "test")
    with pytest.raises(BadInputError):
        read_mrt_file(tmp_path, None, "test")


def _write(tmp_path: Path, records: list[bytes]) -> Path:
    path = tmp_path / "damaged.gz"
    path.write_bytes(gzip.compress(b"".join(records)))
    return path


def test_unknown_mrt_type_is_skipped_and_counted(tmp_path: Path) -> None:
    records = _small_records()
    odd = struct.pack(">IHHI", 1401488100, 99, 0, 5) + b"12345"
    damaged = records[:10] + [odd] + records[10:20] + [odd] + records[20:]
    result = read_mrt_file(_write(tmp_path, damaged), None, "test")
    offset = sum(map(len, records[:10]))
    assert [(p.offset, p.reason, p.count) for p in result.problems] == [
        (offset, "unsupported MRT type 99 skipped", 2)
    ]
    assert result.records == len(records) + 2
    whole = read_everything(SMALL).elements.drop_columns(["source"])
    assert result.elements.drop_columns(["source"]).equals(whole)


def _corrupt(record: bytes) -> bytes:
    """The record with its BGP UPDATE's withdrawn-routes length set past the end of the message."""
    subtype = struct.unpack_from(">H", record, 6)[0]
    as_size = 4 if subtype in AS4_SUBTYPES else 2
    afi = struct.unpack_from(">H", record, 12 + 2 * as_size + 2)[0]
    addr = 4 if afi == 1 else 16
    at = 12 + 2 * as_size + 4 + 2 * addr + 16 + 3
    return record[:at] + b"\xff\xff" + record[at + 2 :]


def test_corrupt_record_in_the_middle(tmp_path: Path) -> None:
    records = _small_records()
    middle = len(records) // 2
    damaged = records[:middle] + [_corrupt(records[middle])] + records[middle + 1 :]
    result = read_mrt_file(_write(tmp_path, damaged), None, "test")
    offset = sum(map(len, records[:middle]))
    assert [(p.path, p.offset) for p in result.problems] == [(str(tmp_path / "damaged.gz"), offset)]
    assert result.problems[0].reason.startswith("undecodable record")
    (tmp_path / "one").write_bytes(records[middle])
    lost = read_mrt_file(tmp_path / "one", None, "test").elements.num_rows
    whole = read_everything(SMALL).elements.drop_columns(["source"])
    before = read_mrt_file(_write(tmp_path, records[:middle]), None, "t").elements.num_rows
    got = result.elements.drop_columns(["source"])
    assert lost > 0 and got.num_rows == whole.num_rows - lost
    assert got.slice(0, before).equals(whole.slice(0, before))
    assert got.slice(before).equals(whole.slice(before + lost))


def test_torn_last_record(tmp_path: Path) -> None:
    records = _small_records()
    path = tmp_path / "torn"
    path.write_bytes(b"".join(records[:-1]) + records[-1][:30])
    result = read_mrt_file(path, None, "test")
    offset = sum(map(len, records[:-1]))
    assert [(p.offset, p.reason) for p in result.problems] == [
        (offset, f"torn last record ({len(records[-1]) - 30} bytes missing)")
    ]
    assert result.records == len(records) - 1


def _rib_records() -> list[bytes]:
    return _records(gzip.decompress((MRT_DIR / "ris.bview.ipv4_unicast_add_path.gz").read_bytes()))


def test_a_rib_entry_naming_a_peer_beyond_the_peer_table_is_reported(tmp_path: Path) -> None:
    records = _rib_records()
    first = next(
        i for i, r in enumerate(records) if struct.unpack_from(">HH", r, 4) == (13, 8)
    )  # RIB, ADD-PATH
    rec = bytearray(records[first])
    prefix_bytes = (rec[16] + 7) // 8
    entry = 12 + 4 + 1 + prefix_bytes + 2  # header, sequence, prefix length, prefix, entry count
    struct.pack_into(">H", rec, entry, 0xFFFF)
    damaged = records[:first] + [bytes(rec)] + records[first + 1 :]
    result = read_mrt_file(_write(tmp_path, damaged), None, "test")
    assert [p.offset for p in result.problems] == [sum(map(len, records[:first]))]
    assert "peer index 65535 beyond the peer table" in result.problems[0].reason
    assert result.problems[0].reason.startswith("undecodable record (MrtFormatError")
    whole = read_mrt_file(_write(tmp_path, records), None, "test")
    assert 0 < result.elements.num_rows < whole.elements.num_rows


def test_a_bug_in_our_decoding_is_raised_not_reported_as_damage(tmp_path: Path, monkeypatch) -> None:
    """Only mrtparse's parse (and the damage anystab checks for) become "undecodable record": an exception
    in anystab's own handling of a well-formed record propagates."""
    from anystab.sources import mrt

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(mrt, "_parse_attrs", broken)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        read_mrt_file(MRT_DIR / SMALL, None, "test")
