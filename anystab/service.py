"""Service files and site maps (TOML).

A service file names a service's targets, how sites are told apart, and human site names::

    name = "example-dns"
    site_by = "upstream"          # upstream | origin | path | community | nexthop (optional)
    min_dwell = 0                 # seconds (optional)

    [[targets]]
    prefix = "198.51.100.0/24"
    address = "198.51.100.53"     # optional: defaults to the prefix's network address

    [sites]                       # site signature -> human name (optional)
    "64500 64496" = "ams"

    [communities]                 # community -> site name, for site_by = "community" (optional)
    "64496:1" = "ams"

A site map file holds only the ``[sites]`` and ``[communities]`` tables.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anystab.errors import ConfigError
from anystab.params import SITE_STRATEGIES, SiteMap, SiteStrategy
from anystab.targets import Target, make_target

_SERVICE_KEYS = {"name", "site_by", "min_dwell", "targets", "sites", "communities"}


@dataclass(frozen=True)
class Service:
    """A named set of targets with its site strategy and site names."""

    name: str
    targets: tuple[Target, ...]
    site_by: SiteStrategy | None = None
    min_dwell_s: float | None = None
    site_map: SiteMap = SiteMap()


def _load_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _text_table(doc: dict[str, Any], key: str, path: str | Path) -> dict[str, str]:
    table = doc.get(key, {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f"{path}: [{key}] must map text to site names (text)")
    return {str(k).strip(): v for k, v in table.items()}


def site_map_from_doc(doc: dict[str, Any], path: str | Path) -> SiteMap:
    return SiteMap(_text_table(doc, "sites", path), _text_table(doc, "communities", path))


def load_site_map(path: str | Path) -> SiteMap:
    """Read a site map file (``[sites]`` and ``[communities]`` tables)."""
    doc = _load_toml(path)
    unknown = set(doc) - {"sites", "communities"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown keys {', '.join(sorted(unknown))} (a site map has [sites], [communities])"
        )
    return site_map_from_doc(doc, path)


def _targets(doc: dict[str, Any], path: str | Path) -> tuple[Target, ...]:
    raw = doc.get("targets")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: a service needs at least one [[targets]] entry with a prefix")
    out = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("prefix"), str):
            raise ConfigError(f'{path}: target {i} needs prefix = "..."')
        unknown = set(entry) - {"prefix", "address", "name"}
        if unknown:
            raise ConfigError(f"{path}: target {i}: unknown keys {', '.join(sorted(unknown))}")
        address = entry.get("address")
        try:
            out.append(
                make_target(entry["prefix"], address if isinstance(address, str) else None, entry.get("name"))
            )
        except ConfigError as exc:
            raise ConfigError(f"{path}: target {i}: {exc}") from None
    return tuple(out)


def load_service(path: str | Path) -> Service:
    """Read and validate a service file."""
    doc = _load_toml(path)
    unknown = set(doc) - _SERVICE_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    site_by = doc.get("site_by")
    if site_by is not None and site_by not in SITE_STRATEGIES:
        raise ConfigError(f"{path}: site_by must be one of {', '.join(SITE_STRATEGIES)}")
    min_dwell = doc.get("min_dwell")
    if min_dwell is not None and (not isinstance(min_dwell, int | float) or min_dwell < 0):
        raise ConfigError(f"{path}: min_dwell must be a non-negative number of seconds")
    return Service(
        name=str(doc.get("name", Path(path).stem)),
        targets=_targets(doc, path),
        site_by=site_by,
        min_dwell_s=float(min_dwell) if min_dwell is not None else None,
        site_map=site_map_from_doc(doc, path),
    )
