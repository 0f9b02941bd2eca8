"""Every terminal report at 80, 100 and 160 columns: no number cut to "…", every number of the JSON shown.

The reports are rendered as users get them: ``anystab analyze`` and ``anystab collectors`` into a pipe with
``COLUMNS`` set, and the live table on a terminal of that width.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from anystab.cli.live import TerminalSink
from anystab.cli.main import cli
from anystab.report.terminal import fmt_duration, fmt_pct

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
SERVICE = str(DATA / "service.toml")
WIDTHS = (80, 100, 160)
BORDERS = re.compile(r"[│┃┏┓┗┛┡┩┠┨┯┷┳┻╇╋━─┌┐└┘├┤┬┴┼]")


def _run(width: int, *args: str) -> str:
    r = CliRunner(env={"COLUMNS": str(width)}).invoke(cli, list(args))
    assert r.exit_code == 0, r.stderr
    return r.stdout


def _words(text: str) -> set[str]:
    """Every word of the text, table borders taken out."""
    return set(BORDERS.sub(" ", text).split())


def _report_numbers(s: dict) -> set[str]:
    """The numbers of the JSON summary, as the report writes them."""
    words = {str(s["vantage_points"]), str(s["read"]["files"]), f"{s['read']['records']:,}"}
    words |= {f"{n}" for n in s["events"].values()}
    for e in s["estimates"]:
        words |= {str(e["vps"]), fmt_pct(e["share_with_break"]), fmt_duration(e["session_s"])}
        if e["mean_p"] is not None:
            words |= {fmt_pct(e["mean_p"]), f"{fmt_pct(e['ci_low'])}–{fmt_pct(e['ci_high'])}"}
        if e["session_s"] == 3600.0:
            words.add(fmt_pct(e["poisson_mean_p"]))
        if e["breaks_per_vp_day"] is not None:
            words.add(f"{e['breaks_per_vp_day']:.2f}")
    words |= {f"{r['share']:.1%}" for r in s["sites"] if r["scope"] == "all"}
    for r in s["least_stable"]:
        words |= {r["collector"], f"AS{r['peer_asn']}", r["peer_ip"], r["target"]}
        words |= {str(r[k]) for k in ("breaks", "switches", "switches_raw", "sites")}
    for r in s["collectors"]:
        words |= {r["collector"], r["target"]}
        words |= {str(r[k]) for k in ("vps", "sites", "switches", "origin_changes", "path_changes")}
    return words


@pytest.fixture(scope="module")
def summary() -> dict:
    return json.loads(_run(160, "analyze", str(DATA), "--service", SERVICE, "--json", "--jobs", "1"))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_analysis_report_shows_every_number_whole(summary, width):
    text = _run(width, "analyze", str(DATA), "--service", SERVICE, "--jobs", "1")
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    missing = _report_numbers(summary) - _words(text)
    assert not missing, f"at {width} columns the report lacks {sorted(missing)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_collectors_show_every_url_whole(width):
    rows = json.loads(_run(width, "collectors", "--json"))
    text = _run(width, "collectors")
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    words = _words(text)
    missing = [v for r in rows for v in (r["url"], r["collector"]) if v not in words]
    assert not missing


def test_pipe_output_is_120_columns_when_columns_is_unset():
    args = ["analyze", str(DATA), "--service", SERVICE, "--jobs", "1"]
    r = CliRunner(env={"COLUMNS": None}).invoke(cli, args)
    assert max(len(line) for line in r.stdout.splitlines()) == 120


def _events() -> pd.DataFrame:
    row = {"time": pd.Timestamp("2025-06-02T00:05:00.123456789Z"), "collector": "route-views.linx",
           "peer_asn": 4200000007, "peer_ip": "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe",
           "target": "2001:db8:53::/48", "kind": "switch", "old_site": "64510 64511",
           "new_site": "sin"}  # fmt: skip
    return pd.DataFrame([row, {**row, "kind": "restore", "old_site": None, "peer_asn": 64501}])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_live_table_shows_every_value_whole(width):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system=None)
    with TerminalSink(console, as_json=False, quiet=True) as sink:
        sink.events(_events())
    text = out.getvalue()
    assert "…" not in text
    words = _words(text)
    expected = {"2025-06-02T00:05:00.123Z", "route-views.linx", "4200000007", "64501", "switch", "restore"}
    expected |= {"2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "2001:db8:53::/48", "64510", "64511", "sin"}
    assert expected <= words, expected - words


def test_live_lines_into_a_pipe_are_one_an_event_however_narrow():
    out = io.StringIO()
    with TerminalSink(Console(file=out, width=80), as_json=False, quiet=True) as sink:
        sink.events(_events())
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(
        line.startswith("2025-06-02T00:05:00.123Z  route-views.linx") for line in lines
    )
    assert all("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe" in line for line in lines)
