"""The report in a real headless Chromium: it loads without console errors or network requests, in light and
dark themes, its screenshot is not blank, and its sections and numbers agree with the parquet tables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.browser import Chromium
from support.needs import need_chromium

from anystab.report.html import read_results, write_html

SECTIONS = (
    "Limits.", "Session-break probability", "Where each vantage point was routed", "Catchment share",
    "Switches over time", "Least stable vantage points", "Per collector",
)  # fmt: skip
MIN_PIXEL_STD = 20.0
MIN_COLOURS = 40
NUMBER = re.compile(r"\d+\.\d+|\d+")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    browser = Chromium(need_chromium())
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def pages(results_dir: Path, chromium: Chromium, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report of each results folder, loaded in the light and in the dark theme."""
    report = write_html(tmp_path_factory.mktemp("html") / "report.html", *read_results(results_dir))
    return {"report": report, "light": chromium.load(report), "dark": chromium.load(report, dark=True)}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_loads_without_errors_or_network(pages, theme):
    page = pages[theme]
    assert page.errors == []
    assert page.requests == [pages["report"].resolve().as_uri()]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_is_not_blank_and_follows_the_theme(pages, theme):
    shot = pages[theme].screenshot
    assert shot.shape[0] > 1000 and shot.shape[1] > 1000
    assert shot.std() > MIN_PIXEL_STD
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > MIN_COLOURS
    corner = shot[:8, :8].mean()
    assert corner > 240 if theme == "light" else corner < 40
    assert pages[theme].background == ("rgb(255, 255, 255)" if theme == "light" else "rgb(22, 24, 27)")


def test_sections_are_present(pages, results_dir):
    text = pages["light"].text
    summary = json.loads((results_dir / "manifest.json").read_text())["summary"]
    for target in summary["parameters"]["targets"]:
        assert target["prefix"] in text
    for heading in SECTIONS:
        assert text.count(heading) >= 1, heading
    assert text.count("Where each vantage point was routed") == len(summary["parameters"]["targets"])


def test_header_numbers_agree_with_the_run(pages, results_dir):
    text = pages["light"].text
    s = json.loads((results_dir / "manifest.json").read_text())["summary"]
    r = s["read"]
    assert f"{r['files']} files" in text
    assert (
        f"{r['records']:,} MRT records, {r['elements']:,} elements kept; {s['vantage_points']} vantage points"
        in text
    )
    assert f"{r['skipped']:,} records or bytes skipped ({r['problems_total']} problems)" in text
    assert "2025-06-02 00:00:00 UTC → " in text


def _close(shown: str, value: float) -> bool:
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown) - value) <= 0.5 * 10**-decimals + 1e-12


def test_every_estimate_is_shown_as_in_estimates_parquet(pages, results_dir):
    est = pd.read_parquet(results_dir / "estimates.parquet")
    cells = {(c["target"], c["scope"], float(c["session"])): c["text"] for c in pages["light"].cells}
    assert len(cells) == len(est)
    for row in est.itertuples():
        text = cells[(row.target, row.scope, row.session_s)]
        if pd.isna(row.mean_p):
            assert text.strip() == "–"
            continue
        mean, low, high, model, vps = NUMBER.findall(text)
        assert _close(mean, row.mean_p) and _close(low, row.ci_low) and _close(high, row.ci_high), text
        assert _close(model, row.poisson_mean_p), text
        assert int(vps) == row.vps_defined


def test_least_stable_table_matches_vp_stats(pages, results_dir):
    vp = pd.read_parquet(results_dir / "vp_stats.parquet")
    worst = vp.assign(b=vp["switches"] + vp["withdraws"]).sort_values("b", ascending=False).iloc[0]
    line = next(x for x in pages["light"].text.splitlines() if f"\t{worst['peer_ip']}\t" in x)
    cells = line.split("\t")
    assert cells[0] == worst["collector"] and cells[1] == f"AS{worst['peer_asn']}"
    assert cells[3:6] == [str(worst["b"]), str(worst["switches"]), str(worst["withdraws"])]


def test_the_harness_sees_console_errors_and_requests(chromium, tmp_path):
    """A control page: the checks above would catch a script error and a fetch."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>x</p><img src="http://127.0.0.1:9/none.png">'
        '<script>console.error("broken"); undefinedFunction();</script></body></html>'
    )
    loaded = chromium.load(page)
    assert any("broken" in e for e in loaded.errors)
    assert any("undefinedFunction" in e for e in loaded.errors)
    assert "http://127.0.0.1:9/none.png" in loaded.requests
