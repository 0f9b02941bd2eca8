"""The monitoring configuration file (TOML): services, sources, folders, parameters, alerts, notifications.

Steps of :func:`load_config`:

1. Parse the TOML; unknown keys at any level are errors (a typo must not silently disable an alert).
2. Relative paths (state, output, archives, cache, service files) are taken from the config file's folder.
3. Durations are seconds or text such as ``90s``, ``10m``, ``1h``, ``1d``.
4. Services are inline tables (the keys of a service file, and a name) or ``file = "service.toml"`` (a
   name, site_by and min_dwell beside it override the file's). Each service's parameters are resolved by
   :func:`anystab.service.resolve_params`, the rules of the command line; the top-level ``min_dwell`` is
   the default of services that set none.
5. :meth:`MonitorConfig.validate` checks what spans several fields (no two services of one name, a start
   time when collectors are fetched and an end after it, warning thresholds not above critical ones).

:data:`EXAMPLE_CONFIG` is the commented example ``anystab init`` writes; a test loads it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli

from anystab.errors import ConfigError
from anystab.params import DEFAULT_RESYNC_S, DEFAULT_SESSIONS_S, AnalysisParams
from anystab.service import (
    Service,
    duration_setting,
    load_service,
    resolve_params,
    service_from_doc,
    service_settings,
)
from anystab.sources.registry import parse_mirror
from anystab.targets import Target
from anystab.text import parse_time

DEFAULT_INTERVAL_S = 3600.0
DEFAULT_LOOKBACK_S = 86400.0
DEFAULT_WAIT_S = 60.0
DEFAULT_NOTIFY_TIMEOUT_S = 10.0
DEFAULT_SWITCH_BUCKET_S = 3600.0
LEVELS = ("warning", "critical")

_TOP_KEYS = {"state_dir", "output_dir", "sessions", "min_dwell", "resync", "interval", "jobs"}
_TOP_TABLES = {"sources", "services", "alerts", "notify"}
_SOURCE_KEYS = {"archives", "collectors", "start", "end", "cache", "mirrors", "retries"}
_SERVICE_KEYS = {"name", "file", "site_by", "min_dwell", "targets", "sites", "communities"}
_ALERT_KEYS = {"lookback", "p_break", "switches", "site_loss", "unrouted"}
_NOTIFY_KEYS = {"webhook", "command", "timeout"}


def _time(value: Any, where: str) -> float:
    """Unix seconds from text or a TOML date/time; UTC unless an offset is given (as on the command line)."""
    try:
        return parse_time(value.isoformat() if hasattr(value, "isoformat") else str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass(frozen=True)
class Thresholds:
    """A rule's warning and critical thresholds (either may be None = that level is off)."""

    warning: float | None = None
    critical: float | None = None

    def level(self, value: float, strict: bool = False) -> str | None:
        """The level ``value`` reaches (``strict``: must exceed the threshold, not just reach it)."""
        for name, limit in (("critical", self.critical), ("warning", self.warning)):
            if limit is not None and (value > limit if strict else value >= limit):
                return name
        return None

    def lowest(self) -> float | None:
        values = [v for v in (self.warning, self.critical) if v is not None]
        return min(values) if values else None


@dataclass(frozen=True)
class AlertRules:
    """Which alerts to raise; a rule left out of the config is off."""

    lookback_s: float = DEFAULT_LOOKBACK_S
    p_break: Thresholds | None = None
    p_break_session_s: float = 3600.0
    switches: Thresholds | None = None
    switches_per_s: float = DEFAULT_SWITCH_BUCKET_S
    site_loss: str | None = None
    site_loss_min_s: float = 0.0
    unrouted: Thresholds | None = None


@dataclass(frozen=True)
class Notify:
    """Where alerts go: a webhook receiving JSON and/or a command reading JSON on stdin."""

    webhook: str | None = None
    command: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_NOTIFY_TIMEOUT_S

    def channels(self) -> list[str]:
        return (["webhook"] if self.webhook else []) + (["command"] if self.command else [])


