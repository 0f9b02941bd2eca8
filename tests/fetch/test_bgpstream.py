"""The pybgpstream source: the missing-library message for real, element conversion with fake pybgpstream
objects (libbgpstream cannot be installed here), and the same analysis as the own reader when the fake
stream is fed by Debian's bgpdump, an independent MRT reader."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from support.fetch_server import SAMPLE
from support.needs import need_bgpdump

from anystab.cli.main import cli
from anystab.errors import SourceUnavailableError
from anystab.executors import LocalExecutor
from anystab.params import AnalysisParams
from anystab.pipeline import AnalysisRequest, analyze
from anystab.sources.archive import describe
from anystab.sources.base import FilesSource, make_source
from anystab.sources.bgpstream import (
    PEER_STATES,
    BgpStreamSource,
    convert_records,
    elem_row,
    import_pybgpstream,
)
from anystab.targets import make_target, target_set

TARGETS = target_set([make_target("192.0.2.0/24", "192.0.2.53"), make_target("2001:db8:53::/48")])


@dataclass
class FakeElem:
    """Stands in for pybgpstream's BGPElem: type, peer_asn, peer_address, fields."""

    type: str
    peer_asn: int
    peer_address: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeRecord:
    """Stands in for pybgpstream's BGPRecord: time, status, and its elements when iterated."""

    time: float
    elems: list[FakeElem]
    status: str = "valid"

    def __iter__(self) -> Iterator[FakeElem]:
        return iter(self.elems)


def test_without_pybgpstream_the_message_says_how_to_install_it() -> None:
    with pytest.raises(SourceUnavailableError) as info:
        import_pybgpstream()
    text = str(info.value)
    assert "libbgpstream C library installed first" in text
    assert "apt-get install bgpstream" in text and "pip install 'anystab[bgpstream]'" in text
    result = CliRunner().invoke(
        cli, ["analyze", str(SAMPLE), "--prefix", "192.0.2.0/24", "--source", "bgpstream"]
    )
    assert result.exit_code == 1
    assert "Error: --source bgpstream needs pybgpstream" in result.stderr
    assert "Traceback" not in result.output


def test_elements_become_element_rows() -> None:
    announce = FakeElem(
        "A",
        64501,
        "192.0.2.1",
        {"prefix": "192.0.2.0/24", "as-path": "64501 {64496,64497}", "next-hop": "192.0.2.1"}
        | {"communities": {"64496:103", "64496:20", "65000:1"}},
    )
    row = elem_row(announce, 1748822400.25, "rrc00", "f.gz")
    assert row is not None
    assert row["time"] == 1_748_822_400_250_000 and row["elem_type"] == "A"
    assert (row["collector"], row["peer_asn"], row["peer_ip"], row["prefix"]) == (
        "rrc00",
        64501,
        "192.0.2.1",
        "192.0.2.0/24",
    )
    assert row["as_path"] == "64501 {64496,64497}" and row["next_hop"] == "192.0.2.1"
    assert row["communities"] == ["64496:20", "64496:103", "65000:1"]
    assert row["path_id"] is None and row["old_state"] is None and row["source"] == "f.gz"
    withdraw = elem_row(FakeElem("W", 64501, "192.0.2.1", {"prefix": "192.0.2.0/24"}), 1.0, "c", "f")
    assert withdraw is not None and withdraw["as_path"] is None and withdraw["communities"] is None
    state = elem_row(
        FakeElem("S", 64501, "2001:db8::1", {"old-state": "ESTABLISHED", "new-state": "IDLE"}), 2.0, "c", "f"
    )
    assert state is not None and (state["old_state"], state["new_state"], state["prefix"]) == (6, 1, None)
    assert elem_row(FakeElem("X", 1, "192.0.2.1"), 3.0, "c", "f") is None
    assert PEER_STATES["OPENCONFIRM"] == 5


