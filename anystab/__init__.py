"""anystab: how stable is an anycast service, as seen from BGP.

The library behind the ``anystab`` command. A typical use::

    from anystab import AnalysisParams, AnalysisRequest, analyze, make_target, target_set

    params = AnalysisParams(targets=target_set([make_target("192.5.5.0/24", "192.5.5.241")]))
    result = analyze(AnalysisRequest(sources=("archive/",), params=params))
    result.tables["estimates"]
"""

from __future__ import annotations

__version__ = "0.1.0"

from anystab.errors import AnystabError, BadInputError, ConfigError, SourceUnavailableError
from anystab.params import AnalysisParams, SiteMap
from anystab.schemas import SCHEMA_VERSION, TABLES
from anystab.service import Service, load_service, load_site_map
from anystab.targets import Target, TargetSet, make_target, target_set

_LAZY = {"AnalysisRequest", "AnalysisResult", "analyze", "run_stages"}


def __getattr__(name: str) -> object:
    """The pipeline imports every stage: load it only when asked for, so ``import anystab`` stays light."""
    if name in _LAZY:
        from anystab import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'anystab' has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "AnalysisParams",
    "AnalysisRequest",
    "AnalysisResult",
    "AnystabError",
    "BadInputError",
    "ConfigError",
    "Service",
    "SiteMap",
    "SourceUnavailableError",
    "Target",
    "TargetSet",
    "__version__",
    "analyze",
    "load_service",
    "load_site_map",
    "make_target",
    "run_stages",
    "target_set",
]
