"""AS path text, the AS4_PATH merge, the bgpdump line formatter and the elements table on hand-made values."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from anystab.schemas import ELEMENTS
from anystab.sources import bgpdump_line
from anystab.sources.mrt import elements_table, format_as_path, merge_as4_path


def _seg(kind: int, *asns: int) -> dict[str, object]:
    return {"type": {kind: ""}, "value": [str(a) for a in asns]}


def test_format_as_path_segments() -> None:
    path = [_seg(3, 65001, 65002), _seg(2, 1, 2), _seg(1, 4, 3), _seg(4, 7, 8)]
    assert format_as_path(path) == "(65001 65002) 1 2 {4,3} [7,8]"
    assert format_as_path([]) == ""


def test_merge_as4_path_per_rfc6793() -> None:
    two_byte = [_seg(2, 2497, 2914, 18403, 23456, 45543)]
    four_byte = [_seg(2, 18403, 131127, 45543)]
    assert format_as_path(merge_as4_path(two_byte, four_byte)) == "2497 2914 18403 131127 45543"
    longer = [_seg(2, 1, 2, 3, 4, 5, 6)]
    assert merge_as4_path(two_byte, longer) == two_byte
    with_set = [_seg(2, 1, 23456), _seg(1, 7, 8)]
    assert format_as_path(merge_as4_path(with_set, [_seg(2, 200000), _seg(1, 7, 8)])) == "1 200000 {7,8}"


def _row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(
        ("prefix", "path_id", "as_path", "bgp_origin", "next_hop", "aggregator", "old_state", "new_state")
    )
    row.update(time=datetime(2015, 10, 23, 2, 1, 18, 509481, tzinfo=UTC), peer_ip="192.0.2.1", peer_asn=64500)
    row.update(local_pref=0, med=0, communities=[], atomic_aggregate=False)
    row.update(values)
    return row


def test_bgpdump_line_shapes() -> None:
    assert (
        bgpdump_line(_row(elem_type="S", old_state=5, new_state=6))
        == "1445565678.509481|STATE|192.0.2.1|64500|5|6"
    )
    assert (
        bgpdump_line(_row(elem_type="W", prefix="8.8.8.0/24"))
        == "1445565678.509481|W|192.0.2.1|64500|8.8.8.0/24"
    )
    announce = _row(elem_type="A", prefix="8.8.8.0/24", as_path="1 15169", bgp_origin="IGP", med=5)
    announce.update(next_hop="192.0.2.1", communities=["1:2", "3:4"], atomic_aggregate=True)
    announce.update(aggregator="15169 10.0.0.1", time=1445565678 * 10**6)
    assert bgpdump_line(announce) == (
        "1445565678|A|192.0.2.1|64500|8.8.8.0/24|1 15169|IGP|192.0.2.1|0|5|1:2 3:4|AG|15169 10.0.0.1|"
    )
    rib = _row(elem_type="R", prefix="10.0.0.0/24", path_id=7, as_path="1", time=1452168107_000000)
    assert (
        bgpdump_line(rib)
        == "1452168107|B|192.0.2.1|64500|10.0.0.0/24|7|1|INCOMPLETE|255.255.255.255|0|0||NAG||"
    )


def test_elements_table_equals_from_pylist(monkeypatch) -> None:
    """Every way elements_table builds a table (none, one record batch, many rows) gives what
    ``Table.from_pylist`` gives, schema and metadata included."""
    full = dict.fromkeys(ELEMENTS.names)
    full.update(_row(prefix="192.0.2.0/24", as_path="64500 64501", communities=["64500:1"]))
    full.update(elem_type="A", collector="rrc00", source="f.gz")
    state = dict.fromkeys(ELEMENTS.names)
    state.update(_row(), elem_type="S", old_state=6, new_state=1, collector="rrc00", source="f.gz")
    for rows in ([], [full], [full, state] * 3):
        expected = pa.Table.from_pylist(rows, schema=ELEMENTS)
        assert elements_table(rows).equals(expected, check_metadata=True)
        monkeypatch.setattr("anystab.sources.mrt.ONE_BATCH_ROWS", 1)
        assert elements_table(rows).equals(expected, check_metadata=True)
        monkeypatch.undo()
