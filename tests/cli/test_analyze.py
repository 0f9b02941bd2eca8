"""``anystab analyze`` as a user runs it: on the sample archive, on damaged files, with bad options."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anystab import schemas
from anystab.cli import main
from anystab.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MRT_DIR = ROOT / "tests" / "data" / "mrt"
SERVICE = str(DATA / "service.toml")


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def sample_json() -> dict:
    code, out, err = run("analyze", str(DATA), "--service", SERVICE, "--json", "--jobs", "1")
    assert code == 0, err
    return json.loads(out)


def test_json_summary_of_the_sample(sample_json):
    s = sample_json
    assert s["read"]["files"] == 22 and s["read"]["collectors"] == ["route-views.linx", "rrc00"]
    assert s["read"]["skipped"] == 0
    assert s["events"]["switches"] == 44 and s["events"]["withdraws"] == 4
    est = {(e["scope"], e["target"], e["session_s"]): e for e in s["estimates"]}
    hour = est[("all", "192.0.2.0/24", 3600.0)]
    assert 0 < hour["ci_low"] <= hour["mean_p"] <= hour["ci_high"] <= 1
    assert est[("all", "192.0.2.0/24", 86400.0)]["mean_p"] is None  # the window is shorter than a day
    assert {r["site"] for r in s["sites"]} >= {"ams", "sin", "iad", "gru"}


def test_terminal_report_of_the_sample():
    code, out, _ = run("analyze", str(DATA), "--service", SERVICE, "--jobs", "1")
    assert code == 0
    for text in ("Read", "P(a TCP session to 192.0.2.0/24 breaks)", "Least stable", "Per collector", "ams"):
        assert text in out


def test_out_writes_every_table_with_its_schema(tmp_path):
    out = tmp_path / "results"
    code, _, _ = run("analyze", str(DATA), "--service", SERVICE, "--out", str(out), "--quiet")
    assert code == 0
    for name, schema in schemas.TABLES.items():
        table = pq.read_table(out / f"{name}.parquet")
        assert table.schema.equals(schema, check_metadata=False), name
        assert table.schema.metadata[b"anystab.schema_version"] == schemas.SCHEMA_VERSION.encode()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == schemas.SCHEMA_VERSION
    assert pq.read_table(out / "events.parquet").num_rows > 0
    # a second run replaces the folder whole
    code, _, _ = run(
        "analyze", str(DATA), "--service", SERVICE, "--out", str(out), "--quiet", "--min-dwell", "60"
    )
    assert code == 0
    assert json.loads((out / "manifest.json").read_text())["summary"]["parameters"]["min_dwell_s"] == 60
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_out_refuses_a_folder_that_is_not_ours(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    code, _, err = run("analyze", str(DATA), "--service", SERVICE, "--out", str(tmp_path))
    assert code == 2 and "not an anystab output folder" in err  # a bad --out, refused before the work
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_prefix_and_address_options(tmp_path):
    code, out, _ = run("analyze", str(DATA), "--prefix", "192.0.2.0/24", "--address", "192.0.2.53", "--json")
    assert code == 0
    s = json.loads(out)
    assert s["parameters"]["targets"] == [{"prefix": "192.0.2.0/24", "address": "192.0.2.53"}]
    assert s["parameters"]["site_by"] == "upstream"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "192.0.2.1/24"], "not a valid IP prefix"),
        (["--prefix", "banana"], "not a valid IP prefix"),
        (["--prefix", "192.0.2.0/24", "--start", "yesterday"], "not a time"),
        (["--prefix", "192.0.2.0/24", "--sessions", "1h,soon"], "not a duration"),
        (["--prefix", "192.0.2.0/24", "--min-dwell", "-3"], "not a duration"),
        (["--prefix", "192.0.2.0/24", "--site-by", "best"], "best"),
        (["--prefix", "192.0.2.0/24", "--address", "10.0.0.1"], "inside no --prefix"),
        (["--prefix", "192.0.2.0/24", "--jobs", "-1"], "--jobs"),
        ([], "--prefix or --service"),
    ],
)
def test_bad_options_are_usage_errors(args, message):
    code, _, err = run("analyze", str(DATA), *args)
    assert code == 2, err
    assert message in err


def test_missing_source_is_a_usage_error():
    code, _, err = run("analyze", "/nonexistent/folder", "--prefix", "192.0.2.0/24")
    assert code == 2 and "does not exist" in err


def test_window_with_end_before_start_is_an_error():
    code, _, err = run(
        "analyze",
        str(DATA),
        "--service",
        SERVICE,
        "--start",
        "2025-06-02T01:00:00Z",
        "--end",
        "2025-06-02T00:00:00Z",
    )
    assert code == 1 and "end must be after" in err


def test_community_strategy_needs_a_map():
    code, _, err = run("analyze", str(DATA), "--prefix", "192.0.2.0/24", "--site-by", "community")
    assert code == 1 and "communities" in err


def _damaged_archive(tmp_path: Path) -> Path:
    src = tmp_path / "rrc00"
    shutil.copytree(DATA / "rrc00", src)
    files = sorted(src.rglob("updates.*.gz"))
    raw = gzip.decompress(files[3].read_bytes())
    files[3].write_bytes(gzip.compress(raw)[: len(gzip.compress(raw)) // 2])  # truncated gzip
    files[5].write_bytes(b"")  # empty file
    (src / "2025.06" / "notes.bin").write_bytes(b"this is not an MRT file at all, just text\n" * 10)
    return tmp_path


def test_damaged_files_are_reported_and_the_rest_analysed(tmp_path):
    root = _damaged_archive(tmp_path)
    code, out, _ = run("analyze", str(root), "--service", SERVICE, "--json")
    assert code == 0
    s = json.loads(out)
    reasons = " ".join(p["reason"] for p in s["read"]["problems"])
    assert "truncated" in reasons and "not an MRT file" in reasons
    assert all(p["path"] for p in s["read"]["problems"])
    assert s["read"]["skipped"] > 0
    assert s["events"]["switches"] > 0
    code, _, err = run("analyze", str(root), "--service", SERVICE, "--strict", "--quiet")
    assert code == 1 and "--strict" in err


def test_real_ris_file_with_a_peer_coming_up():
    """The peer's session comes up and it sends its table: within the resync period that is no change."""
    args = [
        "analyze",
        str(MRT_DIR / "ris.updates.et-header.2015.gz"),
        "--prefix",
        "8.8.8.0/24",
        "--prefix",
        "208.67.222.0/24",
        "--collector",
        "rrc00",
        "--json",
    ]
    code, out, _ = run(*args)
    assert code == 0
    s = json.loads(out)
    assert s["read"]["elements"] > 0
    assert s["vantage_points"] == 0  # still re-sending its table when the file ends
    code, out, _ = run(*args, "--resync", "0")
    s = json.loads(out)
    assert s["vantage_points"] == 1 and s["events"]["switches"] == 0


