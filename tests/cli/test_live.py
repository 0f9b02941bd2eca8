"""``anystab live`` as users run it: a subprocess against a real RIS Live replay server on 127.0.0.1."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console
from support.live_server import replay as replay
from support.mrt_data import RISLIVE_STREAM
from support.scenario import small_scenario

from anystab.cli.live import TerminalSink, event_records
from anystab.cli.main import cli
from anystab.generate.scenario import simulate, write_archive
from anystab.live import read_event_log
from anystab.params import AnalysisParams
from anystab.pipeline import AnalysisRequest, analyze
from anystab.sources.rislive import record_frames
from anystab.targets import make_target, target_set
from anystab.text import iso_utc

KEY = ["time", "collector", "peer_asn", "peer_ip", "target", "kind"]
TARGET_ARGS = ["--prefix", "192.0.2.0/24", "--address", "192.0.2.53",
               "--prefix", "2001:db8:53::/48", "--address", "2001:db8:53::53"]  # fmt: skip
RUN_LIMIT_S = "60"
ENTRY = "from anystab.cli.main import main; main()"


def _live(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", ENTRY, "live", "--url", url, "--batch", "0.2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _scenario_frames(tmp_path: Path) -> tuple[list[str], pd.DataFrame]:
    """The scenario's updates as RIS Live frames in time order, and the analysis of its update files."""
    scenario = small_scenario()
    runs = simulate(scenario)
    files = write_archive(scenario, tmp_path / "archive", runs)
    updates = tuple(str(f) for f in files if "updates" in f.name)  # no RIB: each VP from its first element
    params = AnalysisParams(targets=target_set([make_target(t.prefix, t.address) for t in scenario.targets]))
    expected = analyze(AnalysisRequest(sources=updates, params=params)).tables["events"]
    records = sorted((t, i, s, r.vp.collector, rec) for i, r in enumerate(runs) for t, s, rec in r.records)
    frames = [f for *_, host, rec in records for f in record_frames([rec], host)]
    return frames, expected.sort_values(KEY, kind="stable").reset_index(drop=True)


