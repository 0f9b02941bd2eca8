"""Analysis parameters: one frozen dataclass that every stage reads.

Thresholds are named constants here; :meth:`AnalysisParams.validate` checks combinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from anystab.errors import ConfigError
from anystab.targets import TargetSet

SiteStrategy = Literal["upstream", "origin", "path", "community", "nexthop"]
SITE_STRATEGIES: tuple[SiteStrategy, ...] = ("upstream", "origin", "path", "community", "nexthop")

DEFAULT_SESSIONS_S: tuple[float, ...] = (10.0, 60.0, 600.0, 3600.0, 86400.0)
DEFAULT_RESYNC_S = 300.0
DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 20261129
# anystab live: how often events are recomputed, how long without elements makes them final, and how long
# elements are kept before compaction (here, not in anystab.live, so that the command line loads light)
DEFAULT_BATCH_S = 1.0
DEFAULT_SETTLE_S = 5.0
DEFAULT_RETENTION_S = 86_400.0
# vantage points drawn in the HTML report's site timeline (the least stable ones)
MAX_TIMELINE_VPS = 60


@dataclass(frozen=True)
class SiteMap:
    """Human names for site signatures, and the communities that mark sites (community strategy).

    ``names``: signature text -> site name. ``communities``: community text (``ASN:VALUE``) -> site name,
    in priority order (the first community of a route that the map names wins).
    """

    names: dict[str, str] = field(default_factory=dict)
    communities: dict[str, str] = field(default_factory=dict)

    def name(self, signature: str) -> str:
        return self.names.get(signature, signature)


@dataclass(frozen=True)
class AnalysisParams:
    """Everything the analysis stages need besides the data."""

    targets: TargetSet
    site_by: SiteStrategy = "upstream"
    site_map: SiteMap = field(default_factory=SiteMap)
    min_dwell_s: float = 0.0
    sessions_s: tuple[float, ...] = DEFAULT_SESSIONS_S
    resync_s: float = DEFAULT_RESYNC_S
    bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = DEFAULT_SEED

    def validate(self) -> None:
        if not len(self.targets):
            raise ConfigError("no targets: name at least one prefix (--prefix or a service file)")
        if self.site_by not in SITE_STRATEGIES:
            raise ConfigError(f"unknown site strategy {self.site_by!r}")
        if self.site_by == "community" and not self.site_map.communities:
            raise ConfigError("--site-by community needs a site map with a [communities] table")
        if self.min_dwell_s < 0 or self.resync_s < 0:
            raise ConfigError("min_dwell and resync must not be negative")
        if not self.sessions_s or any(d <= 0 for d in self.sessions_s):
            raise ConfigError("session lengths must be positive")
        if self.bootstrap < 0:
            raise ConfigError("bootstrap resamples must not be negative")
