"""Analysis parameters from the target options (``--prefix``, ``--address``, ``--service``, ``--site-by``,
``--site-map``, ``--min-dwell``, ``--sessions``, ``--resync``), shared by ``analyze`` and ``live``.

The rules are :func:`anystab.service.resolve_params`; here its :class:`OptionError` becomes a usage error.
"""

from __future__ import annotations

from typing import Any

import click

from anystab.errors import OptionError
from anystab.params import AnalysisParams
from anystab.service import load_service, load_site_map, resolve_params


def build_params(opts: dict[str, Any]) -> AnalysisParams:
    """The parameters of the parsed options (a bad service or site map file: ConfigError, exit 1)."""
    service = load_service(opts["service_file"]) if opts["service_file"] else None
    site_map = load_site_map(opts["site_map_file"]) if opts["site_map_file"] else None
    try:
        return resolve_params(
            service,
            site_map=site_map,
            prefixes=opts["prefixes"],
            addresses=opts["addresses"],
            site_by=opts["site_by"],
            min_dwell_s=opts["min_dwell"],
            sessions_s=opts["sessions"],
            resync_s=opts["resync"],
        )
    except OptionError as exc:
        if exc.option:
            raise click.BadParameter(str(exc), param_hint=exc.option) from None
        raise click.UsageError(str(exc)) from None