def _with_damage(frames: list[str]) -> tuple[list[str], int]:
    """A malformed line, a ris_error and a KEEPALIVE mixed in; the index to disconnect after (between two
    different times, two thirds in)."""
    times = [json.loads(f)["data"]["timestamp"] for f in frames]
    cut = next(i for i in range(2 * len(frames) // 3, len(frames) - 1) if times[i + 1] > times[i])
    keepalive = json.loads(frames[0])
    keepalive["data"] = {**keepalive["data"], "type": "KEEPALIVE"}
    third = len(frames) // 3
    damaged = [*frames[:third], '{"type": "ris_message", "data": {"timestamp": 17', *frames[third:cut + 1],
               '{"type": "ris_error", "data": {"message": "replay: simulated error"}}', json.dumps(keepalive),
               *frames[cut + 1:]]  # fmt: skip
    return damaged, cut + 3


def test_live_reports_the_events_analyze_finds_in_the_same_updates(replay, tmp_path):
    frames, expected = _scenario_frames(tmp_path)
    assert {"switch", "restore", "origin_change", "path_change", "gap_start", "gap_end"} <= set(
        expected["kind"]
    )
    damaged, disconnect = _with_damage(frames)
    server = replay(damaged, subscriptions=2, disconnect_after={disconnect})
    out = tmp_path / "live"
    result = _live(server.url, *TARGET_ARGS, "--out", str(out), "--json", "--settle", "0.5",
                   "--max-events", str(len(expected)), "--duration", RUN_LIMIT_S)  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = read_event_log(out).sort_values(KEY, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(printed) == len(expected)
    assert sorted((p["time"], p["peer_ip"], p["target"], p["kind"]) for p in printed) == sorted(
        (iso_utc(t), ip, target, kind)
        for t, ip, target, kind in expected[["time", "peer_ip", "target", "kind"]].itertuples(index=False)
    )
    assert "malformed frame" in result.stderr and "simulated error" in result.stderr
    assert "disconnected" in result.stderr and "1 malformed, 1 ris_error, 1 disconnection;" in result.stderr
    assert len(server.connections) == 2
    for subscribed in server.connections:
        assert [m["data"]["prefix"] for m in subscribed] == ["192.0.2.0/24", "2001:db8:53::/48"]
        assert all(m["type"] == "ris_subscribe" and m["data"]["moreSpecific"] for m in subscribed)


def test_live_survives_the_recorded_sample_stream_and_reports_its_malformed_line(replay, tmp_path):
    lines = RISLIVE_STREAM.read_text().splitlines()
    server = replay(lines, close_at_end=True)
    result = _live(server.url, "--prefix", "45.161.192.0/24", "--duration", "3", "--settle", "0.5",
                   "--out", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("malformed frame") == 1
    assert "JSONDecodeError" in result.stderr
    assert "ris_error: this is a test error message" in result.stderr
    assert f"live: {len(lines)} frames, 3 elements, 0 events, 1 malformed, 1 ris_error" in result.stderr
    assert server.sent == len(lines) and len(server.connections) >= 2  # it came back after the close
    assert read_event_log(tmp_path).empty


def test_live_without_targets_or_with_a_bad_url_is_a_usage_error():
    runner = CliRunner()
    assert runner.invoke(cli, ["live"]).exit_code == 2
    bad = runner.invoke(cli, ["live", "--prefix", "192.0.2.0/24", "--url", "https://example.invalid/"])
    assert bad.exit_code == 2 and "websocket URL" in bad.output


def test_live_without_websockets_says_how_to_install_it():
    code = (
        "import sys; sys.modules['websockets'] = None\n"
        "sys.argv = ['anystab', 'live', '--prefix', '192.0.2.0/24']\n"
        "from anystab.cli.main import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "pip install 'anystab[live]'" in result.stderr


def _events() -> pd.DataFrame:
    row = {"time": pd.Timestamp("2025-06-02T00:05:00Z"), "collector": "rrc01", "peer_asn": 64501,
           "peer_ip": "198.51.100.1", "target": "192.0.2.0/24", "kind": "switch", "old_site": "ams",
           "new_site": "sin", "old_path": "1 2", "new_path": "1 3", "old_origin": "2", "new_origin": "3",
           "across_gap": False}  # fmt: skip
    return pd.DataFrame([row, {**row, "kind": "restore", "old_site": None}])


@pytest.mark.parametrize("terminal", [True, False])
def test_events_show_as_a_live_table_on_a_terminal_and_as_lines_into_a_pipe(terminal):
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=160)
    with TerminalSink(console, as_json=False, quiet=True) as sink:
        sink.events(_events())
    text = out.getvalue()
    assert "switch" in text and "restore" in text and "198.51.100.1" in text
    assert ("latest events" in text) is terminal
    if not terminal:
        assert text.splitlines()[1].split()[-2:] == ["-", "sin"]


def test_event_records_are_json_ready():
    (first, second) = event_records(_events())
    assert first["time"] == "2025-06-02T00:05:00Z" and second["old_site"] is None
    assert json.loads(json.dumps(first))["peer_asn"] == 64501


REPLAY_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "rislive" / "ris-live-stream.jsonl"


def _replay(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", ENTRY, "live", "--replay", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_gzipped_recording_replays_to_the_events_analyze_finds(tmp_path):
    frames, expected = _scenario_frames(tmp_path)
    damaged, _ = _with_damage(frames)
    recording = tmp_path / "stream.jsonl.gz"
    recording.write_bytes(gzip.compress(("\n".join(damaged) + "\n").encode()))
    out = tmp_path / "live"
    result = _replay(recording, *TARGET_ARGS, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    got = read_event_log(out).sort_values(KEY, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert len(result.stdout.splitlines()) == len(expected)
    assert "malformed frame" in result.stderr and "simulated error" in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"live: {len(damaged)} frames, ") and f"{len(expected)} events" in last


def test_the_sample_recording_replays_with_its_notices(tmp_path):
    result = _replay(REPLAY_SAMPLE, "--prefix", "45.161.192.0/23")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "live: 7 frames, 3 elements, 0 events, 1 malformed, 1 ris_error, 0 disconnections"
    )
    docs = (Path(__file__).resolve().parents[2] / "docs" / "live.md").read_text()
    assert "\n".join(f"    {line}" for line in result.stderr.splitlines()) in docs  # the example is this run
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(REPLAY_SAMPLE.read_bytes())[:-20])
    result = _replay(cut, "--prefix", "45.161.192.0/23")
    assert result.returncode == 0
    assert f"ended: {cut} ends early after" in result.stderr and "Traceback" not in result.stderr


def test_replay_and_url_together_are_a_usage_error():
    result = _replay(REPLAY_SAMPLE, "--prefix", "45.161.192.0/23", "--url", "ws://127.0.0.1:9/")
    assert result.returncode == 2 and "--replay reads a recording: leave out --url" in result.stderr
