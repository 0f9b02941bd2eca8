"""libbgpstream through pybgpstream as a :class:`~anystab.sources.base.Source`: ``--source bgpstream``.

It discovers local files as anystab's own reader does and turns each into one
:class:`~anystab.sources.mrt.FileResult`; everything after that is the same analysis
(:func:`anystab.pipeline.analyze` with ``source=BgpStreamSource()``).

Reading one file with pybgpstream (:class:`BgpStreamSource`):

1. Import ``pybgpstream`` lazily; when it (or the libbgpstream C library under it) is missing, raise
   :class:`SourceUnavailableError` saying how to install both (:data:`INSTALL_HINT`).
2. Open a stream on the ``singlefile`` data interface, as ``rib-file`` or ``upd-file`` by the kind the
   file's name tells (a file whose name tells no kind cannot be read this way). libbgpstream's broker is
   never used: files come from the archive cache (:mod:`anystab.sources.fetch`).
3. For each record: count it, track its first and last time, report a record whose status is not valid
   as a problem; for each element, :func:`elem_row` maps it to an ELEMENTS row: ``type`` R/A/W/S,
   ``peer_asn``, ``peer_address``, ``fields['prefix']``, ``['as-path']``, ``['next-hop']``,
   ``['communities']`` (a set: sorted by ASN and value), ``['old-state']``/``['new-state']`` (names such
   as ``ESTABLISHED`` -> BGP FSM numbers, :data:`PEER_STATES`). pybgpstream does not give ORIGIN,
   LOCAL_PREF, MED, ATOMIC_AGGREGATE, AGGREGATOR or ADD-PATH ids: those columns are null.
4. Keep elements whose prefix the targets match (state changes always), as the own reader does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anystab.errors import BadInputError, SourceUnavailableError
from anystab.sources.archive import SourceFile, discover
from anystab.sources.mrt import FileResult, Problem, elements_table
from anystab.targets import TargetSet
from anystab.text import pip_install
from anystab.units import US_PER_S

if TYPE_CHECKING:
    from anystab.executors.protocol import Executor

INSTALL_HINT = (
    "--source bgpstream needs pybgpstream, which needs the libbgpstream C library installed first "
    "(pip cannot install it): on Debian/Ubuntu add CAIDA's package repository "
    "(curl -s https://pkg.caida.org/os/$(lsb_release -si|awk '{print tolower($0)}')/bootstrap.sh | bash) "
    f"and `apt-get install bgpstream`, then `{pip_install('bgpstream')}`; or use the Docker image's "
    "bgpstream target. The default --source files needs neither."
)
PEER_STATES: dict[str, int] = {
    "UNKNOWN": 0,
    "IDLE": 1,
    "CONNECT": 2,
    "ACTIVE": 3,
    "OPENSENT": 4,
    "OPENCONFIRM": 5,
    "ESTABLISHED": 6,
    "CLEARING": 7,
    "DELETED": 8,
}
VALID_RECORD = "valid"
QUIET_STATUSES = frozenset({VALID_RECORD, "empty-source", "filtered-source", "outside-time-interval"})
ELEM_TYPES = frozenset({"R", "A", "W", "S"})

ProgressCallback = Callable[[int], None]


def import_pybgpstream() -> Any:
    """The pybgpstream module, or :class:`SourceUnavailableError` with :data:`INSTALL_HINT`."""
    try:
        import pybgpstream
    except ImportError as exc:
        raise SourceUnavailableError(f"{INSTALL_HINT} (import failed: {exc})") from None
    return pybgpstream


def _state(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip().upper()
    return int(text) if text.isdigit() else PEER_STATES.get(text, 0)


def _community_key(text: str) -> tuple[int, int, str]:
    asn, _, value = text.partition(":")
    if asn.isdigit() and value.isdigit():
        return int(asn), int(value), ""
    return 1 << 62, 0, text


def _communities(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value.split() if isinstance(value, str) else [str(v) for v in value]
    return sorted(items, key=_community_key)


def elem_row(elem: Any, time_s: float, collector: str, source: str) -> dict[str, Any] | None:
    """One ELEMENTS row from a pybgpstream element (None for a type anystab does not use)."""
    kind = str(elem.type)
    if kind not in ELEM_TYPES:
        return None
    fields: Mapping[str, Any] = elem.fields
    announce = kind in ("R", "A")
    return {
        "time": round(time_s * US_PER_S),
        "elem_type": kind,
        "collector": collector,
        "peer_asn": int(elem.peer_asn),
        "peer_ip": str(elem.peer_address),
        "prefix": fields.get("prefix") if kind != "S" else None,
        "path_id": None,
        "as_path": fields.get("as-path") if announce else None,
        "bgp_origin": None,
        "next_hop": fields.get("next-hop") if announce else None,
        "local_pref": None,
        "med": None,
        "communities": _communities(fields.get("communities")) if announce else None,
        "atomic_aggregate": None,
        "aggregator": None,
        "old_state": _state(fields.get("old-state")) if kind == "S" else None,
        "new_state": _state(fields.get("new-state")) if kind == "S" else None,
        "source": source,
    }


@dataclass
class _FileRead:
    """What one file's records gave, before it becomes a FileResult."""

    rows: list[dict[str, Any]]
    records: int = 0
    first: float | None = None
    last: float | None = None

    def see(self, t: float) -> None:
        self.records += 1
        self.first = t if self.first is None else min(self.first, t)
        self.last = t if self.last is None else max(self.last, t)


