"""The ``sources`` stage: MRT files in, element tables out.

``discover`` finds files and names their collectors, ``read_mrt_file`` / ``read_files`` turn them into
elements (schema :data:`anystab.schemas.ELEMENTS`) with the problems found on the way, and
``missing_intervals`` tells which time no update file covers. The :class:`~anystab.sources.base.Source`
protocol that :func:`anystab.pipeline.analyze` reads through is in :mod:`anystab.sources.base`.
"""

from typing import TYPE_CHECKING

from anystab.lazy import lazy_exports

if TYPE_CHECKING:
    from anystab.sources.archive import (
        SourceFile,
        describe,
        discover,
        expected_cadence,
        missing_intervals,
        warm_up_holes,
    )
    from anystab.sources.decompress import Stream, detect_format, open_stream
    from anystab.sources.mrt import FileResult, Problem, bgpdump_line, read_mrt_file
    from anystab.sources.parallel import read_files

_WHERE = {
    "FileResult": "anystab.sources.mrt",
    "Problem": "anystab.sources.mrt",
    "SourceFile": "anystab.sources.archive",
    "Stream": "anystab.sources.decompress",
    "bgpdump_line": "anystab.sources.mrt",
    "describe": "anystab.sources.archive",
    "detect_format": "anystab.sources.decompress",
    "discover": "anystab.sources.archive",
    "expected_cadence": "anystab.sources.archive",
    "missing_intervals": "anystab.sources.archive",
    "open_stream": "anystab.sources.decompress",
    "read_files": "anystab.sources.parallel",
    "read_mrt_file": "anystab.sources.mrt",
    "warm_up_holes": "anystab.sources.archive",
}

__getattr__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "FileResult",
    "Problem",
    "SourceFile",
    "Stream",
    "bgpdump_line",
    "describe",
    "detect_format",
    "discover",
    "expected_cadence",
    "missing_intervals",
    "warm_up_holes",
    "open_stream",
    "read_files",
    "read_mrt_file",
]