def test_json_stdout_is_clean_and_pipe_closing_is_not_a_crash():
    cmd = [
        sys.executable,
        "-c",
        "from anystab.cli.main import main; main()",
        "analyze",
        str(DATA),
        "--service",
        SERVICE,
        "--json",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    json.loads(r.stdout)
    p = subprocess.Popen(
        cmd[:5] + [str(DATA), "--service", SERVICE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert p.stdout is not None
    p.stdout.close()
    _, err = p.communicate(timeout=120)
    assert b"Traceback" not in err


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": {}, "b": [], "c": [[]]},
        [1, [2, [3, {}]], "x"],
        {"rows": [{"a": 1, "b": None, "c": 1.5e16, "d": float("nan"), "e": 'é"\n\t', "f": True, "g": -0.0}]},
        {1: 2, None: 3, 2.5: [1], False: {"k": (1, 2)}, "a:b": [{}]},
        # lists of records (one key order, scalar values) are written a column at a time
        {
            "rows": [
                {"a": 1, "b": "x, y", "c%": None},
                {"a": 2.5, "b": None, "c%": "%s"},
                {"a": True, "b": "é\u2028", "c%": -0.0},
            ]
        },
        [{"a": float("inf"), "b": "p"}, {"a": -(10**20), "b": "q"}, {"a": float("-inf"), "b": ""}],
        [{"a": 1, "b": 2}, {"b": 2, "a": 1}],
        [{"a": [1]}, {"a": {"b": None}}, {"a": (1, 2)}],
        [{"a": 1}, {}, {"a": 2}],
        [{"x": 1, "y": "1"}, {"x": "1", "y": 1}],
        "text",
        3,
        None,
    ],
)
@pytest.mark.parametrize("indent", [1, 2, 4])
def test_summary_json_text_is_pythons(value, indent: int) -> None:
    """The summary's JSON (written by a faster encoder) is exactly ``json.dumps(value, indent=...)``."""
    from anystab.output import dumps_indented

    assert dumps_indented(value, indent) == json.dumps(value, indent=indent)


def test_records_written_in_parts_are_pythons(monkeypatch) -> None:
    """Long lists of records are written some records at a time; the parts join into Python's text, and a
    record that is not flat in a later part still sends the whole list the slow way."""
    from anystab import output

    monkeypatch.setattr(output, "RECORDS_AT_ONCE", 2)
    rows = [{"a": k / 3, "b": None if k % 2 else f"t{k}"} for k in range(7)]
    assert output.dumps_indented({"rows": rows}) == json.dumps({"rows": rows}, indent=2)
    written = io.StringIO()
    output.write_indented({"rows": rows, "more": [rows, {}]}, written)
    assert written.getvalue() == json.dumps({"rows": rows, "more": [rows, {}]}, indent=2)
    rows[5] = {"a": [1.0], "b": "x"}
    assert output.dumps_indented({"rows": rows}) == json.dumps({"rows": rows}, indent=2)


_TEXTS = st.none() | st.text(max_size=4) | st.sampled_from(["all", 'a"b', "x, y", "%s", "\u00e9\u2028"])
_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, 10.0, 86400.0, 1e16, 1.5e16, 1e-7, 5e-324, 1 / 3, 2.0**53, -(2.0**63)]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(_TEXTS, _FLOATS, st.integers(-(2**63), 2**63 - 1), st.booleans(), _FLOATS),
        min_size=1,
        max_size=30,
    ),
    indent=st.sampled_from([1, 2, 4]),
    at_once=st.sampled_from([1, 3, 8192]),
)
def test_record_frames_are_written_as_their_records(rows, indent: int, at_once: int, monkeypatch) -> None:
    """A summary's records kept as a frame's columns are written as ``json.dumps`` writes the records:
    text (with missing values), floats (-0.0, NaN and infinities as null, integers as floats, exponents),
    64-bit integers, booleans, a float32 column, and a column of timestamps (written value by value)."""
    import pyarrow as pa

    from anystab import output
    from anystab.summary import RecordFrame, records

    monkeypatch.setattr(output, "RECORDS_AT_ONCE", at_once)
    text, floats, ints, flags, small = (list(c) for c in zip(*rows, strict=True))
    frame = pa.table(
        {
            "scope": pa.array(text, pa.string()),
            'mean "p"%': pa.array(floats, pa.float64()),
            "vps": pa.array(ints, pa.int64()),
            "defined": pa.array(flags, pa.bool_()),
            "small": pa.array([x if x != x or abs(x) < 1e38 else 0.0 for x in small], pa.float32()),
            "time": pa.array([abs(i) % 10**15 for i in ints], pa.timestamp("us", tz="UTC")),
        }
    ).to_pandas()
    value = {"n": 1, "rows": RecordFrame(frame), "after": [{"a": 1}]}
    listed = {"n": 1, "rows": records(frame), "after": [{"a": 1}]}
    assert output.dumps_indented(value, indent) == json.dumps(listed, indent=indent)
    assert output.dumps_indented(RecordFrame(frame.iloc[:0]), indent) == "[]"
    written = io.StringIO()  # what --json writes, a part at a time
    output.write_indented({"rows": [listed], "frames": [value, value]}, written, indent)
    assert written.getvalue() == json.dumps({"rows": [listed], "frames": [listed, listed]}, indent=indent)


