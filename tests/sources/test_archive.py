"""File discovery, collector naming for every archive layout, and missing update intervals."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import pytest
from support.mrt_data import MRT_DIR

from anystab.errors import BadInputError, ConfigError
from anystab.schemas import ELEMENTS
from anystab.sources import FileResult, SourceFile, describe, discover, expected_cadence, missing_intervals
from anystab.sources.archive import NOT_MRT_SUFFIXES, is_candidate

T0 = 1401487200.0  # 2014-05-30 22:00 UTC


def _touch(root: Path, rel: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


JINX, RV = "route-views.jinx", "routeviews"
LAYOUTS = [
    ("rrc15/2010.02/updates.20100227.1600.gz", "rrc15", "ris", "updates", 1267286400.0),
    ("rrc15/2010.02/bview.20100227.0000.gz", "rrc15", "ris", "rib", 1267228800.0),
    (f"{JINX}/bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2", JINX, RV, "updates", 1401493500.0),
    (f"{JINX}/bgpdata/2014.05/RIBS/rib.20140530.0000.bz2", JINX, RV, "rib", 1401408000.0),
    ("bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2", "route-views2", RV, "updates", 1401493500.0),
    ("mirror/bgpdata/2014.05/RIBS/rib.20140530.0000.bz2", "route-views2", RV, "rib", 1401408000.0),
    ("ris.rrc06.updates.1401488100.gz", "rrc06", "ris", "updates", 1401488100.0),
    (f"routeviews.{JINX}.ribs.1401487200.bz2", JINX, RV, "rib", T0),
    # gobgpd and FRR name their dumps with seconds (Go layout updates.20060102.150405)
    ("rrc15/2010.02/updates.20100227.160059.gz", "rrc15", "ris", "updates", 1267286459.0),
]


@pytest.mark.parametrize(("rel", "collector", "project", "kind", "when"), LAYOUTS)
def test_collector_named_from_layout_or_name(
    tmp_path: Path, rel: str, collector: str, project: str, kind: str, when: float
) -> None:
    path = _touch(tmp_path, rel)
    assert describe(path) == SourceFile(str(path), collector, project, kind, when)
    assert describe(path, collector="ignored").collector == collector


@pytest.mark.parametrize(
    "name",
    [
        "updates.20161340.1600.gz",
        "updates.20160230.1600.gz",
        "bview.20160811.2400.gz",
        "updates.20160811.1660.gz",
        "updates.20160811.160060.gz",
        "updates.00000101.0000.gz",
    ],
)
def test_archive_name_of_no_real_time_gives_no_time(tmp_path: Path, name: str) -> None:
    """Digits in an archive name's place that are no time (month 13, 30 February, hour 24) give no time
    from the name, as a name without them would; the file's records then give it."""
    path = _touch(tmp_path, f"rrc00/2016.08/{name}")
    assert describe(path) == SourceFile(
        str(path), "rrc00", "ris", name.split(".")[0].replace("bview", "rib"), None
    )


def test_file_named_with_no_real_time_is_analysed(tmp_path: Path) -> None:
    """A real update file under a name whose date cannot be (month 13) is analysed, not a traceback."""
    from click.testing import CliRunner

    from anystab.cli.main import cli

    path = tmp_path / "updates.20161340.1600.gz"
    path.write_bytes((MRT_DIR / "ris.updates.20160811.1600.gz").read_bytes())
    result = CliRunner().invoke(cli, ["analyze", str(path), "--collector", "rrc00", "--prefix", "8.8.8.0/24"])
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_collector_argument_and_error(tmp_path: Path) -> None:
    path = _touch(tmp_path, "ris.updates.20160811.1600.gz")
    assert describe(path, "rrc00") == SourceFile(str(path), "rrc00", None, "updates", 1470931200.0)
    with pytest.raises(ConfigError, match="--collector"):
        describe(path)


def test_discover_walks_folders_sorted_and_skips_non_mrt(tmp_path: Path) -> None:
    wanted = [
        _touch(tmp_path, "rrc00/2020.01/updates.20200101.0005.gz"),
        _touch(tmp_path, "rrc00/2020.01/updates.20200101.0000.gz"),
        _touch(tmp_path, "rrc01/2020.01/bview.20200101.0000.gz"),
    ]
    for rel in ("rrc00/2020.01/.hidden.gz", ".cache/rrc00/2020.01/updates.20200101.0010.gz", "notes.txt",
                "out/elements.parquet", "ref/x.txt.gz", "README.md", "conf.json"):  # fmt: skip
        _touch(tmp_path, rel)
    found = discover([tmp_path])
    assert [f.path for f in found] == [str(p) for p in sorted(wanted)]
    assert [f.collector for f in found] == ["rrc00", "rrc00", "rrc01"]
    single = tmp_path / "rrc00/2020.01/updates.20200101.0005.gz"
    assert discover([single, tmp_path / "rrc01"]) == [describe(single), found[2]]


