"""The archive registry: which collectors exist, where their files live, how often they are written.

How a collector's file is located:

1. A name resolves to a :class:`Collector` (project, archive folder, approximate active years). A project
   name (``ris``, ``routeviews``) or ``all`` expands to every listed collector of it whose active years
   overlap the window. An unlisted name that follows a project's naming (``rrcNN``, ``route-views*``) is
   accepted for that project, for collectors newer than this list.
2. The project gives the archive's base URL (replaced by ``--mirror`` or the config file's ``[mirrors]``),
   the update and RIB cadences, the file name patterns and the compression suffix.
3. A file's path below the base URL is the archive's own layout: RIS
   ``rrc15/2010.02/updates.20100227.1600.gz``; RouteViews
   ``route-views.jinx/bgpdata/2014.05/UPDATES/updates.20140530.2345.bz2``, route-views2 at ``bgpdata/...``
   (no collector folder). The cache keeps the same path, except that route-views2 files go under
   ``route-views2/bgpdata/...`` so that the cache folder's own name never decides their collector
   (:mod:`anystab.sources.archive` names ``route-views2/bgpdata/...`` route-views2 as well).
4. Update files in a window ``[start, end)``: every slot ``t`` (a multiple of the update cadence) with
   ``t < end`` and ``t + cadence > start``. The RIB dump at or before ``start``: ``start`` floored to the
   RIB cadence (RIS 00:00, 08:00, 16:00 UTC; RouteViews every 2 hours).

Settings (:func:`load_config`): ``$ANYSTAB_CONFIG`` or ``$XDG_CONFIG_HOME/anystab/config.toml`` (default
``~/.config/anystab/config.toml``) may hold ``cache = "DIR"`` and a ``[mirrors]`` table (project -> base
URL). ``$ANYSTAB_CACHE`` names the cache folder too; the default is ``$XDG_CACHE_HOME/anystab``.
Active years are approximate: they only choose the collectors of a project-wide selection and note a
window outside them; a file the archive does not have is recorded as missing when fetched.
"""

from __future__ import annotations

import base64
import calendar
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import tomli

from anystab.errors import ConfigError

RIS_BASE_URL = "https://data.ris.ripe.net/"
ROUTEVIEWS_BASE_URL = "https://archive.routeviews.org/"
RIS_UPDATES_CADENCE_S = 300
RIS_RIB_CADENCE_S = 8 * 3600
ROUTEVIEWS_UPDATES_CADENCE_S = 900
ROUTEVIEWS_RIB_CADENCE_S = 2 * 3600
ALL = "all"
CONFIG_ENV = "ANYSTAB_CONFIG"
CACHE_ENV = "ANYSTAB_CACHE"
# fetching: downloads in parallel, retries per file, time-out per attempt (the fetch options' defaults)
DEFAULT_JOBS = 4
DEFAULT_RETRIES = 4
DEFAULT_TIMEOUT_S = 60.0
ROUTEVIEWS2 = "route-views2"

_RIS_NAME = re.compile(r"rrc\d\d", re.ASCII)
_ROUTEVIEWS_NAME = re.compile(r"route-views[\w.\-]*", re.ASCII)
_URL = re.compile(r"^(https?|file)://", re.I)
COLLECTOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", re.ASCII)
REDACTED = "***"


@dataclass(frozen=True)
class Project:
    """An archive project: base URL, cadences, and how its files are named."""

    name: str
    title: str
    base_url: str
    update_cadence_s: int
    rib_cadence_s: int
    suffix: str
    updates_dir: str
    ribs_dir: str
    rib_word: str


@dataclass(frozen=True)
class Collector:
    """One route collector. ``remote_folder`` is its folder below the project's base URL ('' at the root)."""

    name: str
    project: str
    location: str = ""
    first_year: int | None = None
    last_year: int | None = None
    listed: bool = True

    @property
    def remote_folder(self) -> str:
        if self.project == "ris":
            return self.name
        return "" if self.name == ROUTEVIEWS2 else self.name

    @property
    def cache_folder(self) -> str:
        return self.name

    def active_in(self, start: float, end: float) -> bool:
        """Whether the collector's (approximate) active years overlap ``[start, end)``."""
        first = _year_start(self.first_year) if self.first_year else -math.inf
        last = _year_start(self.last_year + 1) if self.last_year else math.inf
        return first < end and start < last

    def years(self) -> str:
        if self.first_year is None:
            return "?"
        return f"{self.first_year}-{self.last_year if self.last_year else ''}"