def test_summary_with_record_frames_is_the_summarys_json() -> None:
    """The summary ``--json`` writes (its estimates and collectors as frames) is the text of the summary."""
    from anystab.output import dumps_indented
    from anystab.params import AnalysisParams
    from anystab.pipeline import AnalysisRequest, analyze
    from anystab.service import load_service
    from anystab.summary import RecordFrame
    from anystab.targets import target_set

    service = load_service(SERVICE)
    params = AnalysisParams(targets=target_set(service.targets), site_map=service.site_map)
    result = analyze(AnalysisRequest(sources=(str(DATA),), params=params, jobs=1))
    framed = result.summary(frames=True)
    assert isinstance(framed["estimates"], RecordFrame) and isinstance(framed["collectors"], RecordFrame)
    assert dumps_indented(framed) == json.dumps(result.summary(), indent=2)


def test_summary_json_of_the_sample_is_pythons(sample_json) -> None:
    code, out, _ = run("analyze", str(DATA), "--service", SERVICE, "--json", "--jobs", "1")
    assert code == 0 and out == json.dumps(sample_json, indent=2) + "\n"


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


MEMORY_CAP = 420 << 20  # above what the imports take, below what 776k elements take


def test_running_out_of_memory_is_one_line(tmp_path: Path) -> None:
    """A file of a million matching records under an address-space cap: one clear line, exit 1."""
    from anystab.generate.mrtwrite import Route, Update, write_repeated_update

    folder = tmp_path / "rrc99" / "2023.11"
    folder.mkdir(parents=True)
    route = Route("192.0.2.0/24", (64500, 64496), "198.51.100.1")
    update = Update(1_700_000_000_000_000, 64500, "198.51.100.1", announce=(route,))
    write_repeated_update(folder / "updates.20231114.2210.gz", update, 1_000_000, et=True)
    exe = Path(sys.executable).parent / "anystab"
    argv = [str(exe), "analyze", str(tmp_path), "--prefix", "192.0.2.0/24", "--json", "--jobs", "1"]
    proc = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_limit_memory, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"Error: {main.OUT_OF_MEMORY}"]


def test_service_min_dwell_as_a_duration_and_the_option_over_it(tmp_path):
    service = tmp_path / "service.toml"
    service.write_text(Path(SERVICE).read_text().replace('site_by = "upstream"', 'min_dwell = "1m"'))
    base = ["analyze", str(DATA / "rrc00"), "--service", str(service), "--json", "--jobs", "1"]
    code, out, err = run(*base)
    assert code == 0, err
    assert json.loads(out)["parameters"]["min_dwell_s"] == 60.0
    code, out, err = run(*base, "--min-dwell", "0", "--site-by", "origin")
    assert code == 0, err
    assert json.loads(out)["parameters"] | {"targets": None} == {
        "targets": None,
        "site_by": "origin",
        "min_dwell_s": 0.0,
        "sessions_s": [10.0, 60.0, 600.0, 3600.0, 86400.0],
        "resync_s": 300.0,
    }
