"""The collector registry: names, project groups, layouts, mirrors and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from anystab.cli.options import parse_time
from anystab.errors import ConfigError
from anystab.sources.registry import (
    COLLECTORS,
    Settings,
    default_cache,
    get_collector,
    load_config,
    merge_mirrors,
    parse_mirror,
    resolve_collectors,
    rib_slot,
    update_slots,
)

DAY_2005 = (parse_time("2005-06-01"), parse_time("2005-06-02"))
DAY_2025 = (parse_time("2025-06-01"), parse_time("2025-06-02"))


def test_projects_expand_to_the_collectors_active_in_the_window() -> None:
    ris_2005 = [c.name for c in resolve_collectors(["ris"], *DAY_2005)]
    assert "rrc02" in ris_2005 and "rrc08" not in ris_2005 and "rrc26" not in ris_2005
    ris_2025 = [c.name for c in resolve_collectors(["ris"], *DAY_2025)]
    assert ris_2025[0] == "rrc00" and "rrc26" in ris_2025 and "rrc02" not in ris_2025
    everything = resolve_collectors(["all"], *DAY_2025)
    assert {c.project for c in everything} == {"ris", "routeviews"}
    assert len(everything) == sum(1 for c in COLLECTORS.values() if c.active_in(*DAY_2025))


def test_names_lists_and_duplicates() -> None:
    names = [
        c.name for c in resolve_collectors(["rrc01, route-views2", "rrc01", "route-views.new"], *DAY_2025)
    ]
    assert names == ["rrc01", "route-views2", "route-views.new"]
    assert get_collector("route-views.new").listed is False
    assert get_collector("rrc99").project == "ris"
    with pytest.raises(ConfigError, match="unknown collector 'bgpkit'"):
        get_collector("bgpkit")
    with pytest.raises(ConfigError, match="no collectors"):
        resolve_collectors([" , "], *DAY_2025)


def test_slots_cover_the_window() -> None:
    rrc = get_collector("rrc00")
    assert update_slots(rrc, parse_time("2025-06-02T00:07:00Z"), parse_time("2025-06-02T00:15:00Z")) == [
        int(parse_time("2025-06-02T00:05:00Z")),
        int(parse_time("2025-06-02T00:10:00Z")),
    ]
    assert rib_slot(rrc, parse_time("2025-06-02T07:59:59Z")) == int(parse_time("2025-06-02T00:00:00Z"))
    assert rib_slot(rrc, parse_time("2025-06-02T08:00:00Z"), back=1) == int(
        parse_time("2025-06-02T00:00:00Z")
    )
    rv = get_collector("route-views.linx")
    assert rib_slot(rv, parse_time("2025-06-02T03:59:00Z")) == int(parse_time("2025-06-02T02:00:00Z"))


def test_mirrors() -> None:
    assert parse_mirror("http://m.test/base") == {
        "ris": "http://m.test/base/",
        "routeviews": "http://m.test/base/",
    }
    assert parse_mirror("routeviews=file:///srv/rv") == {"routeviews": "file:///srv/rv/"}
    assert parse_mirror("http://m.test/?a=b") == {
        "ris": "http://m.test/?a=b/",
        "routeviews": "http://m.test/?a=b/",
    }
    for bad in ("m.test", "ftp://m.test/", "rpki=http://m.test/"):
        with pytest.raises(ConfigError):
            parse_mirror(bad)
    settings = Settings(mirrors={"ris": "http://a.test"})
    assert merge_mirrors(settings, ["ris=http://b.test"]) == {"ris": "http://b.test/"}
    assert merge_mirrors(settings, []) == {"ris": "http://a.test/"}


def test_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    assert load_config(config) == Settings()
    config.write_text('cache = "~/bgp-cache"\n[mirrors]\nrouteviews = "http://rv.test"\n')
    settings = load_config(config)
    assert settings.cache == Path.home() / "bgp-cache"
    assert settings.mirrors == {"routeviews": "http://rv.test/"}
    assert default_cache(settings) == Path.home() / "bgp-cache"
    monkeypatch.setenv("ANYSTAB_CACHE", str(tmp_path / "env-cache"))
    assert default_cache(settings) == tmp_path / "env-cache"
    monkeypatch.delenv("ANYSTAB_CACHE")
    assert default_cache(Settings()) == tmp_path / "xdg-cache" / "anystab"
    for text in ("[mirrors]\nbgpkit = 'http://x.test'\n", "cache = 3\n", "not toml ["):
        config.write_text(text)
        with pytest.raises(ConfigError):
            load_config(config)
