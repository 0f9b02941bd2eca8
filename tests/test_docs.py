"""Docs are tested: every command and option is documented, the schema page matches the code."""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from anystab import schemas
from anystab.cli.main import cli
from anystab.cli.options import EXIT_STATUS, MONITOR_EXIT_STATUS

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()


def _sections() -> dict[str, str]:
    parts = re.split(r"^## anystab (\S+)\s*$", CLI_DOC, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented(name):
    command = cli.commands[name]
    assert command.help, f"{name} has no help text"
    section = _sections().get(name)
    assert section is not None, f"docs/cli.md has no '## anystab {name}' section"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--"):
                    assert f"`{opt}" in section, f"{opt} of {name} is not in docs/cli.md"


def test_no_stale_commands_in_docs():
    assert set(_sections()) == set(cli.commands)


def test_schema_page_is_generated_from_code():
    text = (ROOT / "docs" / "schema.md").read_text()
    assert schemas.markdown() in text


def test_readme_quick_start_matches_ci():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1]
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", quick, flags=re.S)
    assert len(blocks) >= 2
    test_command = [line for line in blocks[1].splitlines() if line.strip() and not line.startswith("#")][-1]
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text()
    assert "anystab analyze data/" in blocks[0]


def _status_tables(text: str) -> list[dict[int, str]]:
    """Every ``| exit status | meaning |`` table of a page, as {status: meaning}."""
    tables = re.findall(r"^\| exit status \| meaning \|\n\| --- \| --- \|\n((?:\|.*\|\n)+)", text, flags=re.M)
    return [
        {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.*?) \|$", rows, flags=re.M)}
        for rows in tables
    ]


def _all_commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items() if isinstance(group, click.Group) else ():
        found += _all_commands(command, (*path, name))
    return found


def test_exit_status_tables_in_the_docs_are_the_codes():
    assert _status_tables(CLI_DOC) == [EXIT_STATUS, MONITOR_EXIT_STATUS]
    assert _status_tables(_sections()["monitor"]) == [MONITOR_EXIT_STATUS]


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "anystab")
def test_every_help_ends_with_the_exit_statuses_of_the_docs(path):
    r = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert r.exit_code == 0
    assert max(len(line) for line in r.output.splitlines()) <= 80  # readable in an 80-column terminal
    statuses = MONITOR_EXIT_STATUS if path == ("monitor",) else EXIT_STATUS
    lines = [line.strip() for line in r.output.split("Exit status:", 1)[1].strip().splitlines()]
    assert lines == [f"{code}  {meaning}" for code, meaning in statuses.items()]


def _status(*args: str) -> tuple[int, list[str]]:
    r = CliRunner().invoke(cli, list(args))
    assert isinstance(r.exception, SystemExit | None), r.exception
    return r.exit_code, r.stderr.strip().splitlines()


def test_exit_statuses_are_what_the_commands_do(tmp_path):
    """Each status of the table, caused as a user would cause it, with the one-line message the docs name."""
    data, service = str(ROOT / "data"), str(ROOT / "data" / "service.toml")
    not_mrt = tmp_path / "notes.txt"
    not_mrt.write_text("not MRT\n" * 100)
    assert _status("analyze", data, "--service", service, "--json", "-q")[0] == 0
    code, lines = _status("analyze", str(not_mrt), "--service", service, "-q", "--strict")
    assert code == 1 and len(lines) == 1
    code, lines = _status("analyze", "http://127.0.0.1:9/data/", "--service", service, "-q")
    assert (code, lines) == (1, [lines[0]]) and lines[0].startswith(
        "Error: cannot read URL: http://127.0.0.1:9"
    )
    assert "(`cannot read URL: ...`, exit 1)" in (ROOT / "docs" / "scale.md").read_text()
    code, lines = _status("analyze", str(tmp_path / "missing"), "--service", service)
    assert code == 2 and "does not exist" in lines[-1]
    assert _status("analyze", data, "--prefix", "192.0.2.0/33")[0] == 2
    assert _status("analyze", data, "--service", service, "--out", str(not_mrt / "out"))[0] == 2


def test_readme_sample_report_is_what_analyze_prints():
    """The README's sample is the report as a pipe gets it (120 columns when $COLUMNS is unset)."""
    readme = (ROOT / "README.md").read_text()
    command, shown = re.search(
        r"<!-- sample report: begin -->\n`anystab (.*?)` on the sample archive prints:\n\n```text\n(.*?)```",
        readme,
        flags=re.S,
    ).groups()
    r = CliRunner(env={"COLUMNS": None}).invoke(cli, [*command.split(), "-q"])
    assert r.exit_code == 0 and r.stdout == shown