def test_records_are_filtered_counted_and_bad_ones_reported() -> None:
    file = describe(SAMPLE / "rrc00/2025.06/updates.20250602.0005.gz")
    records = [
        FakeRecord(
            300.0,
            [
                FakeElem(
                    "A", 1, "192.0.2.9", {"prefix": "192.0.2.0/25", "as-path": "1 2", "next-hop": "192.0.2.9"}
                ),
                FakeElem(
                    "A", 1, "192.0.2.9", {"prefix": "198.51.100.0/24", "as-path": "1 3", "next-hop": "x"}
                ),
                FakeElem("W", 1, "192.0.2.9", {"prefix": "0.0.0.0/0"}),
            ],
        ),
        FakeRecord(310.0, [], status="corrupted-record"),
        FakeRecord(
            305.0, [FakeElem("S", 1, "192.0.2.9", {"old-state": "ACTIVE", "new-state": "ESTABLISHED"})]
        ),
    ]
    problems: list[Any] = []
    read = convert_records(records, TARGETS, file, problems)
    assert [(r["elem_type"], r["prefix"]) for r in read.rows] == [("A", "192.0.2.0/25"), ("S", None)]
    assert (read.records, read.first, read.last) == (2, 300.0, 305.0)
    assert [p.reason for p in problems] == ["bgpstream record status corrupted-record"]


# --- a fake pybgpstream module fed by bgpdump ----------------------------------------------------------

_STATE_NAMES = {number: name for name, number in PEER_STATES.items()}


def _bgpdump_record(line: str) -> FakeRecord:
    """One ``bgpdump -m -v`` line as the record libbgpstream would give for it."""
    f = line.split("|")
    time, kind, peer_ip, asn = float(f[1]), f[2], f[3], int(f[4])
    if kind == "STATE":
        fields = {"old-state": _STATE_NAMES[int(f[5])], "new-state": _STATE_NAMES[int(f[6])]}
        return FakeRecord(time, [FakeElem("S", asn, peer_ip, fields)])
    if kind == "W":
        return FakeRecord(time, [FakeElem("W", asn, peer_ip, {"prefix": f[5]})])
    fields = {"prefix": f[5], "as-path": f[6], "next-hop": f[8], "communities": set(f[11].split())}
    return FakeRecord(time, [FakeElem("R" if kind == "B" else "A", asn, peer_ip, fields)])


class FakeBgpdumpStream:
    """Stands in for pybgpstream.BGPStream on the singlefile interface, reading the file with bgpdump."""

    def __init__(self, data_interface: str) -> None:
        assert data_interface == "singlefile"
        self.path = ""

    def set_data_interface_option(self, interface: str, option: str, value: str) -> None:
        assert interface == "singlefile" and option in ("rib-file", "upd-file")
        self.path = value

    def records(self) -> Iterator[FakeRecord]:
        command = [need_bgpdump(), "-m", "-v", self.path]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            yield _bgpdump_record(line)


class FakePybgpstream:
    """Stands in for the pybgpstream module."""

    BGPStream = FakeBgpdumpStream


def _tables(result: Any) -> dict[str, pd.DataFrame]:
    return {
        name: result.tables[name] for name in ("timeline", "events", "vp_stats", "estimates", "site_share")
    }


def test_the_bgpstream_source_gives_the_same_analysis_as_the_own_reader() -> None:
    need_bgpdump()
    request = AnalysisRequest(sources=(str(SAMPLE),), params=AnalysisParams(targets=TARGETS), jobs=1)
    own = analyze(request)
    through = analyze(request, BgpStreamSource(FakePybgpstream()))
    assert own.window == through.window
    assert len(own.tables["events"]) > 0
    for name, table in _tables(own).items():
        pd.testing.assert_frame_equal(table, _tables(through)[name], obj=name)
    files_own = analyze(request, FilesSource())
    pd.testing.assert_frame_equal(own.tables["estimates"], files_own.tables["estimates"])
    on_local = analyze(request, BgpStreamSource(FakePybgpstream()), LocalExecutor(jobs=2))
    for name, table in _tables(through).items():
        pd.testing.assert_frame_equal(table, _tables(on_local)[name], obj=name)


def test_make_source_names() -> None:
    assert make_source("files").name == "files"
    with pytest.raises(SourceUnavailableError):
        make_source("bgpstream")
