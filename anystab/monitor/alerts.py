"""Alerts: episodes found in the results, notifications when they open, escalate and end, and delivery.

Episodes are a pure function of a service's results over the whole monitored period, so they do not
depend on how often the monitor runs. Rules (each optional, thresholds from the config):

1. ``p_break``: per target, the per-interval estimates (scope ``all``, session length D) whose sessions
   are all over (``interval_end + D <= W1``); an episode is a run of consecutive intervals whose mean
   P(break) reaches a threshold; its level is the highest reached.
2. ``switches``: per VP and target, site switches counted in epoch-aligned periods (``per``); an episode
   is a run of consecutive periods with more switches than a threshold. Ongoing while its last period
   is not over.
3. ``site_loss``: per target, a site that had VPs routed to it and has none, while others still have
   (catchment share, scope ``all``); from the end of its last catchment to its next, at least
   ``min_duration`` long. Ongoing until the site has VPs again.
4. ``unrouted``: per VP and target, touching unrouted timeline intervals lasting at least a threshold;
   since the start of the unrouted stretch. Ongoing while it reaches the end of the data.

Notifications (:func:`notifications`), against the episodes known from earlier runs (checkpoint):
``open`` (a new ongoing episode), ``escalated`` (its level rose), ``resolved`` (it ended: restoration,
with its duration; also for an episode that began and ended between two runs). Episodes that ended more
than ``lookback`` before the end of the data are not announced (a first run over old archives). Each
notification has a stable ``id`` so that a receiver can drop a repeat (delivery is at least once).

Delivery (:func:`deliver`): a webhook (HTTP POST of the JSON, with a time-out) and/or a command (JSON on
stdin, exit status 0 = delivered). Failures stay in the outbox (state folder) with the error, and are
retried by the next run, up to :data:`MAX_ATTEMPTS` times. Webhook URLs are never written out: messages
show them masked (:func:`mask_url`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from anystab import __version__
from anystab.monitor import dataset
from anystab.monitor.config import AlertRules, Notify, Thresholds
from anystab.sources.registry import url_credentials
from anystab.timeline import PAIR_KEYS, UNROUTED, to_seconds

MAX_ATTEMPTS = 96
MAX_DELIVERY_LOG = 500
MIN_SECRET_CHARS = 4  # shorter URL parts ("/", "a") are not masked inside error texts
LEVEL_RANK = {"ok": 0, "warning": 1, "critical": 2}
VP_FIELDS = ("collector", "peer_asn", "peer_ip")


@dataclass(frozen=True)
class Episode:
    """A stretch of time during which a rule fired for one subject; ``end`` None = still going on."""

    service: str
    rule: str
    subject: dict[str, Any]
    level: str
    start: float
    end: float | None
    what: str
    value: float

    @property
    def id(self) -> str:
        text = json.dumps([self.service, self.rule, self.subject, round(self.start, 6)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def _iso(t: float | None) -> str | None:
    return None if t is None else dataset.iso(t)


def _runs(flags: list[tuple[float, float, str | None, float]]) -> Iterator[tuple[float, float, str, float]]:
    """Runs of consecutive (touching) spans with a level: (start, end, highest level, highest value)."""
    current: list[Any] | None = None
    for a, b, level, value in flags:
        if level is not None and current is not None and a <= current[1]:
            current[1] = b
            if LEVEL_RANK[level] > LEVEL_RANK[current[2]]:
                current[2] = level
            current[3] = max(current[3], value)
            continue
        if current is not None:
            yield tuple(current)
            current = None
        if level is not None:
            current = [a, b, level, value]
    if current is not None:
        yield tuple(current)


def p_break_episodes(service: str, estimates: pd.DataFrame, rules: AlertRules, w1: float) -> list[Episode]:
    assert rules.p_break is not None
    d = rules.p_break_session_s
    rows = estimates[(estimates["scope"] == "all") & (estimates["session_s"] == d)]
    out = []
    for target, group in rows.groupby("target", sort=True):
        flags = []
        for row in group.sort_values("interval_start").itertuples():
            a, b = row.interval_start.timestamp(), row.interval_end.timestamp()
            if b + d > w1:
                break
            value = row.mean_p if pd.notna(row.mean_p) else None
            flags.append((a, b, None if value is None else rules.p_break.level(value), value or 0.0))
        last_end = flags[-1][1] if flags else None
        for a, b, level, value in _runs(flags):
            out.append(
                Episode(
                    service, "p_break", {"target": target, "session_s": d}, level, a,
                    None if b == last_end else b,
                    f"mean P(break) of {d:g} s sessions reached {value:.4f}", value,
                )
            )  # fmt: skip
    return out


def switch_episodes(service: str, events: pd.DataFrame, rules: AlertRules, w1: float) -> list[Episode]:
    assert rules.switches is not None
    per = rules.switches_per_s
    switches = events[events["kind"] == "switch"]
    out: list[Episode] = []
    if switches.empty:
        return out
    buckets = (to_seconds(switches["time"]) // per) * per
    counted = switches.assign(bucket=buckets).groupby([*PAIR_KEYS, "bucket"]).size()
    for key, series in counted.groupby(level=[0, 1, 2, 3], sort=True):
        flags = [
            (b, b + per, rules.switches.level(float(n), strict=True), float(n))
            for b, n in ((idx[-1], n) for idx, n in series.items())
        ]
        subject = dict(zip(PAIR_KEYS, (key[0], int(key[1]), key[2], key[3]), strict=True))
        for a, b, level, value in _runs(flags):
            out.append(
                Episode(
                    service, "switches", subject, level, a, None if b > w1 else b,
                    f"{int(value)} site switches within {per:g} s", value,
                )
            )  # fmt: skip
    return out


def site_loss_episodes(service: str, share: pd.DataFrame, rules: AlertRules, w1: float) -> list[Episode]:
    assert rules.site_loss is not None
    rows = share[share["scope"] == "all"]
    out = []
    for target, group in rows.groupby("target", sort=True):
        pieces = sorted(
            {(s.timestamp(), e.timestamp()) for s, e in zip(group["start"], group["end"], strict=True)}
        )
        present = {
            site: sorted(zip(to_seconds(g["start"]), to_seconds(g["end"]), strict=True))
            for site, g in group[group["vps"] > 0].groupby("site")
        }
        covered_until = max(e for _, e in pieces)
        for site, spans in sorted(present.items()):
            for (_, gone), (back, _) in zip(spans, [*spans[1:], (None, None)], strict=True):
                if gone >= covered_until or (back is not None and back <= gone):
                    continue
                end = None if back is None else float(back)
                if (end if end is not None else w1) - gone < rules.site_loss_min_s:
                    continue
                what = f"site {site} lost all of its catchment"
                out.append(Episode(service, "site_loss", {"target": target, "site": site}, rules.site_loss,
                                   float(gone), end, what, 0.0))  # fmt: skip
    return out


def unrouted_episodes(service: str, timeline: pd.DataFrame, rules: AlertRules, w1: float) -> list[Episode]:
    limits: Thresholds | None = rules.unrouted
    assert limits is not None and limits.lowest() is not None
    rows = timeline[timeline["state"] == UNROUTED]
    out = []
    for key, group in rows.groupby(PAIR_KEYS, sort=True):
        spans: list[list[float]] = []
        for a, b in sorted(zip(to_seconds(group["start"]), to_seconds(group["end"]), strict=True)):
            if spans and a <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        subject = dict(zip(PAIR_KEYS, (key[0], int(key[1]), key[2], key[3]), strict=True))
        for a, b in spans:
            level = limits.level(b - a)
            if level is not None:
                end = None if b >= w1 else float(b)
                out.append(
                    Episode(
                        service, "unrouted", subject, level, float(a), end, f"no route to {key[3]}", b - a
                    )
                )
    return out


def find_episodes(
    service: str, tables: dict[str, pd.DataFrame], rules: AlertRules, w1: float
) -> list[Episode]:
    """Every episode of every configured rule for one service's results."""
    out: list[Episode] = []
    if rules.p_break is not None:
        out += p_break_episodes(service, tables["estimates"], rules, w1)
    if rules.switches is not None:
        out += switch_episodes(service, tables["events"], rules, w1)
    if rules.site_loss is not None:
        out += site_loss_episodes(service, tables["site_share"], rules, w1)
    if rules.unrouted is not None:
        out += unrouted_episodes(service, tables["timeline"], rules, w1)
    return out


