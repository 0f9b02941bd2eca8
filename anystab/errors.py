"""The one exception tree of anystab.

    AnystabError                 anything anystab reports as a failure (CLI: one line on stderr, exit 1)
     +-- BadInputError           input data that cannot be used (not MRT, unreadable file, bad service file)
     +-- ConfigError             a configuration or option combination that cannot work
     +-- SourceUnavailableError  a source that cannot be reached or an optional backend that is not installed

Damage inside a file that still yields data (a torn tail, a corrupt record) is not an exception: readers
report it as a :class:`anystab.sources.Problem` and go on.
"""

from __future__ import annotations


class AnystabError(Exception):
    """Base of every error anystab raises on purpose."""


class BadInputError(AnystabError):
    """Input data that cannot be used at all."""


class ConfigError(AnystabError):
    """A configuration, service file or option combination that cannot work."""


class SourceUnavailableError(AnystabError):
    """A data source that cannot be reached, or an optional backend that is not installed."""