PROJECTS: dict[str, Project] = {
    "ris": Project(
        "ris", "RIPE NCC RIS", RIS_BASE_URL, RIS_UPDATES_CADENCE_S, RIS_RIB_CADENCE_S, ".gz", "", "", "bview"
    ),
    "routeviews": Project(
        "routeviews",
        "University of Oregon RouteViews",
        ROUTEVIEWS_BASE_URL,
        ROUTEVIEWS_UPDATES_CADENCE_S,
        ROUTEVIEWS_RIB_CADENCE_S,
        ".bz2",
        "UPDATES/",
        "RIBS/",
        "rib",
    ),
}

_RIS = [
    ("rrc00", "Amsterdam, NL (multihop)", 1999, None),
    ("rrc01", "London, GB (LINX, LONAP)", 2000, None),
    ("rrc02", "Paris, FR (SFINX)", 2001, 2008),
    ("rrc03", "Amsterdam, NL (AMS-IX, NL-IX)", 2001, None),
    ("rrc04", "Geneva, CH (CIXP)", 2001, None),
    ("rrc05", "Vienna, AT (VIX)", 2001, None),
    ("rrc06", "Otemachi, JP (DIX-IE, JPIX)", 2001, None),
    ("rrc07", "Stockholm, SE (Netnod)", 2002, None),
    ("rrc08", "San Jose, US (MAE-West)", 2002, 2004),
    ("rrc09", "Zurich, CH (TIX)", 2003, 2004),
    ("rrc10", "Milan, IT (MIX)", 2003, None),
    ("rrc11", "New York, US (NYIIX)", 2004, None),
    ("rrc12", "Frankfurt, DE (DE-CIX)", 2004, None),
    ("rrc13", "Moscow, RU (MSK-IX)", 2005, None),
    ("rrc14", "Palo Alto, US (PAIX)", 2005, None),
    ("rrc15", "Sao Paulo, BR (PTTMetro)", 2006, None),
    ("rrc16", "Miami, US (Equinix)", 2008, None),
    ("rrc18", "Barcelona, ES (CATNIX)", 2015, None),
    ("rrc19", "Johannesburg, ZA (NAP Africa)", 2016, None),
    ("rrc20", "Zurich, CH (SwissIX)", 2015, None),
    ("rrc21", "Paris, FR (France-IX)", 2015, None),
    ("rrc22", "Bucharest, RO (InterLAN)", 2016, None),
    ("rrc23", "Singapore, SG (Equinix)", 2015, None),
    ("rrc24", "Montevideo, UY (multihop, LACNIC region)", 2019, None),
    ("rrc25", "Amsterdam, NL (multihop)", 2019, None),
    ("rrc26", "Dubai, AE (UAE-IX)", 2020, None),
]
_ROUTEVIEWS = [
    ("route-views2", "Eugene, US (multihop)", 2001, None),
    ("route-views3", "Eugene, US (multihop)", 2008, None),
    ("route-views4", "Eugene, US (multihop)", 2008, None),
    ("route-views5", "Eugene, US (multihop)", 2020, None),
    ("route-views6", "Eugene, US (multihop, IPv6)", 2008, None),
    ("route-views.amsix", "Amsterdam, NL (AMS-IX)", 2019, None),
    ("route-views.bdix", "Dhaka, BD (BDIX)", 2019, None),
    ("route-views.bknix", "Bangkok, TH (BKNIX)", 2019, None),
    ("route-views.chicago", "Chicago, US (Equinix)", 2019, None),
    ("route-views.chile", "Santiago, CL (PIT Chile)", 2019, None),
    ("route-views.eqix", "Ashburn, US (Equinix)", 2004, None),
    ("route-views.flix", "Miami, US (FL-IX)", 2019, None),
    ("route-views.fortaleza", "Fortaleza, BR (IX.br)", 2019, None),
    ("route-views.gixa", "Accra, GH (GIXA)", 2018, None),
    ("route-views.gorex", "Guam (GOREX)", 2019, None),
    ("route-views.isc", "Palo Alto, US (PAIX)", 2003, None),
    ("route-views.jinx", "Johannesburg, ZA (JINX)", 2012, None),
    ("route-views.kixp", "Nairobi, KE (KIXP)", 2005, None),
    ("route-views.linx", "London, GB (LINX)", 2004, None),
    ("route-views.mwix", "Indianapolis, US (MWIX)", 2018, None),
    ("route-views.napafrica", "Johannesburg, ZA (NAPAfrica)", 2015, None),
    ("route-views.nwax", "Portland, US (NWAX)", 2013, None),
    ("route-views.ny", "New York, US (DE-CIX NY)", 2019, None),
    ("route-views.perth", "Perth, AU (WA-IX)", 2016, None),
    ("route-views.peru", "Lima, PE (Peru IX)", 2019, None),
    ("route-views.phoix", "Phoenix, US (PhoIX)", 2016, None),
    ("route-views.rio", "Rio de Janeiro, BR (IX.br)", 2019, None),
    ("route-views.saopaulo", "Sao Paulo, BR (IX.br)", 2011, None),
    ("route-views2.saopaulo", "Sao Paulo, BR (IX.br)", 2019, None),
    ("route-views.sfmix", "San Francisco, US (SFMIX)", 2015, None),
    ("route-views.sg", "Singapore, SG (Equinix)", 2013, None),
    ("route-views.siex", "Rome, IT (Namex)", 2018, None),
    ("route-views.soxrs", "Belgrade, RS (SOX)", 2011, None),
    ("route-views.sydney", "Sydney, AU (Equinix)", 2013, None),
    ("route-views.telxatl", "Atlanta, US (TELX)", 2011, None),
    ("route-views.uaeix", "Dubai, AE (UAE-IX)", 2020, None),
    ("route-views.wide", "Tokyo, JP (DIX-IE)", 2002, None),
]
COLLECTORS: dict[str, Collector] = {
    name: Collector(name, project, where, first, last)
    for project, rows in (("ris", _RIS), ("routeviews", _ROUTEVIEWS))
    for name, where, first, last in rows
}


