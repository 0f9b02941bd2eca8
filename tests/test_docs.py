"""Docs are tested: every command and option is documented, the schema page matches the code."""

import re
from pathlib import Path

import click
import pytest

from anystab import schemas
from anystab.cli.main import cli

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
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command.strip() in ci
    assert "anystab analyze data/" in blocks[0]
    install = next(line for line in blocks[1].splitlines() if "apt-get install" in line)
    packages = [word for word in install.split("apt-get install", 1)[1].split() if not word.startswith("-")]
    assert re.search(r'^packages="(.*)"$', ci, flags=re.M).group(1).split() == packages  # type: ignore[union-attr]
    assert "\nexport ANYSTAB_REQUIRE_ALL=1\n" in ci
