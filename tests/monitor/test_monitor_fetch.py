"""`anystab monitor` fetching collectors' files from a real HTTP server on 127.0.0.1 whose archive grows.

The served archive is the scenario of ``support.scenario.small_scenario`` (rrc01: RIS layout, 5-minute
updates; route-views3: RouteViews layout, 15-minute updates), moved to a recent 8-hour boundary: aligned with
both projects' RIB cadences, over for hours, and less than two days old, so a file the server does not have
yet is asked for again by the next run (the record of missing files settles only after two days).
"""

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support.fetch_server import ArchiveServer, serving
from support.fetch_server import isolated as isolated  # autouse: no user config, SIGPIPE ignored
from support.monitor import assert_same_dataset, dataset_tables, grow, run_cli, write_config
from support.scenario import small_scenario

from anystab.cli.main import cli
from anystab.errors import ConfigError
from anystab.generate.scenario import rib_path, update_path, write_archive
from anystab.monitor import load_config
from anystab.monitor.run import RunReport, fetch_requests, gather_sources
from anystab.pipeline import AnalysisRequest, analyze
from anystab.sources.fetch import load_missing
from anystab.sources.registry import RIS_RIB_CADENCE_S, Settings

START = int(time.time() // RIS_RIB_CADENCE_S - 1) * RIS_RIB_CADENCE_S
SCENARIO = dataclasses.replace(small_scenario(), start=START)
RIS, ROUTEVIEWS = SCENARIO.collectors
HOUR = 3600


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> tuple[Path, list[Path]]:
    """(folder, files in the order the archive publishes them: per slot, RIB dumps before updates)."""
    folder = tmp_path_factory.mktemp("whole-archive")
    files = write_archive(SCENARIO, folder)
    return folder, sorted(files, key=lambda p: (p.name.split(".")[1:3], "updates" in p.name, str(p)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory, whole) -> dict[str, pd.DataFrame]:
    """The dataset of one monitor run over a local folder holding the whole archive."""
    folder = tmp_path_factory.mktemp("clean")
    done = run_cli("monitor", "--config", str(write_config(folder, whole[0])))
    assert done.returncode in (0, 1, 2), done.stderr
    return dataset_tables(folder / "dataset")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ArchiveServer]:
    """A real archive server on 127.0.0.1 over an empty folder (``grow`` fills it)."""
    (tmp_path / "served").mkdir()
    with serving(ArchiveServer(tmp_path / "served")) as state:
        yield state


def fetch_config(
    folder: Path, url: str, *, end: float | None = START + HOUR, extra: str = "", start: float = START
) -> Path:
    """The monitoring config of the scenario's service, fetching both collectors from ``url`` into
    ``folder/cache``."""
    path = write_config(folder, folder / "unused")
    bound = f'end = "{_iso(end)}"' if end is not None else ""
    sources = f"""collectors = ["rrc01", "route-views3"]
start = "{_iso(start)}"
{bound}
cache = "cache"
mirrors = {{ ris = "{url}", routeviews = "{url}" }}
{extra}"""
    path.write_text(path.read_text().replace(f'archives = ["{folder / "unused"}"]', sources))
    return path


def monitor(config: Path) -> dict:
    done = run_cli("monitor", "--config", str(config), "--json")
    assert done.returncode in (0, 1, 2), done.stderr
    return json.loads(done.stdout)


def _rel(path: Path, source: Path) -> str:
    return str(path.relative_to(source))


def _canonical(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    vp = ["collector", "peer_asn", "peer_ip", "target"]
    keys = {"timeline": [*vp, "start"], "events": ["time", *vp, "kind", "new_site"]}[name]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_fetching_a_growing_archive_equals_a_clean_run_over_the_whole_archive(tmp_path, server, whole, clean):
    source, files = whole
    config = fetch_config(tmp_path, server.url)
    updates = [f for f in files if "updates" in f.name]
    assert sorted(f.name.split(".")[0] for f in files[:2]) == ["bview", "rib"]
    served = 0
    for count in (2, 6, 11, len(files)):  # the RIB dumps first, then update files as their slots end
        grow(files, source, server.root, count)
        report = monitor(config)
        assert report["fetched"]["downloaded"] == count - served
        assert report["fetched"]["missing"] == len(files) - count  # asked again: not two days old
        assert report["files_cached"] == count
        missing = load_missing(tmp_path / "cache")
        assert sorted(missing) == sorted(_rel(f, source) for f in files[count:])
        assert all(m["status"] == 404 and m["kind"] == "updates" for m in missing.values())
        served = count
    assert len(updates) == 16 and not load_missing(tmp_path / "cache")
    grown = dataset_tables(tmp_path / "dataset")
    assert_same_dataset(grown, clean)

    # the timeline and events are exactly those of one `analyze` of every file
    settings = load_config(config)
    params = settings.params(settings.services[0])
    result = analyze(AnalysisRequest(sources=(str(source),), params=params, jobs=1))
    for name in ("timeline", "events"):
        mine = grown[name].drop(columns="service")
        pd.testing.assert_frame_equal(
            _canonical(mine, name), _canonical(result.tables[name], name), check_dtype=False, obj=name
        )


def test_the_first_run_warms_up_from_the_rib_dump(tmp_path, server, whole, clean):
    """Monitoring that starts at 00:20 fetches the RIB dumps of 00:00 and the update files between (the
    warm-up), so its dataset is that of the whole archive: the state at 00:20 is exact."""
    source, files = whole
    grow(files, source, server.root, len(files))
    report = monitor(fetch_config(tmp_path, server.url, start=START + 1200))
    assert report["fetched"]["downloaded"] == len(files) and report["fetched"]["missing"] == 0
    warm = [
        r.path for r in server.requests() if "updates" in r.path and r.path < update_path(RIS, START + 1200)
    ]
    assert update_path(RIS, START) in warm and update_path(ROUTEVIEWS, START) in {
        r.path for r in server.requests()
    }
    assert_same_dataset(dataset_tables(tmp_path / "dataset"), clean)


def test_a_run_with_nothing_new_asks_for_nothing_and_changes_nothing(tmp_path, server, whole):
    source, files = whole
    grow(files, source, server.root, len(files))
    config = fetch_config(tmp_path, server.url)
    assert monitor(config)["fetched"]["downloaded"] == len(files)
    kept = [f for d in ("dataset", "cache") for f in sorted((tmp_path / d).rglob("*")) if f.is_file()]
    kept.append(tmp_path / "state" / "checkpoint.json")
    stamps = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in kept}
    asked_before = len(server.requests())

    report = monitor(config)
    assert server.requests()[asked_before:] == []  # every file is in the cache, none is recorded missing
    assert report["fetched"] == {"downloaded": 0, "cached": len(files), "missing": 0, "known_missing": 0,
                                 "failed": 0}  # fmt: skip
    assert report["files_read"] == 0 and not report["recomputed"] and report["partitions_written"] == 0
    assert {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in kept} == stamps
    assert not (tmp_path / "cache" / ".anystab-missing.json").exists()

    text = run_cli("monitor", "--config", str(config))  # the terminal summary says what was fetched
    assert f"fetched: 0 downloaded, {len(files)} cached, 0 missing, 0 known missing, 0 failed" in text.stdout


def test_a_file_the_server_fails_is_noted_and_fetched_by_the_next_run(tmp_path, server, whole, clean):
    source, files = whole
    grow(files, source, server.root, len(files))
    victim = update_path(RIS, START + 1500)
    server.fault(victim, "500", "500")
    config = fetch_config(tmp_path, server.url, extra="retries = 1")

    first = monitor(config)
    assert first["fetched"]["failed"] == 1 and first["fetched"]["downloaded"] == len(files) - 1
    assert any(victim in note and "HTTP 500" in note and "attempts: 2" in note for note in first["notes"])
    assert first["files_cached"] == len(files) - 1
    assert [r.status for r in server.requests(victim)] == [500, 500]
    assert not (tmp_path / "cache" / victim).exists() and not load_missing(tmp_path / "cache")

    second = monitor(config)
    assert second["fetched"]["downloaded"] == 1 and second["fetched"]["failed"] == 0
    assert [r.status for r in server.requests(victim)] == [500, 500, 200]
    assert not any(victim in note for note in second["notes"]) and second["recomputed"]
    assert_same_dataset(dataset_tables(tmp_path / "dataset"), clean)


def _windows(config: Path, now: float) -> tuple[dict[tuple[str, ...], float], list[str]]:
    notes: list[str] = []
    requests = fetch_requests(load_config(config), Settings(), now, notes)
    return {r.collectors: r.end for r in requests}, notes


@pytest.mark.parametrize(
    ("now", "end", "windows"),
    [
        # the configured end is long past: it bounds both projects
        (86400, HOUR, {("rrc01",): HOUR, ("route-views3",): HOUR}),
        (86400, 1800, {("rrc01",): 1800, ("route-views3",): 1800}),
        # no end, or one still to come: each project up to its last update slot that is over
        (1260, None, {("rrc01",): 1200, ("route-views3",): 900}),
        (1260, 1230, {("rrc01",): 1200, ("route-views3",): 900}),
        (900, HOUR, {("rrc01",): 900, ("route-views3",): 900}),
        (899, None, {("rrc01",): 600}),
        (299, None, {}),
        (-60, None, {}),
    ],
)
def test_each_project_is_fetched_up_to_its_last_slot_that_is_over(tmp_path, now, end, windows):
    """Times are seconds after START (parameters stay the same in every test process)."""
    config = fetch_config(tmp_path, "http://127.0.0.1:9/", end=None if end is None else START + end)
    found, notes = _windows(config, START + now)
    assert found == {names: START + last for names, last in windows.items()}
    if now < 0:
        assert notes == ["nothing fetched: [sources] start is still to come"]
    elif len(windows) < 2:
        assert any("nothing fetched from route-views3 yet" in n for n in notes)


def test_a_slot_still_being_written_is_neither_asked_for_nor_recorded_missing(tmp_path, server, whole):
    source, files = whole
    grow(files, source, server.root, len(files))
    config = load_config(fetch_config(tmp_path, server.url, end=None))
    report = RunReport()
    found = gather_sources(config, report, now=START + 1260)  # 00:21: rrc01 00:20 and route-views3 00:15 open
    over = [update_path(RIS, START + 300 * k) for k in range(4)] + [update_path(ROUTEVIEWS, START)]
    ribs = [rib_path(RIS, START), rib_path(ROUTEVIEWS, START)]
    assert sorted(r.path for r in server.requests()) == sorted(ribs + over)
    assert len(found) == 7 and report.fetched == {"downloaded": 7, "cached": 0, "missing": 0,
                                                   "known_missing": 0, "failed": 0}  # fmt: skip
    assert not (tmp_path / "cache" / ".anystab-missing.json").exists()


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (f'end = "{_iso(START - 1)}"', r"end \(.*\) must be after start \(.*\)"),
        (f'end = "{_iso(START)}"', "end .* must be after start"),
        ('end = "tomorrow"', "end: not a time"),
        ("retries = -1", "retries: must be a whole number"),
    ],
    ids=["end-before-start", "end-at-start", "end-not-a-time", "negative-retries"],
)
def test_fetch_settings_mistakes_are_errors(tmp_path, sources, message):
    config = fetch_config(tmp_path, "http://127.0.0.1:9/", end=None, extra=sources)
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_mirror_of_an_unknown_project_is_an_error(tmp_path):
    config = fetch_config(tmp_path, "http://127.0.0.1:9/")
    config.write_text(config.read_text().replace("routeviews =", "gopher ="))
    with pytest.raises(ConfigError, match="mirrors: unknown project 'gopher'"):
        load_config(config)