def test_name_times_are_the_datetimes_they_write() -> None:
    """The time a name gives is ``datetime(...).timestamp()`` of its digits, and none where datetime
    refuses them (every month and day edge, hours, minutes and seconds on both sides of their range)."""
    days = [f"{y}{m:02d}{d:02d}" for y in ("0000", "0001", "1999", "2000", "2024", "2100", "9999")
            for m in (0, 1, 2, 12, 13) for d in (0, 1, 28, 29, 30, 31, 32)]  # fmt: skip
    times = [
        f"{h:02d}{mi:02d}" + s for h in (0, 23, 24, 99) for mi in (0, 59, 60) for s in ("", "00", "59", "60")
    ]
    for day in days:
        for hhmmss in times:
            name = f"updates.{day}.{hhmmss}.gz"
            hh, mm, ss = int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:] or 0)
            try:
                when: float | None = datetime(
                    int(day[:4]),
                    int(day[4:6]),
                    int(day[6:]),
                    hh,
                    mm,
                    ss,
                    tzinfo=timezone.utc,  # noqa: UP017
                ).timestamp()
            except ValueError:
                when = None
            assert describe(name, "rrc00").name_time == when, name


@pytest.mark.parametrize(
    "name",
    ["a.gz", "a.txt", "a.TXT.GZ", "a.txt.bz2.gz", "a.json", "a.", "a.txt.", "a..txt", "a", ".a", "..a", "",
     "updates.20200101.0000.gz", "x.parquet.gz", "x.md5", "a.b.c", "a.gz.gz", "a.csv.gz.bz2", "a .txt"],
)  # fmt: skip
def test_candidate_names_as_purepath_suffixes_tell(name: str) -> None:
    """A name is left out by its suffixes as ``PurePath.suffixes`` gives them, compressions peeled off."""
    path = PurePosixPath(name)
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".bz2"):
        suffixes.pop()
    expected = not path.name.startswith(".") and not (suffixes and suffixes[-1] in NOT_MRT_SUFFIXES)
    assert is_candidate(path) == expected


def test_discover_writes_paths_as_path_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder given as ".", with "./" or a trailing separator, relative or absolute, gives the paths
    that ``str(Path(...))`` writes (the FILES table and problems name them)."""
    _touch(tmp_path, "rrc00/2020.01/updates.20200101.0005.gz")
    _touch(tmp_path, "x/updates.20200101.0010.gz")
    monkeypatch.chdir(tmp_path)
    expected = ["rrc00/2020.01/updates.20200101.0005.gz", "x/updates.20200101.0010.gz"]
    assert [f.path for f in discover(["."], "rrc01")] == expected
    assert [f.path for f in discover(["./", "x/"], "rrc01")] == [*expected, expected[1]]
    assert [
        f.path for f in discover(["./rrc00//2020.01/", "./x/updates.20200101.0010.gz"], "rrc01")
    ] == expected
    assert [f.path for f in discover([tmp_path / "x"], "rrc01")] == [str(tmp_path / expected[1])]
    assert [f.collector for f in discover(["."], "rrc01")] == ["rrc00", "rrc01"]


def test_discover_missing_path(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        discover([tmp_path / "nope"])


def test_expected_cadence() -> None:
    assert (expected_cadence("ris"), expected_cadence("routeviews"), expected_cadence(None)) == (
        300.0,
        900.0,
        None,
    )


def _result(path: str, kind: str, first: float | None = None, last: float | None = None) -> FileResult:
    return FileResult(path, "c", kind, 1, ELEMENTS.empty_table(), [], first, last, 0)


def _ris(minute: int, kind: str = "updates") -> tuple[SourceFile, FileResult]:
    t = T0 + 60 * minute
    source = SourceFile(f"u{minute}", "rrc06", "ris", "rib" if kind == "rib" else "updates", t)
    return source, _result(source.path, kind, t + 1, t + 299)


def test_missing_intervals_with_known_cadence() -> None:
    files = [_ris(0), _ris(5), _ris(15), _ris(20, "rib"), _ris(25, "empty")]
    got = missing_intervals(files, T0 - 100, T0 + 3600)
    assert got == [
        ("rrc06", T0 - 100, T0, "outside_data"),
        ("rrc06", T0 + 600, T0 + 900, "missing_file"),
        ("rrc06", T0 + 1200, T0 + 1500, "missing_file"),
        ("rrc06", T0 + 1800, T0 + 3600, "outside_data"),
    ]
    assert missing_intervals(files, T0, T0 + 600) == []


def test_missing_intervals_floor_first_record_time_without_name_time() -> None:
    source = SourceFile("x", "route-views2", "routeviews", None, None)
    got = missing_intervals([(source, _result("x", "updates", T0 + 17, T0 + 800))], T0, T0 + 1800)
    assert got == [("route-views2", T0 + 900, T0 + 1800, "outside_data")]


def test_missing_intervals_unknown_cadence() -> None:
    files = [
        (SourceFile(f"f{i}", "lab", None, "updates", T0 + 120 * i), _result(f"f{i}", "updates"))
        for i in (0, 1, 2, 4)
    ]
    got = missing_intervals(files, T0, T0 + 600)
    assert got == [("lab", T0 + 360, T0 + 480, "missing_file")]
    single = [(SourceFile("s", "lab", None, None, None), _result("s", "updates", T0 + 10, T0 + 50))]
    assert missing_intervals(single, T0, T0 + 60) == [
        ("lab", T0, T0 + 10, "outside_data"),
        ("lab", T0 + 50, T0 + 60, "outside_data"),
    ]


def test_collector_with_only_ribs_is_outside_data() -> None:
    got = missing_intervals([_ris(0, "rib")], T0, T0 + 300)
    assert got == [("rrc06", T0, T0 + 300, "outside_data")]
