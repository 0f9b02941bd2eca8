"""``anystab analyze`` on real RIS files as a new user runs it: every empty or thin result says why, in the
terminal report, in ``--json`` and in the HTML report; a RIB dump alone is a snapshot of the sites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from anystab.cli.main import cli

MRT = Path(__file__).resolve().parents[1] / "data" / "mrt"
ET_HEADER = str(MRT / "ris.updates.et-header.2015.gz")  # a peer comes up and sends its table
BEACONS = str(MRT / "ris.updates.20160811.1600.gz")  # RIS beacons announced at 16:00
BVIEW = str(MRT / "ris.bview.20020722.2337.gz")
ANYCAST = ["8.8.8.0/24", "208.67.222.0/24", "199.7.83.0/24", "199.7.91.0/24", "202.12.27.0/24"]


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args), env={"COLUMNS": "100"})
    return r.exit_code, r.stdout, r.stderr


def prefixes(*targets: str) -> list[str]:
    return [a for t in targets for a in ("--prefix", t)]


def summary(*args: str) -> dict:
    code, out, err = run("analyze", *args, "--json", "-q", "--jobs", "1")
    assert code == 0, err
    return json.loads(out)


def test_a_peer_coming_up_in_a_short_file_is_explained_with_the_option_that_changes_it():
    s = summary(ET_HEADER, "--collector", "rrc99", *prefixes(*ANYCAST))
    assert s["vantage_points"] == 0
    (left,) = s["coverage"]["left_out"]
    assert (left["reason"], left["vps"]) == ("session", 1)
    assert s["notes"] == [
        "1 VP unobserved: session down or re-sync for the whole window (--resync 300 s); "
        "try --resync 0 for a short window"
    ]
    code, out, _ = run("analyze", ET_HEADER, "--collector", "rrc99", *prefixes(*ANYCAST), "-q", "--jobs", "1")
    assert code == 0
    assert "session down or re-sync for the whole window (--resync 300 s)" in " ".join(out.split())
    again = summary(ET_HEADER, "--collector", "rrc99", *prefixes(*ANYCAST), "--resync", "0")
    assert again["vantage_points"] == 1 and again["notes"] == []


def test_beacons_count_partial_feeds_and_vps_with_only_state_changes():
    beacons = ("84.205.64.0/24", "2001:7fb:fe00::/48", "84.205.65.0/24", "10.0.0.0/24")
    s = summary(BEACONS, "--collector", "rrc00", *prefixes(*beacons))
    cov = s["coverage"]
    assert (cov["vps_with_elements"], cov["vps_counted"]) == (40, 35)
    assert [(e["reason"], e["vps"]) for e in cov["left_out"]] == [("no_route", 5)]
    assert cov["targets"] == [
        {"target": "84.205.64.0/24", "vps": 19, "partial_feed": 0, "other_family": 16},
        {"target": "2001:7fb:fe00::/48", "vps": 17, "partial_feed": 0, "other_family": 18},
        {"target": "84.205.65.0/24", "vps": 18, "partial_feed": 1, "other_family": 16},
        {"target": "10.0.0.0/24", "vps": 0, "partial_feed": 19, "other_family": 16},
    ]
    assert s["notes"] == [
        "5 VPs sent only session state changes, no route for any target",
        "84.205.65.0/24: 18 of the 19 VPs of its address family; 1 sent no route for it (partial feeds)",
        "10.0.0.0/24: no VP counted; none of the 35 VPs counted sent a route for it",
    ]


def test_a_rib_dump_alone_shows_the_sites_at_its_time():
    targets = prefixes("193.0.14.0/24", "198.41.0.0/24")
    s = summary(BVIEW, "--collector", "rrc00", *targets, "--end", "2002-07-23T00:00:00Z")
    assert s["vantage_points"] == 2
    assert s["coverage"]["snapshots"] == [{"collector": "rrc00", "time": "2002-07-22T23:37:35Z"}]
    shares = {(r["target"], r["site"]): r["share"] for r in s["sites"] if r["scope"] == "all"}
    assert shares == {
        ("193.0.14.0/24", "3257 5459"): 0.5,
        ("193.0.14.0/24", "786 5459"): 0.5,
        ("198.41.0.0/24", "1239 11840"): 1.0,
    }
    assert {(c["target"], c["vps"], c["sites"]) for c in s["collectors"]} == {
        ("193.0.14.0/24", 2, 2),
        ("198.41.0.0/24", 1, 1),
    }
    assert all(e["mean_p"] is None for e in s["estimates"])
    assert "a RIB dump alone" in s["notes"][0]
    code, _, err = run("analyze", BVIEW, "--collector", "rrc00", *targets, "--json")
    assert code == 1 and "name --end to analyse RIB dumps alone" in err


def test_html_report_says_why(tmp_path: Path):
    pytest.importorskip("matplotlib")
    html = tmp_path / "r.html"
    code, _, err = run(
        "analyze",
        ET_HEADER,
        "--collector",
        "rrc99",
        *prefixes(*ANYCAST),
        "-q",
        "--jobs",
        "1",
        "--html",
        str(html),
    )
    assert code == 0, err
    text = html.read_text()
    assert "Why some data is not counted" in text
    assert "session down or re-sync for the whole window (--resync 300 s)" in text


def test_a_window_outside_the_data_is_an_error_naming_the_data(tmp_path: Path):
    code, out, err = run(
        "analyze", ET_HEADER, "--collector", "rrc99", "--prefix", "8.8.8.0/24",
        "--start", "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert "is outside the data: the files read cover 2015-10-23T02:01:18Z .. 2015-10-23T02:01:55Z" in err


def test_unreadable_inputs_are_named_each_with_its_reason(tmp_path: Path):
    empty = tmp_path / "updates.20200101.0000.gz"
    empty.write_bytes(b"")
    text = tmp_path / "updates.20200101.0005.gz"
    text.write_text("not MRT at all\n")
    code, _, err = run("analyze", str(empty), str(text), "--collector", "rrc00", "--prefix", "8.8.8.0/24")
    assert code == 1
    assert f"{empty} (empty file: no MRT records)" in err
    assert f"{text} (not an MRT file)" in err
    assert "Traceback" not in err
