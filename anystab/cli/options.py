"""Click parameter types and options shared by several commands (written once, used as decorators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from anystab.errors import ConfigError
from anystab.params import SITE_STRATEGIES
from anystab.targets import parse_address, parse_prefix
from anystab.text import parse_duration, parse_time

F = TypeVar("F", bound=Callable[..., Any])

# The base of our click types: click 8.4 made ParamType generic in the value it returns, and older click
# (still allowed) cannot subscript it at run time.
if TYPE_CHECKING:
    AnyParamType = click.ParamType[Any]
else:
    AnyParamType = click.ParamType

# What each exit status means; docs/cli.md shows the same tables and every command's --help ends with one.
EXIT_STATUS = {
    0: "success",
    1: "an error, told in one line on stderr (unreadable input, a bad file)",
    2: "a usage error: a bad option or argument, or an unwritable output",
}
MONITOR_EXIT_STATUS = {
    0: "OK",
    1: "warning: a warning episode, or an alert that could not be delivered",
    2: "critical: a critical alert episode is going on",
    3: "unknown: the run failed (bad config, lock held, bad data, usage error)",
}


def exit_epilog(statuses: dict[int, str] = EXIT_STATUS) -> str:
    """The ``Exit status`` paragraph of a command's --help (kept as written: one status a line)."""
    return "\b\nExit status:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in statuses.items())


class _Converting(AnyParamType):
    """A click type from a plain parsing function; ValueError and ConfigError become usage errors."""

    def __init__(self, name: str, func: Callable[[str], Any]) -> None:
        self.name = name
        self.func = func

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.func(value)
        except (ValueError, ConfigError) as exc:
            self.fail(str(exc), param, ctx)


def _sessions(text: str) -> tuple[float, ...]:
    values = tuple(parse_duration(part) for part in text.split(",") if part.strip())
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"session lengths must be positive durations: {text!r}")
    return values


PREFIX = _Converting("prefix", lambda t: parse_prefix(t))
ADDRESS = _Converting("address", lambda t: parse_address(t))
TIME = _Converting("time", parse_time)
DURATION = _Converting("duration", parse_duration)
SESSIONS = _Converting("sessions", _sessions)


def target_options(func: F) -> F:
    """--prefix, --address, --service, --site-by, --site-map, --min-dwell."""
    decorators = [
        click.option(
            "--prefix",
            "prefixes",
            type=PREFIX,
            multiple=True,
            metavar="PREFIX",
            help="Target prefix (repeatable), e.g. 192.5.5.0/24 or 2001:500:2f::/48.",
        ),
        click.option(
            "--address",
            "addresses",
            type=ADDRESS,
            multiple=True,
            metavar="ADDR",
            help="Service address inside a target prefix (repeatable); default: its network address.",
        ),
        click.option(
            "--service",
            "service_file",
            type=click.Path(exists=True, dir_okay=False),
            metavar="FILE.toml",
            help="Service file naming targets, addresses, site strategy and site names.",
        ),
        click.option(
            "--site-by",
            type=click.Choice(SITE_STRATEGIES),
            default=None,
            help="How a route's site is told: upstream (default), origin, path, community, nexthop.",
        ),
        click.option(
            "--site-map",
            "site_map_file",
            type=click.Path(exists=True, dir_okay=False),
            metavar="FILE.toml",
            help="Site names for signatures ([sites]) and site communities ([communities]).",
        ),
        click.option(
            "--min-dwell",
            type=DURATION,
            default=None,
            metavar="SECONDS",
            help="Drop site states shorter than this (transient filter); default 0 = off.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def window_options(func: F) -> F:
    """--start and --end."""
    func = click.option(
        "--end",
        type=TIME,
        default=None,
        metavar="TIME",
        help="Window end: ISO 8601 (UTC) or Unix seconds; default: the end of the data.",
    )(func)
    func = click.option(
        "--start",
        type=TIME,
        default=None,
        metavar="TIME",
        help="Window start: ISO 8601 (UTC) or Unix seconds; default: the start of the data.",
    )(func)
    return func


def jobs_option(
    default: int = 0, minimum: int = 0, dest: str = "jobs", help: str | None = None
) -> Callable[[F], F]:
    """--jobs: how many things run at once (by default files read in parallel, 0 = all cores)."""
    return click.option(
        "--jobs",
        dest,
        type=click.IntRange(min=minimum),
        default=default,
        show_default=True,
        help=help or "Files read in parallel (0 = all cores).",
    )


def quiet_option(help: str = "No progress bar.") -> Callable[[F], F]:
    """--quiet / -q: nothing on stderr while it runs."""
    return click.option("--quiet", "-q", is_flag=True, help=help)


def resync_option(func: F) -> F:
    """--resync: the gap kept after a peer session comes back."""
    return click.option(
        "--resync",
        type=DURATION,
        default=None,
        metavar="SECONDS",
        help="Gap kept after a peer session comes back while it re-sends its table (default 300).",
    )(func)