def _year_start(year: int) -> float:
    return float(calendar.timegm((year, 1, 1, 0, 0, 0)))


def project_of_name(name: str) -> str | None:
    """The project whose naming ``name`` follows (``rrcNN`` -> ris, ``route-views*`` -> routeviews)."""
    if _RIS_NAME.fullmatch(name):
        return "ris"
    if _ROUTEVIEWS_NAME.fullmatch(name) and ".." not in name:
        return "routeviews"
    return None


def check_collector_name(name: str) -> str:
    """``name`` if it can be a collector name and a single folder name (letters, digits, ``_.-``, not
    ``..``, at most 64 characters); else ConfigError. Names from outside never become paths unchecked."""
    if not COLLECTOR_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"not a collector name: {name!r} (letters, digits, '.', '-' and '_'; e.g. rrc00, route-views2)"
        )
    return name


def url_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:password@`` and, if it had them, a Basic ``Authorization`` header."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return bare, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def redact_url(url: str) -> str:
    """``url`` safe to print or store: a user name or password becomes ``***``, as does the query."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def get_collector(name: str) -> Collector:
    """The collector called ``name``; an unlisted name following a project's naming is accepted."""
    name = name.strip()
    if name in COLLECTORS:
        return COLLECTORS[name]
    check_collector_name(name)
    project = project_of_name(name)
    if project is None:
        raise ConfigError(
            f"unknown collector {name!r}: name a RIS (rrc00 ... rrc26) or RouteViews (route-views2, "
            "route-views.linx, ...) collector, a project (ris, routeviews) or all "
            "(`anystab collectors` lists them)"
        )
    return Collector(name, project, listed=False)


def resolve_collectors(names: Iterable[str], start: float, end: float) -> list[Collector]:
    """Collectors for names, comma-separated lists, projects and ``all`` (no duplicates, order kept)."""
    chosen: dict[str, Collector] = {}
    for item in names:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name == ALL or name in PROJECTS:
                group = [c for c in COLLECTORS.values() if name in (ALL, c.project)]
                chosen.update((c.name, c) for c in group if c.active_in(start, end))
            else:
                chosen.setdefault(name, get_collector(name))
    if not chosen:
        raise ConfigError("no collectors: name at least one with --collector (e.g. rrc00, route-views2, ris)")
    return list(chosen.values())


# --- file names and slots ----------------------------------------------------------------------------


def _stamp(epoch: int, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(epoch))


