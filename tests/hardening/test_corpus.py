"""Replay the seed corpus: every input that once broke a reader (tests/hardening/corpus), read again.

``corpus/mrt``: damaged MRT files; read with and without a target set, they give a FileResult whose
problems name the file and an offset. ``corpus/config``: configuration files that must be refused with
a ConfigError naming the file. ``corpus/rislive``: RIS Live frames that once made ``parse_frame``
raise (deep nesting, infinite or out-of-range times, AS numbers past 32 bits); now reported as malformed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fuzzing import bounded

from anystab.errors import ConfigError
from anystab.monitor.config import load_config as load_monitor_config
from anystab.service import load_service
from anystab.sources import read_mrt_file
from anystab.sources.registry import load_config as load_settings
from anystab.sources.rislive import parse_frame
from anystab.targets import make_target, target_set

CORPUS = Path(__file__).resolve().parent / "corpus"
TARGETS = target_set([make_target(p) for p in ("192.0.2.0/24", "8.8.8.0/24", "2001:500:6::/48")])
CONFIG_READERS = {"service": load_service, "monitor": load_monitor_config, "settings": load_settings}


def _files(folder: str) -> list[Path]:
    return sorted(p for p in (CORPUS / folder).iterdir() if p.is_file())


def test_the_corpus_is_there() -> None:
    assert len(_files("mrt")) >= 8 and len(_files("config")) >= 5 and _files("rislive")


@pytest.mark.parametrize("path", _files("mrt"), ids=lambda p: p.name)
@pytest.mark.parametrize("filtered", [False, True], ids=["all", "targets"])
def test_damaged_mrt_is_reported(path: Path, filtered: bool) -> None:
    with bounded("corpus"):
        result = read_mrt_file(path, TARGETS if filtered else None, "corpus")
    assert result.problems, "every corpus file is damaged: its damage must be reported"
    for problem in result.problems:
        assert problem.path == str(path)
        assert problem.offset is not None and 0 <= problem.offset <= result.decompressed_bytes


@pytest.mark.parametrize("path", _files("config"), ids=lambda p: p.name)
def test_bad_config_is_refused_naming_the_file(path: Path) -> None:
    load = CONFIG_READERS[path.name.split("-")[0]]
    with bounded("corpus"), pytest.raises(ConfigError, match=path.name) as refused:
        load(path)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize("path", _files("rislive"), ids=lambda p: p.name)
def test_hostile_rislive_frames_are_reported_not_raised(path: Path) -> None:
    import pyarrow as pa

    from anystab.schemas import ELEMENTS

    with bounded("corpus"):
        item = parse_frame(path.read_text(), TARGETS)
    assert item.kind == "malformed" and item.note
    pa.Table.from_pylist(item.rows, schema=ELEMENTS)
