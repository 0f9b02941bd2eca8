"""``analyze``'s scale-out options: ``--dask ADDRESS|local:N`` and SOURCE arguments that may be URLs.

With ``--dask``, :func:`anystab.pipeline.analyze` runs its parallel stages on the Dask executor
(:mod:`anystab.executors`); URL sources are read by anystab's own reader, here or on the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from anystab.cli.options import AnyParamType
from anystab.errors import ConfigError
from anystab.executors.choose import parse_dask_spec

F = TypeVar("F", bound=Callable[..., Any])


class SourceType(AnyParamType):
    """An existing local file or folder, or a URL (``s3://``, ``https://``, ``file://``) read with fsspec."""

    name = "source"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from anystab.sources.archive import is_url  # (not remote: it imports the reader)

        if isinstance(value, str) and is_url(value):
            return value
        return click.Path(exists=True).convert(value, param, ctx)


SOURCE = SourceType()


def _check_dask(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_dask_spec(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def dask_option(func: F) -> F:
    """--dask ADDRESS|local:N."""
    return click.option(
        "--dask",
        default=None,
        metavar="ADDRESS|local:N",
        callback=_check_dask,
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or local:N to start N worker "
        "processes here (needs the [dask] extra; docs/scale.md).",
    )(func)


def check_source_choice(sources: tuple[str, ...], dask: str | None, source_name: str) -> None:
    """--dask and URL sources read with anystab's own reader: refuse another ``--source``."""
    from anystab.sources.archive import is_url  # (not remote: it imports the reader)

    if source_name != "files" and (dask is not None or any(is_url(s) for s in sources)):
        raise click.UsageError("--dask and URL sources read with anystab's own reader: leave out --source")