def archive_path(collector: Collector, kind: str, slot: int) -> str:
    """The file's path below the project's base URL, in the archive's own layout."""
    project = PROJECTS[collector.project]
    month, stamp = _stamp(slot, "%Y.%m"), _stamp(slot, "%Y%m%d.%H%M")
    if kind == "rib":
        name = f"{project.ribs_dir}{project.rib_word}.{stamp}{project.suffix}"
    elif kind == "updates":
        name = f"{project.updates_dir}updates.{stamp}{project.suffix}"
    else:
        raise ValueError(f"unknown file kind {kind!r}")
    if collector.project == "ris":
        return f"{collector.remote_folder}/{month}/{name}"
    return "/".join(p for p in (collector.remote_folder, "bgpdata", month, name) if p)


def cache_path(collector: Collector, kind: str, slot: int) -> str:
    """The file's path inside the cache: the archive layout, route-views2 under its own folder."""
    path = archive_path(collector, kind, slot)
    if collector.project == "routeviews" and not collector.remote_folder:
        return f"{collector.cache_folder}/{path}"
    return path


def update_slots(collector: Collector, start: float, end: float) -> list[int]:
    """Start times of the update files that hold records of ``[start, end)``."""
    step = PROJECTS[collector.project].update_cadence_s
    first = int(math.floor(start / step) * step)
    return list(range(first, int(math.ceil(end)), step))


def rib_slot(collector: Collector, at: float, back: int = 0) -> int:
    """Time of the RIB dump at or before ``at``; ``back`` steps further back (for a missing dump)."""
    step = PROJECTS[collector.project].rib_cadence_s
    return int(math.floor(at / step) * step) - back * step


# --- mirrors and settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Settings from the config file and environment: the cache folder and project mirrors."""

    cache: Path | None = None
    mirrors: Mapping[str, str] = field(default_factory=dict)


def check_url(url: str) -> str:
    """A base URL, ending with '/'; ConfigError unless http, https or file."""
    url = url.strip()
    if not _URL.match(url):
        raise ConfigError(f"not an http(s) or file URL: {redact_url(url)!r}")
    return url if url.endswith("/") else url + "/"


def parse_mirror(text: str) -> dict[str, str]:
    """``URL`` (every project) or ``PROJECT=URL`` -> {project: base URL}."""
    project, sep, url = text.partition("=")
    if sep and not _URL.match(text):
        if project not in PROJECTS:
            raise ConfigError(f"unknown project {project!r} in mirror; use {', '.join(PROJECTS)}")
        return {project: check_url(url)}
    return dict.fromkeys(PROJECTS, check_url(text))


def merge_mirrors(settings: Settings, texts: Sequence[str]) -> dict[str, str]:
    """Mirrors from the settings, overridden by ``--mirror`` values in order."""
    mirrors = {p: check_url(u) for p, u in settings.mirrors.items()}
    for text in texts:
        mirrors.update(parse_mirror(text))
    return mirrors


def base_url(project: str, mirrors: Mapping[str, str] | None = None) -> str:
    """The project's base URL (its mirror's, if one is set), ending with '/'."""
    url = (mirrors or {}).get(project) or PROJECTS[project].base_url
    return url if url.endswith("/") else url + "/"


def config_path() -> Path:
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    root = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(root) / "anystab" / "config.toml"


def load_config(path: Path | None = None) -> Settings:
    """Settings from the config file (absent file: defaults); bad content raises ConfigError."""
    path = path or config_path()
    if not path.is_file():
        return Settings()
    try:
        data = tomli.loads(path.read_text())
    except (OSError, tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from None
    mirrors = data.get("mirrors", {})
    if not isinstance(mirrors, dict) or set(mirrors) - set(PROJECTS):
        raise ConfigError(f'{path}: [mirrors] takes {", ".join(PROJECTS)} = "URL"')
    cache = data.get("cache")
    if cache is not None and not isinstance(cache, str):
        raise ConfigError(f"{path}: cache must be a folder path")
    return Settings(Path(cache).expanduser() if cache else None, _mirror_urls(mirrors, path))


def _mirror_urls(mirrors: Mapping[str, object], path: Path) -> dict[str, str]:
    out = {}
    for project, url in mirrors.items():
        try:
            out[project] = check_url(url if isinstance(url, str) else "")
        except ConfigError as exc:
            raise ConfigError(f"{path}: [mirrors] {project}: {exc}") from None
    return out


def default_cache(settings: Settings | None = None) -> Path:
    """``$ANYSTAB_CACHE``, else the config file's ``cache``, else ``$XDG_CACHE_HOME/anystab``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if settings is not None and settings.cache is not None:
        return settings.cache
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "anystab"
