"""Every real MRT file: the elements read equal Debian bgpdump -m's lines, field by field, in order."""

from __future__ import annotations

import pytest
from support.mrt_data import MRT_DIR, SAMPLED_FROM_LINES, bgpdump_output, reference, reference_of
from support.mrt_samples import MRT_FILES, reference_lines, reference_prefix, sampled_targets

from anystab.schemas import ELEMENTS
from anystab.sources import bgpdump_line, read_mrt_file

ET_FILE = "ris.updates.et-header.2015.gz"


@pytest.mark.parametrize("name", MRT_FILES)
def test_elements_equal_bgpdump(name: str) -> None:
    targets = sampled_targets(name)
    result = read_mrt_file(MRT_DIR / name, targets, "rrc00")
    expected = [
        line for line in reference_lines(name) if (p := reference_prefix(line)) is None or targets.matches(p)
    ]
    got = [bgpdump_line(row) for row in result.elements.to_pylist()]
    assert any(reference_prefix(line) for line in expected)
    for i, (mine, ref) in enumerate(zip(got, expected, strict=False)):
        assert mine.split("|") == ref.split("|"), f"element {i}"
    assert len(got) == len(expected)
    assert result.elements.schema.equals(ELEMENTS, check_metadata=True)


def test_every_file_has_a_committed_reference() -> None:
    assert len(MRT_FILES) == 11
    assert all(reference_lines(name) for name in MRT_FILES)
    for name in MRT_FILES:
        assert reference(name).whole == (reference(name).line_count < SAMPLED_FROM_LINES), name
    assert sum(not reference(name).whole for name in MRT_FILES) == 5


@pytest.mark.parametrize("name", MRT_FILES)
def test_committed_reference_is_what_bgpdump_prints(name: str) -> None:
    """The committed output, or the committed sample and digest of it, is bgpdump -m's output today."""
    text = bgpdump_output(MRT_DIR / name)
    committed = reference(name)
    assert committed.line_count == len(text.splitlines())
    if committed.whole:
        assert committed.lines == tuple(text.splitlines())
    else:
        assert reference_of(text) == committed


def test_anycast_prefixes_and_state_changes_found() -> None:
    result = read_mrt_file(MRT_DIR / ET_FILE, sampled_targets(ET_FILE), "rrc00")
    table = result.elements
    prefixes = set(table.column("prefix").to_pylist())
    assert {"8.8.8.0/24", "208.67.222.0/24", "199.7.83.0/24", "199.7.91.0/24", "202.12.27.0/24"} <= prefixes
    assert set(table.column("collector").to_pylist()) == {"rrc00"}
    assert set(table.column("source").to_pylist()) == {str(MRT_DIR / ET_FILE)}
    states = [(r["old_state"], r["new_state"]) for r in table.to_pylist() if r["elem_type"] == "S"]
    assert states[-1] == (5, 6)
    assert result.kind == "updates" and result.records == 89686 and not result.problems
    assert result.first_time == pytest.approx(1445565678.509481)


def test_trailing_bits_prefix_kept_as_written() -> None:
    result = read_mrt_file(MRT_DIR / "ris.updates.nlri_mask_trailing_bits.gz", None, "rrc00")
    assert result.elements.column("prefix").to_pylist() == ["11.13.0.0/13"]
    assert [p.reason for p in result.problems] == [
        "NLRI runs past the end of the BGP message; the cut prefix is ignored"
    ]
