"""``anystab collectors``: the registry as a table and as JSON, by project, with mirrors."""

from __future__ import annotations

import json

from click.testing import CliRunner
from support.fetch_server import isolated as isolated  # autouse: no user config, SIGPIPE ignored

from anystab.cli.main import cli


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_collectors_lists_the_registry() -> None:
    code, out, _ = _invoke("collectors", "--json")
    rows = {r["collector"]: r for r in json.loads(out)}
    assert code == 0
    assert {f"rrc{n:02d}" for n in range(27) if n != 17} <= set(rows)
    assert rows["rrc15"]["url"] == "https://data.ris.ripe.net/rrc15/"
    assert rows["route-views2"]["url"] == "https://archive.routeviews.org/bgpdata/"
    assert rows["route-views.jinx"]["url"] == "https://archive.routeviews.org/route-views.jinx/bgpdata/"
    assert (rows["rrc00"]["updates_every_s"], rows["rrc00"]["ribs_every_s"]) == (300, 28800)
    assert (rows["route-views2"]["updates_every_s"], rows["route-views2"]["ribs_every_s"]) == (900, 7200)
    code, out, _ = _invoke("collectors", "--project", "ris", "--mirror", "ris=http://mirror.test/ris")
    assert code == 0 and "route-views" not in out and "http://mirror.test/ris/rrc26/" in out
