"""anystab: how stable is an anycast service, as seen from BGP.

The library behind the ``anystab`` command. A typical use::

    from anystab import AnalysisParams, AnalysisRequest, analyze, make_target, target_set

    params = AnalysisParams(targets=target_set([make_target("192.5.5.0/24", "192.5.5.241")]))
    result = analyze(AnalysisRequest(sources=("archive/",), params=params))
    result.tables["estimates"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from anystab.errors import AnystabError, BadInputError, ConfigError, SourceUnavailableError
from anystab.lazy import lazy_exports
from anystab.params import AnalysisParams, SiteMap
from anystab.service import Service, load_service, load_site_map
from anystab.sources import heap as _heap
from anystab.targets import Target, TargetSet, make_target, target_set

_heap.arrow_allocates_with_malloc()  # before anything imports pyarrow (anystab.sources.heap, step 4)

if TYPE_CHECKING:
    from anystab.pipeline import AnalysisRequest, AnalysisResult, analyze, run_stages
    from anystab.schemas import SCHEMA_VERSION, TABLES

# the pipeline imports every stage, the schemas pyarrow: loaded when asked for, so ``import anystab`` is light
__getattr__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(["AnalysisRequest", "AnalysisResult", "analyze", "run_stages"], "anystab.pipeline"),
        **dict.fromkeys(["SCHEMA_VERSION", "TABLES"], "anystab.schemas"),
    },
)


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