@dataclass(frozen=True)
class MonitorConfig:
    """Everything one ``anystab monitor`` run needs."""

    path: Path
    state_dir: Path
    output_dir: Path
    services: tuple[Service, ...]
    archives: tuple[Path, ...] = ()
    collectors: tuple[str, ...] = ()
    fetch_start: float | None = None
    fetch_end: float | None = None
    cache: Path | None = None
    mirrors: tuple[str, ...] = ()
    fetch_retries: int | None = None
    sessions_s: tuple[float, ...] = DEFAULT_SESSIONS_S
    min_dwell_s: float = 0.0
    resync_s: float = DEFAULT_RESYNC_S
    interval_s: float = DEFAULT_INTERVAL_S
    jobs: int = 1
    alerts: AlertRules = field(default_factory=AlertRules)
    notify: Notify = field(default_factory=Notify)

    def validate(self) -> None:
        if not self.services:
            raise ConfigError(f"{self.path}: name at least one [[services]] entry")
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ConfigError(f"{self.path}: service names must differ")
        if not self.archives and not self.collectors:
            raise ConfigError(f"{self.path}: [sources] needs archives (folders) or collectors (to fetch)")
        if self.collectors and self.fetch_start is None:
            raise ConfigError(f"{self.path}: [sources] start is needed to fetch collectors")
        if self.fetch_end is not None and self.fetch_start is not None and self.fetch_end <= self.fetch_start:
            raise ConfigError(
                f"{self.path}: [sources] end ({_iso(self.fetch_end)}) must be after start "
                f"({_iso(self.fetch_start)})"
            )
        if self.interval_s <= 0 or self.jobs < 0:
            raise ConfigError(f"{self.path}: interval must be positive and jobs not negative")
        for name, t in (("p_break", self.alerts.p_break), ("switches", self.alerts.switches)):
            if t and t.warning is not None and t.critical is not None and t.warning > t.critical:
                raise ConfigError(f"{self.path}: [alerts.{name}] warning is above critical")
        for service in self.services:
            try:
                self.params(service)
            except ConfigError as exc:
                raise ConfigError(f"{self.path}: service {service.name}: {exc}") from None

    def params(self, service: Service) -> AnalysisParams:
        """The analysis parameters of one service (:func:`anystab.service.resolve_params`), validated."""
        return resolve_params(
            service,
            sessions_s=self.sessions_s,
            resync_s=self.resync_s,
            default_min_dwell_s=self.min_dwell_s,
        )

    def all_targets(self) -> list[Target]:
        """Every service's targets, once each (what the archive files are read for)."""
        seen: dict[tuple[str, str], Target] = {}
        for service in self.services:
            for t in service.targets:
                seen.setdefault((t.text, str(t.address)), t)
        return [seen[k] for k in sorted(seen)]

    def fingerprint(self) -> str:
        """Changes whenever a setting that shapes the results changes (then everything is recomputed)."""
        doc = {
            "services": [
                {
                    "name": s.name,
                    "targets": [(t.text, str(t.address)) for t in s.targets],
                    "params": repr(self.params(s)),
                }
                for s in self.services
            ],
            "interval": self.interval_s,
            "alerts": asdict(self.alerts),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _check_keys(doc: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(doc) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")


def _table(doc: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _session_values(doc: Mapping[str, Any], where: str) -> list[Any]:
    value = doc.get("sessions", list(DEFAULT_SESSIONS_S))
    if not isinstance(value, list):
        raise ConfigError(f"{where}: sessions must be a list of durations")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings")
    return tuple(value)


def _service(entry: Any, i: int, base: Path, where: str) -> Service:
    """A ``[[services]]`` entry: inline (the keys of a service file and a name), or ``file = ...`` with
    an optional name, site_by and min_dwell that override the file's."""
    where = f"{where} [[services]] {i}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(entry, _SERVICE_KEYS, where)
    if "file" in entry:
        beside = sorted(set(entry) & {"targets", "sites", "communities"})
        if beside:
            raise ConfigError(f"{where}: {', '.join(beside)} come from the service file: leave them out")
        service = load_service(base / str(entry["file"]))
        site_by, min_dwell_s = service_settings(entry, where)
        return replace(
            service,
            name=str(entry.get("name", service.name)),
            site_by=site_by or service.site_by,
            min_dwell_s=service.min_dwell_s if min_dwell_s is None else min_dwell_s,
        )
    if not isinstance(entry.get("name"), str):
        raise ConfigError(f'{where}: name = "..." is needed')
    if not isinstance(entry.get("targets"), list) or not entry["targets"]:
        raise ConfigError(f"{where}: a service needs targets = [{{ prefix = ... }}] or file = ...")
    return service_from_doc(entry, where, entry["name"])


def _thresholds(doc: dict[str, Any], key: str, where: str, duration: bool) -> Thresholds:
    values: dict[str, float | None] = {}
    for level in LEVELS:
        v = doc.get(level)
        if v is None:
            values[level] = None
        elif duration:
            values[level] = duration_setting(v, f"{where} {level}")
        elif isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
            values[level] = float(v)
        else:
            raise ConfigError(f"{where} {level}: must be a non-negative number")
    if values["warning"] is None and values["critical"] is None:
        raise ConfigError(f"{where}: name a warning and/or critical threshold")
    return Thresholds(values["warning"], values["critical"])


def _alerts(doc: dict[str, Any], where: str) -> AlertRules:
    _check_keys(doc, _ALERT_KEYS, where)
    rules: dict[str, Any] = {"lookback_s": duration_setting(doc.get("lookback", DEFAULT_LOOKBACK_S), where)}
    if "p_break" in doc:
        sub = _table(doc, "p_break", where)
        _check_keys(sub, {"session", *LEVELS}, f"{where}.p_break")
        rules["p_break"] = _thresholds(sub, "p_break", f"{where}.p_break", duration=False)
        rules["p_break_session_s"] = duration_setting(sub.get("session", "1h"), f"{where}.p_break session")
    if "switches" in doc:
        sub = _table(doc, "switches", where)
        _check_keys(sub, {"per", *LEVELS}, f"{where}.switches")
        rules["switches"] = _thresholds(sub, "switches", f"{where}.switches", duration=False)
        rules["switches_per_s"] = duration_setting(sub.get("per", "1h"), f"{where}.switches per")
    if "site_loss" in doc:
        sub = _table(doc, "site_loss", where)
        _check_keys(sub, {"level", "min_duration"}, f"{where}.site_loss")
        level = sub.get("level", "critical")
        if level not in LEVELS:
            raise ConfigError(f"{where}.site_loss level: use warning or critical")
        rules["site_loss"] = level
        rules["site_loss_min_s"] = duration_setting(sub.get("min_duration", 0), f"{where}.site_loss")
    if "unrouted" in doc:
        sub = _table(doc, "unrouted", where)
        _check_keys(sub, set(LEVELS), f"{where}.unrouted")
        rules["unrouted"] = _thresholds(sub, "unrouted", f"{where}.unrouted", duration=True)
    return AlertRules(**rules)


def _notify(doc: dict[str, Any], where: str) -> Notify:
    _check_keys(doc, _NOTIFY_KEYS, where)
    webhook = doc.get("webhook")
    if webhook is not None and not _web_url(webhook):
        raise ConfigError(
            f"{where} webhook: must be an http:// or https:// URL with a host (and a numeric port)"
        )
    command = _strings(doc.get("command", []), f"{where} command")
    return Notify(webhook or None, command, duration_setting(doc.get("timeout", 10), f"{where} timeout"))


def _web_url(value: Any) -> bool:
    """Whether ``value`` is an http(s) URL urllib can send to: a host, a numeric port if any, no spaces."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return bool(parts.hostname) and not any(c.isspace() or ord(c) < 32 for c in value)


def _mirrors(value: Any, where: str) -> tuple[str, ...]:
    """``["URL" | "PROJECT=URL", ...]`` or ``{ PROJECT = "URL" }`` (as in the settings file's ``[mirrors]``),
    checked now, as ``PROJECT=URL`` texts."""
    if isinstance(value, dict):
        if not all(isinstance(url, str) for url in value.values()):
            raise ConfigError(f'{where}: takes PROJECT = "URL" entries')
        texts = tuple(f"{project}={url}" for project, url in value.items())
    else:
        texts = _strings(value, where)
    for text in texts:
        try:
            parse_mirror(text)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return texts


def _retries(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}: must be a whole number, 0 or more")
    return value


def _sources(doc: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    _check_keys(doc, _SOURCE_KEYS, where)
    return {
        "archives": tuple(base / p for p in _strings(doc.get("archives", []), f"{where} archives")),
        "collectors": _strings(doc.get("collectors", []), f"{where} collectors"),
        "fetch_start": _time(doc["start"], f"{where} start") if "start" in doc else None,
        "fetch_end": _time(doc["end"], f"{where} end") if "end" in doc else None,
        "cache": base / str(doc["cache"]) if "cache" in doc else None,
        "mirrors": _mirrors(doc.get("mirrors", []), f"{where} mirrors"),
        "fetch_retries": _retries(doc.get("retries"), f"{where} retries"),
    }


def load_config(path: str | Path) -> MonitorConfig:
    """Read and validate a monitoring config file (see the module docstring)."""
    path = Path(path)
    try:
        doc = tomli.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    _check_keys(doc, _TOP_KEYS | _TOP_TABLES, str(path))
    base = path.resolve().parent
    for key in ("state_dir", "output_dir"):
        if not isinstance(doc.get(key), str):
            raise ConfigError(f'{path}: {key} = "FOLDER" is needed')
    services = doc.get("services", [])
    if not isinstance(services, list):
        raise ConfigError(f"{path}: services must be [[services]] entries")
    jobs = doc.get("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool):
        raise ConfigError(f"{path}: jobs must be a whole number")
    config = MonitorConfig(
        path=path,
        state_dir=base / doc["state_dir"],
        output_dir=base / doc["output_dir"],
        services=tuple(_service(e, i, base, str(path)) for i, e in enumerate(services, 1)),
        sessions_s=tuple(duration_setting(v, f"{path} sessions") for v in _session_values(doc, str(path))),
        min_dwell_s=duration_setting(doc.get("min_dwell", 0), f"{path} min_dwell"),
        resync_s=duration_setting(doc.get("resync", DEFAULT_RESYNC_S), f"{path} resync"),
        interval_s=duration_setting(doc.get("interval", DEFAULT_INTERVAL_S), f"{path} interval"),
        jobs=jobs,
        alerts=_alerts(_table(doc, "alerts", str(path)), f"{path} [alerts]"),
        notify=_notify(_table(doc, "notify", str(path)), f"{path} [notify]"),
        **_sources(_table(doc, "sources", str(path)), base, f"{path} [sources]"),
    )
    config.validate()
    return config


EXAMPLE_CONFIG = """\
# anystab monitoring configuration (TOML). Run every 15 minutes from cron:
#   */15 * * * * anystab monitor --config /etc/anystab/monitor.toml
# Relative paths are taken from this file's folder. Durations: seconds, or 10s, 10m, 1h, 1d.

state_dir = "state"        # processed files' elements, checkpoint, alert state, lock (keep it)
output_dir = "dataset"     # parquet dataset: <table>/day=YYYY-MM-DD/part-<digest>.parquet
sessions = ["10s", "1m", "10m", "1h", "1d"]   # TCP session lengths D
min_dwell = "0s"           # transient filter (a service may set its own)
interval = "1h"            # per-interval estimates and VP statistics
jobs = 1                   # files read in parallel (0 = all cores)

[sources]
archives = ["archive"]     # local MRT folders (RIS or RouteViews layout), read as files appear
# collectors = ["rrc00", "route-views2"]   # or fetch these collectors' files into the cache
# start = "2025-06-02T00:00:00Z"          # first time to fetch (needed with collectors)
# end = "2025-07-01T00:00:00Z"            # last time to fetch (default: keep following the archive)
# cache = "cache"                          # default: $ANYSTAB_CACHE or ~/.cache/anystab
# mirrors = { ris = "https://mirror.example/ris/" }   # or ["URL"] for every project
# retries = 4                              # more tries of a file after a network error or HTTP 5xx

[[services]]
name = "ns.example"
site_by = "upstream"       # upstream | origin | path | community | nexthop
targets = [
    { prefix = "192.0.2.0/24", address = "192.0.2.53" },
    { prefix = "2001:db8:53::/48", address = "2001:db8:53::53" },
]
[services.sites]           # site signature -> site name
"64497 64496" = "ams"
"64498 64496" = "sin"
"64499 64496" = "iad"
# A service may also come from a service file:
# [[services]]
# name = "other"
# file = "other-service.toml"

[alerts]
lookback = "1d"            # episodes that ended longer ago than this are not announced (first run)

[alerts.p_break]           # mean P(break) over VPs of sessions of this length starting in an interval
session = "1h"
warning = 0.01
critical = 0.05

[alerts.switches]          # a VP with more than this many site switches in one period
per = "1h"
warning = 3
critical = 10

[alerts.site_loss]         # a site losing all of its catchment (no VP routed to it)
level = "critical"
min_duration = "0s"

[alerts.unrouted]          # a VP without a route to a target for at least this long
warning = "10m"
critical = "1h"

[notify]
# webhook = "https://hooks.example/anystab"   # receives each alert as JSON (POST)
# command = ["/usr/local/bin/page-oncall"]    # receives each alert as JSON on stdin
timeout = "10s"
"""
