"""Service files and site maps (TOML).

A service file names a service's targets, how sites are told apart, and human site names::

    name = "example-dns"
    site_by = "upstream"          # upstream | origin | path | community | nexthop (optional)
    min_dwell = 0                 # seconds, or a duration such as "10m" (optional)

    [[targets]]
    prefix = "198.51.100.0/24"
    address = "198.51.100.53"     # optional: defaults to the prefix's network address

    [sites]                       # site signature -> human name (optional)
    "64500 64496" = "ams"

    [communities]                 # community -> site name, for site_by = "community" (optional)
    "64496:1" = "ams"

A site map file holds only the ``[sites]`` and ``[communities]`` tables.

:func:`resolve_params` turns a service, a site map and the options into :class:`AnalysisParams`, with the
same rules for the command line (``analyze``, ``live``) and the monitoring config:

1. Targets: the service's, then one per ``prefixes`` entry, its address the one of ``addresses`` it holds
   (an address goes to the longest prefix holding it; in none: :class:`OptionError` for ``--address``),
   else its network address. No target at all: :class:`OptionError`. A prefix named twice counts once.
2. Site map: the service's names and communities, the site map's entries on top of them.
3. ``site_by``: the option, else the service's, else ``upstream``.
4. ``min_dwell``: the option, else the service's, else ``default_min_dwell_s`` (the monitoring config's
   top-level ``min_dwell``; 0 on the command line).
5. ``sessions`` and ``resync``: the values given, else the defaults.
6. The result is validated (:meth:`AnalysisParams.validate`, ConfigError).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

from anystab.collect import fewer_collections
from anystab.errors import ConfigError, OptionError
from anystab.params import (
    DEFAULT_RESYNC_S,
    DEFAULT_SESSIONS_S,
    SITE_STRATEGIES,
    AnalysisParams,
    SiteMap,
    SiteStrategy,
)
from anystab.targets import IPAddress, IPNetwork, Target, make_target, target_set
from anystab.text import parse_duration

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
            return tomli.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
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


def duration_setting(value: Any, where: str) -> float:
    """Seconds from a number or a text duration (``10m``) in a TOML file; ConfigError names ``where``."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    else:
        raise ConfigError(f"{where}: not a duration: {value!r}")
    if seconds < 0:
        raise ConfigError(f"{where}: must not be negative")
    return seconds


def service_targets(raw: Any, where: str) -> tuple[Target, ...]:
    """Targets from a list of ``{prefix, address, name}`` tables (``[[targets]]`` or ``targets = [...]``)."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: a service needs at least one [[targets]] entry with a prefix")
    out = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("prefix"), str):
            raise ConfigError(f'{where}: target {i} needs prefix = "..."')
        unknown = set(entry) - {"prefix", "address", "name"}
        if unknown:
            raise ConfigError(f"{where}: target {i}: unknown keys {', '.join(sorted(unknown))}")
        address, name = entry.get("address"), entry.get("name")
        if not isinstance(address, str | None) or not isinstance(name, str | None):
            raise ConfigError(f"{where}: target {i}: address and name must be text")
        try:
            out.append(make_target(entry["prefix"], address, name))
        except ConfigError as exc:
            raise ConfigError(f"{where}: target {i}: {exc}") from None
    return tuple(out)


def service_settings(doc: dict[str, Any], where: str) -> tuple[SiteStrategy | None, float | None]:
    """A service's ``site_by`` and ``min_dwell`` (None where not given)."""
    site_by = doc.get("site_by")
    if site_by is not None and site_by not in SITE_STRATEGIES:
        raise ConfigError(f"{where}: site_by must be one of {', '.join(SITE_STRATEGIES)}")
    dwell = doc.get("min_dwell")
    return site_by, None if dwell is None else duration_setting(dwell, f"{where}: min_dwell")


def service_from_doc(doc: dict[str, Any], where: str, name: str) -> Service:
    """A service from a parsed service table (the keys of a service file; ``name`` when it has none)."""
    unknown = set(doc) - _SERVICE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    site_by, min_dwell_s = service_settings(doc, where)
    return Service(
        name=str(doc.get("name", name)),
        targets=service_targets(doc.get("targets"), where),
        site_by=site_by,
        min_dwell_s=min_dwell_s,
        site_map=site_map_from_doc(doc, where),
    )


def load_service(path: str | Path) -> Service:
    """Read and validate a service file."""
    with fewer_collections():  # a census's file: tens of thousands of small tables and targets
        return service_from_doc(_load_toml(path), str(path), Path(path).stem)


def resolve_params(
    service: Service | None = None,
    *,
    site_map: SiteMap | None = None,
    prefixes: Sequence[IPNetwork] = (),
    addresses: Sequence[IPAddress] = (),
    site_by: SiteStrategy | None = None,
    min_dwell_s: float | None = None,
    sessions_s: Sequence[float] | None = None,
    resync_s: float | None = None,
    default_min_dwell_s: float = 0.0,
) -> AnalysisParams:
    """The analysis parameters of a service, a site map and options (see the module docstring), validated."""
    names = service.site_map if service else SiteMap()
    if site_map is not None:
        names = SiteMap({**names.names, **site_map.names}, {**names.communities, **site_map.communities})
    with fewer_collections():  # a census's target set: its covers are tens of thousands of small tuples
        targets = target_set(_resolve_targets(service.targets if service else (), prefixes, addresses))
    params = AnalysisParams(
        targets=targets,
        site_by=site_by or (service.site_by if service and service.site_by else "upstream"),
        site_map=names,
        min_dwell_s=_first(min_dwell_s, service.min_dwell_s if service else None, default_min_dwell_s),
        sessions_s=DEFAULT_SESSIONS_S if sessions_s is None else tuple(sessions_s),
        resync_s=_first(resync_s, DEFAULT_RESYNC_S),
    )
    params.validate()
    return params


def _first(*values: float | None) -> float:
    return next(float(v) for v in values if v is not None)


def _resolve_targets(
    service_targets: Sequence[Target], prefixes: Sequence[IPNetwork], addresses: Sequence[IPAddress]
) -> list[Target]:
    """The service's targets, then one per prefix; each address to the longest prefix holding it."""
    chosen: dict[IPNetwork, IPAddress] = {}
    for addr in addresses:
        holders = [p for p in prefixes if p.version == addr.version and addr in p]
        if not holders:
            raise OptionError(f"{addr} is inside no --prefix", "--address")
        chosen[max(holders, key=lambda p: p.prefixlen)] = addr
    targets = [*service_targets, *(Target(p, chosen.get(p, p.network_address)) for p in prefixes)]
    if not targets:
        raise OptionError("name at least one target with --prefix or --service")
    return targets
