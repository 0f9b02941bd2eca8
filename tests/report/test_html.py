"""The report page and its parts, without a browser: ordering, formatting, figures, results folders."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from anystab.errors import BadInputError, SourceUnavailableError
from anystab.report import plots
from anystab.report.html import (
    human_duration,
    load_plots,
    read_results,
    render_html,
    site_sequence,
    vp_order,
)

T0 = pd.Timestamp("2025-06-02T00:00:00Z")


def _at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def test_twenty_distinct_site_colours_then_other():
    sites = [f"s{i:02d}" for i in range(23)]
    colours = plots.site_colours(sites)
    first = [colours[s] for s in sites[:20]]
    assert len(set(first)) == 20
    assert plots.UNROUTED_COLOUR not in first and plots.OTHER_COLOUR not in first
    assert {colours[s] for s in sites[20:]} == {plots.OTHER_COLOUR}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0.4 s"), (45, "45 s"), (60, "1 min"), (1300, "21 min 40 s"), (4500, "1 h 15 min"),
     (86400 * 2 + 3600 * 3 + 7, "2 d 3 h"), (None, "–")],
)  # fmt: skip
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def _events(rows: list[tuple[float, str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"time": _at(t), "kind": k, "old_site": o, "new_site": n} for t, k, o, n in rows],
        columns=["time", "kind", "old_site", "new_site"],
    )


def test_site_sequence_follows_time_and_marks_unrouted():
    ev = _events([(30, "restore", None, "iad"), (10, "switch", "ams", "sin"), (20, "withdraw", "sin", None),
                  (25, "path_change", "sin", "sin")])  # fmt: skip
    assert site_sequence(ev) == "ams → sin → ∅ → iad"


def test_site_sequence_elides_a_long_history():
    ev = _events([(i, "switch", "a" if i % 2 else "b", "b" if i % 2 else "a") for i in range(1, 13)])
    text = site_sequence(ev, steps=4)
    assert text.count("→") == 5 and text.endswith("(8 more)")
    assert site_sequence(ev.iloc[:0]) == ""


def _vp_stats(rows: list[tuple[str, int, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"collector": c, "peer_asn": asn, "peer_ip": "192.0.2.1", "switches": s, "withdraws": w,
             "switches_raw": raw, "withdraws_raw": w, "path_changes": 0}
            for c, asn, s, w, raw in rows
        ]
    )  # fmt: skip


def test_vp_order_puts_the_least_stable_first():
    rows = [(1, 0, 0, 0), (2, 1, 1, 1), (3, 0, 0, 5), (4, 3, 0, 3), (5, 1, 1, 1)]
    df = _vp_stats([("rrc00", *r) for r in rows])
    assert list(vp_order(df)["peer_asn"]) == [4, 2, 5, 3, 1]


@pytest.mark.parametrize(("window_s", "size"), [(60, 1), (4500, 60), (86400, 900), (7 * 86400, 10800)])
def test_bin_seconds_gives_at_most_max_bins(window_s, size):
    assert plots.bin_seconds(window_s) == size
    assert window_s / size <= plots.MAX_BINS


def test_event_counts_bins_every_kind():
    ev = _events([(5, "switch", "a", "b"), (65, "switch", "b", "a"), (70, "withdraw", "a", None),
                  (119, "restore", None, "a"), (80, "path_change", "a", "a")])  # fmt: skip
    w0 = T0.timestamp()
    counts, size = plots.event_counts(ev, (w0, w0 + 120))
    assert size == 1 and len(counts) == 120
    assert counts.sum().to_dict() == {"switch": 2, "withdraw": 1, "restore": 1}
    assert counts.loc[w0 + 65, "switch"] == 1 and counts.loc[w0 + 119, "restore"] == 1


def test_share_matrix_stacks_to_one_and_is_zero_where_nothing_is_routed():
    share = pd.DataFrame(
        [(_at(0), _at(10), "ams", 0.75), (_at(0), _at(10), "sin", 0.25), (_at(10), _at(20), "ams", 1.0),
         (_at(30), _at(40), "gru", 1.0)],
        columns=["start", "end", "site", "share"],
    )  # fmt: skip
    wide = plots.share_matrix(share, ["ams", "sin"])
    assert list(wide.columns) == ["ams", "sin", plots.OTHER_SITES]
    assert list(wide.index) == [_at(t) for t in (0, 10, 20, 30, 40)]
    assert list(wide.sum(axis=1)) == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert wide.loc[_at(30), plots.OTHER_SITES] == 1.0


def test_figures_use_the_page_colours_not_fixed_ones(sample_dir):
    html = render_html(*read_results(sample_dir))
    assert html.count("<svg") == 8  # four figures for each of the two targets
    assert "var(--fg)" in html and "var(--grid)" in html
    for placeholder in plots.CSS_VARS:
        assert placeholder not in html.lower()


def test_page_is_self_contained_and_deterministic(sample_dir):
    tables, summary = read_results(sample_dir)
    html = render_html(tables, summary)
    assert html == render_html(tables, summary)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html.lower()
    fetched = re.findall(r'(?:src|href)\s*=\s*"([^"#][^"]*)"', html)
    assert fetched == []


def test_timeline_shows_the_least_stable_and_says_how_many(busy_dir):
    tables, summary = read_results(busy_dir)
    html = render_html(tables, summary, max_vps=5)
    assert "Showing the 5 least stable of 80 vantage points" in html
    order = vp_order(tables["vp_stats"])
    timeline_svg = html.split("Where each vantage point was routed", 1)[1].split("</svg>", 1)[0]
    labels = [f"{r.collector} AS{r.peer_asn} {r.peer_ip}" for r in order.itertuples()]
    assert all(label in timeline_svg for label in labels[:5])
    assert not any(f">{label}<" in timeline_svg for label in labels[5:])
    assert "Showing the 60 least stable of 80 vantage points" in render_html(tables, summary)


def test_site_names_and_paths_are_escaped(sample_dir):
    tables, summary = read_results(sample_dir)
    evil = "<img src=x onerror=alert(1)>&"
    tables = {**tables, "timeline": tables["timeline"].replace({"site": {"ams": evil}})}
    tables["events"] = tables["events"].replace({"old_site": {"ams": evil}, "new_site": {"ams": evil}})
    summary = {
        **summary,
        "sites": [{**s, "site": evil if s["site"] == "ams" else s["site"]} for s in summary["sites"]],
    }
    html = render_html(tables, summary)
    assert evil not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;" in html


def test_a_folder_without_manifest_is_refused(tmp_path):
    with pytest.raises(BadInputError, match="no manifest.json"):
        read_results(tmp_path)


def test_an_incomplete_results_folder_is_refused(sample_dir, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(sample_dir, copy)
    (copy / "site_share.parquet").unlink()
    with pytest.raises(BadInputError, match="no site_share.parquet"):
        read_results(copy)


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch):
    import anystab.report

    monkeypatch.delitem(sys.modules, "anystab.report.plots")
    monkeypatch.delattr(anystab.report, "plots")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    with pytest.raises(SourceUnavailableError, match=r"pip install 'anystab\[report\]'"):
        load_plots()


def test_results_folder_round_trip_keeps_the_summary(sample_dir: Path):
    tables, summary = read_results(sample_dir)
    assert summary["vantage_points"] == len(
        tables["vp_stats"].drop_duplicates(["collector", "peer_asn", "peer_ip"])
    )