def _message(ep: Episode, state: str, w1: float) -> dict[str, Any]:
    duration = (ep.end if ep.end is not None else w1) - ep.start
    text = f"{ep.what}" + (
        f"; ended after {duration:.0f} s" if state == "resolved" else f"; for {duration:.0f} s so far"
    )
    body = {
        "service": ep.service,
        "rule": ep.rule,
        "state": state,
        "level": ep.level,
        "where": ep.subject,
        "what": text,
        "since": _iso(ep.start),
        "until": _iso(ep.end),
        "duration_s": round(duration, 6),
        "value": ep.value,
        "data_until": _iso(w1),
        "episode": ep.id,
    }
    body["id"] = hashlib.sha1(f"{ep.id}|{state}|{ep.level}".encode()).hexdigest()[:16]
    return body


def notifications(
    episodes: list[Episode],
    known: dict[str, dict[str, Any]],
    w1: float,
    lookback_s: float,
    services: set[str],
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(new notifications, updated known episodes) — see the module docstring."""
    out: list[dict[str, Any]] = []
    now_known: dict[str, dict[str, Any]] = {}
    found = {ep.id: ep for ep in episodes}
    for eid, ep in found.items():
        before = known.get(eid)
        if ep.end is not None and ep.end < w1 - lookback_s and before is None:
            continue
        if ep.end is None:
            if before is None:
                out.append(_message(ep, "open", w1))
            elif LEVEL_RANK[ep.level] > LEVEL_RANK[before["level"]]:
                out.append(_message(ep, "escalated", w1))
        elif before is None or before["open"]:
            out.append(_message(ep, "resolved", w1))
        now_known[eid] = {"open": ep.end is None, "level": ep.level, "end": ep.end, "episode": asdict(ep)}
    for eid, before in known.items():
        if eid in found or before["episode"]["service"] not in services:
            continue
        if before["open"]:
            gone = Episode(
                **{**before["episode"], "end": w1, "what": before["episode"]["what"] + " (no longer seen)"}
            )
            out.append(_message(gone, "resolved", w1))
        elif before["end"] is not None and before["end"] >= w1 - lookback_s:
            now_known[eid] = before
    return out, now_known


def open_level(known: dict[str, dict[str, Any]]) -> str:
    """The highest level among ongoing episodes: ok, warning or critical."""
    levels = [k["level"] for k in known.values() if k["open"]]
    return max(levels, key=LEVEL_RANK.__getitem__, default="ok")


def mask_url(url: str) -> str:
    """A webhook URL safe to print: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/***"


@dataclass
class DeliveryOutcome:
    """What one :func:`deliver` did."""

    delivered: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


def _post(url: str, body: bytes, timeout: float) -> None:
    url, auth = url_credentials(url)
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"anystab/{__version__}", **auth},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def _send(channel: str, message: dict[str, Any], notify: Notify) -> None:
    body = json.dumps(message, sort_keys=True).encode()
    if channel == "webhook":
        assert notify.webhook is not None
        _post(notify.webhook, body, notify.timeout_s)
        return
    done = subprocess.run(
        list(notify.command), input=body, capture_output=True, timeout=notify.timeout_s, check=False
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"command exited with status {done.returncode} {tail[0]}".strip())


def _error_text(exc: BaseException, notify: Notify) -> str:
    """The error for the outbox and logs, with the webhook URL and each of its secret parts masked."""
    text = f"{type(exc).__name__}: {exc}"
    if notify.webhook:
        text = text.replace(notify.webhook, mask_url(notify.webhook))
        parts = urlsplit(notify.webhook)
        secrets = [parts.netloc.rpartition("@")[0], parts.password, parts.path.strip("/"), parts.query]
        for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
            text = text.replace(secret, "***")
    return text


def queue(outbox: list[dict[str, Any]], messages: list[dict[str, Any]], notify: Notify) -> None:
    """Add each message once per configured channel to the outbox."""
    for message in messages:
        for channel in notify.channels():
            outbox.append({"channel": channel, "message": message, "attempts": 0, "last_error": None})


def deliver(outbox: list[dict[str, Any]], notify: Notify) -> tuple[list[dict[str, Any]], DeliveryOutcome]:
    """Try every queued delivery once; returns (what stays queued, outcome)."""
    outcome = DeliveryOutcome()
    remaining: list[dict[str, Any]] = []
    for entry in outbox:
        if entry["channel"] not in notify.channels():
            outcome.dropped.append(entry)
            continue
        entry = {**entry, "attempts": entry["attempts"] + 1, "time": _iso(time.time())}
        try:
            _send(entry["channel"], entry["message"], notify)
        except (OSError, HTTPException, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
            entry["last_error"] = _error_text(exc, notify)
            (outcome.dropped if entry["attempts"] >= MAX_ATTEMPTS else remaining).append(entry)
            outcome.failed.append(entry)
            continue
        outcome.delivered.append(entry)
    return remaining, outcome


def delivery_log(log: list[dict[str, Any]], outcome: DeliveryOutcome) -> list[dict[str, Any]]:
    """The checkpoint's delivery record, newest last, at most :data:`MAX_DELIVERY_LOG` entries."""
    for entry, ok in [(e, True) for e in outcome.delivered] + [(e, False) for e in outcome.failed]:
        log.append({
            "id": entry["message"]["id"], "channel": entry["channel"], "ok": ok, "time": entry.get("time"),
            "attempts": entry["attempts"], "error": entry.get("last_error") if not ok else None,
        })  # fmt: skip
    return log[-MAX_DELIVERY_LOG:]