def test_toml_times_without_an_offset_are_utc(tmp_path, monkeypatch):
    config = fetch_config(tmp_path, "http://127.0.0.1:9/")
    text = config.read_text().replace(f'start = "{_iso(START)}"', f"start = {_iso(START)[:-1]}")
    config.write_text(text.replace(f'end = "{_iso(START + HOUR)}"', f"end = {_iso(START + HOUR)}"))
    try:
        with monkeypatch.context() as patch:
            patch.setenv("TZ", "America/New_York")  # not the machine's zone either
            time.tzset()
            loaded = load_config(config)
    finally:
        time.tzset()
    assert (loaded.fetch_start, loaded.fetch_end) == (START, START + HOUR)


def test_the_init_example_with_its_fetch_lines_uncommented_loads(tmp_path):
    path = tmp_path / "m.toml"
    assert CliRunner().invoke(cli, ["init", str(path)]).exit_code == 0
    keys = ("collectors", "start", "end", "cache", "mirrors", "retries")
    lines = [line.removeprefix("# ") if line.startswith(tuple(f"# {k} =" for k in keys)) else line
             for line in path.read_text().splitlines()]  # fmt: skip
    path.write_text("\n".join(lines))
    config = load_config(path)
    assert config.collectors == ("rrc00", "route-views2") and config.fetch_retries == 4
    assert config.fetch_end is not None and config.fetch_start is not None
    assert config.fetch_end > config.fetch_start and config.mirrors == ("ris=https://mirror.example/ris/",)
    assert config.cache == tmp_path / "cache"