def convert_records(
    records: Iterable[Any], targets: TargetSet, file: SourceFile, problems: list[Problem]
) -> _FileRead:
    """Rows, record count and time span from pybgpstream records (each iterable over its elements)."""
    read = _FileRead([])
    for record in records:
        status = str(getattr(record, "status", VALID_RECORD))
        if status not in QUIET_STATUSES:
            problems.append(Problem(file.path, None, f"bgpstream record status {status}"))
        if status != VALID_RECORD:
            continue
        t = float(record.time)
        read.see(t)
        for elem in record:
            row = elem_row(elem, t, file.collector, file.path)
            if row is not None and (row["prefix"] is None or targets.matches(row["prefix"])):
                read.rows.append(row)
    return read


def _merge_problems(problems: list[Problem]) -> list[Problem]:
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.reason] = counts.get(p.reason, 0) + p.count
    return [Problem(problems[0].path, None, reason, n) for reason, n in counts.items()]


def to_file_result(file: SourceFile, read: _FileRead, problems: list[Problem]) -> FileResult:
    """A FileResult like the own reader's (kind from the file name, which chose the stream's mode)."""
    kind = (file.name_kind or "unknown") if read.records else "empty"
    return FileResult(
        path=file.path,
        collector=file.collector,
        kind=kind,
        records=read.records,
        elements=elements_table(read.rows),
        problems=_merge_problems(problems) if problems else [],
        first_time=read.first,
        last_time=read.last,
    )


class BgpStreamSource:
    """libbgpstream through pybgpstream, one ``singlefile`` stream per file (files are read in order)."""

    name = "bgpstream"

    def __init__(self, module: Any = None) -> None:
        self.module = module if module is not None else import_pybgpstream()

    def read_one(self, file: SourceFile, targets: TargetSet) -> FileResult:
        if file.name_kind not in ("rib", "updates"):
            raise BadInputError(
                f"--source bgpstream must know whether {file.path} is a RIB or an updates dump, and its "
                "name does not tell; rename it as in the archive (bview/rib... or updates...)"
            )
        stream = self.module.BGPStream(data_interface="singlefile")
        option = "rib-file" if file.name_kind == "rib" else "upd-file"
        stream.set_data_interface_option("singlefile", option, file.path)
        problems: list[Problem] = []
        read = convert_records(stream.records(), targets, file, problems)
        return to_file_result(file, read, problems)

    def discover(self, sources: Sequence[str], collector: str | None = None) -> list[SourceFile]:
        """Local files and folders only (:func:`anystab.sources.discover`)."""
        return discover(sources, collector)

    def read(
        self,
        files: Sequence[SourceFile],
        targets: TargetSet,
        jobs: int = 0,
        progress: ProgressCallback | None = None,
        executor: Executor | None = None,
    ) -> list[FileResult]:
        """Each file in this process, in order, whatever ``jobs`` or ``executor`` say (pybgpstream's
        streams are not handed to other processes); an executor still runs the later per-VP stage."""
        results = []
        for file in files:
            results.append(self.read_one(file, targets))
            if progress is not None:
                progress(1)
        return results
