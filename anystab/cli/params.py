"""Analysis parameters from the target options (``--prefix``, ``--address``, ``--service``, ``--site-by``,
``--site-map``, ``--min-dwell``, ``--sessions``, ``--resync``), shared by ``analyze`` and ``live``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from anystab.params import DEFAULT_RESYNC_S, DEFAULT_SESSIONS_S, AnalysisParams, SiteMap
from anystab.service import load_service, load_site_map
from anystab.targets import IPAddress, IPNetwork, Target, target_set


def build_targets(
    prefixes: Sequence[IPNetwork], addresses: Sequence[IPAddress], service_targets: Sequence[Target]
) -> list[Target]:
    """Targets from --prefix/--address and a service file; each address to its longest prefix."""
    chosen: dict[IPNetwork, IPAddress] = {}
    for addr in addresses:
        holders = [p for p in prefixes if p.version == addr.version and addr in p]
        if not holders:
            raise click.BadParameter(f"{addr} is inside no --prefix", param_hint="--address")
        chosen[max(holders, key=lambda p: p.prefixlen)] = addr
    targets = list(service_targets)
    targets += [Target(p, chosen.get(p, p.network_address)) for p in prefixes]
    if not targets:
        raise click.UsageError("name at least one target with --prefix or --service")
    return targets


def build_params(opts: dict[str, Any]) -> AnalysisParams:
    service = load_service(opts["service_file"]) if opts["service_file"] else None
    site_map = service.site_map if service else SiteMap()
    if opts["site_map_file"]:
        extra = load_site_map(opts["site_map_file"])
        site_map = SiteMap({**site_map.names, **extra.names}, {**site_map.communities, **extra.communities})
    targets = build_targets(opts["prefixes"], opts["addresses"], service.targets if service else ())
    return AnalysisParams(
        targets=target_set(targets),
        site_by=opts["site_by"] or (service.site_by if service and service.site_by else "upstream"),
        site_map=site_map,
        min_dwell_s=opts["min_dwell"]
        if opts["min_dwell"] is not None
        else (service.min_dwell_s if service and service.min_dwell_s is not None else 0.0),
        sessions_s=opts["sessions"] or DEFAULT_SESSIONS_S,
        resync_s=DEFAULT_RESYNC_S if opts["resync"] is None else opts["resync"],
    )
