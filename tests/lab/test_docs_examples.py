"""docs/lab.md "Testing your own settings": the commands, pasted as written, give the switches the page
promises (run on the committed lab run, copied to where the page's ``anystab lab run /tmp/lab`` writes)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from click.testing import CliRunner

from anystab.cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lab.md"


def _commands() -> list[str]:
    text = DOCS.read_text()
    section = text[text.index("## Testing your own settings") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_pasted_commands_give_the_promised_switches(lab_copy: Path) -> None:
    counts = []
    for line in _commands():
        line = line.replace("/tmp/lab", str(lab_copy))
        if line.startswith("sed "):
            subprocess.run(line, shell=True, check=True)
            continue
        args = shlex.split(line)
        assert args[:2] == ["anystab", "analyze"]
        r = CliRunner().invoke(cli, [*args[1:], "--json", "-q"])
        assert r.exit_code == 0, r.stderr
        events = json.loads(r.stdout)["events"]
        counts.append((events["switches"], events["switches_before_filter"]))
    # named sites, merged A/B, --site-by origin, --site-by path, --min-dwell 5s (docs/lab.md)
    assert counts == [(7, 7), (4, 4), (4, 4), (12, 12), (0, 7)]


def test_with_the_default_resync_the_report_says_why_nothing_is_counted(lab_copy: Path) -> None:
    first = _commands()[0].replace("/tmp/lab", str(lab_copy)).replace(" --resync 2", "")
    r = CliRunner().invoke(cli, [*shlex.split(first)[1:], "--json", "-q"])
    s = json.loads(r.stdout)
    assert s["vantage_points"] == 0
    assert s["notes"][0].startswith("2 VPs unobserved: session down or re-sync for the whole window")
