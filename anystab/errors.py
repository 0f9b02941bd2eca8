"""The one exception tree of anystab.

    AnystabError                 anything anystab reports as a failure (CLI: one line on stderr, exit 1)
     +-- BadInputError           input data that cannot be used (not MRT, unreadable file, bad service file)
     +-- ConfigError             a configuration or option combination that cannot work
     |    +-- OptionError        names the option at fault (CLI: a usage error, exit 2)
     +-- SourceUnavailableError  a source that cannot be reached or an optional backend that is not installed
     +-- LockBusyError           another monitor run holds the state folder's lock (monitor: status 3)
     +-- LabError                the lab could not be built, or its daemons missed the scripted state

Damage inside a file that still yields data (a torn tail, a corrupt record) is not an exception: readers
report it as a :class:`anystab.sources.Problem` and go on.

Outside this tree, on purpose:

    click.UsageError             bad options and arguments (exit 2): cli.paths.OutputPathError (an output
                                 that cannot be written), cli.monitor.PluginUsageError (exit 3 for cron)
    internal signals             raised and caught inside anystab, never reported: sources.slim.Irregular,
                                 timeline.ResumeMiss, sources.fetch's _Gone, _Fatal and _Retry
"""

from __future__ import annotations


class AnystabError(Exception):
    """Base of every error anystab raises on purpose."""


class BadInputError(AnystabError):
    """Input data that cannot be used at all."""


class ConfigError(AnystabError):
    """A configuration, service file or option combination that cannot work."""


class OptionError(ConfigError):
    """Target options that cannot work together; ``option`` names the one at fault (None: several)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class SourceUnavailableError(AnystabError):
    """A data source that cannot be reached, or an optional backend that is not installed."""


class LockBusyError(AnystabError):
    """Another monitor run holds the state folder's lock (and did not release it in time)."""


class LabError(AnystabError):
    """The lab could not be built, or its daemons did not reach the scripted state in time."""
