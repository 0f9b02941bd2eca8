"""Text for people: times as they read and paste them (ISO 8601 UTC with a Z, to the millisecond at
most), counts with their noun in the right number; and back: durations and times as people write them (on the
command line and in the monitor's config)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def iso_utc(value: Any) -> str:
    """``2015-10-23T02:01:18.509Z``, or ``2015-10-23T02:01:18Z`` for a whole second.

    Takes a datetime or pandas Timestamp (naive = UTC), Unix seconds, or ISO 8601 text.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    ms = value.microsecond // 1000
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms:03d}Z" if ms else f"{text}Z"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``; ``words`` for an irregular plural (``switches``)."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def human_duration(seconds: float | None) -> str:
    """4500 -> '1 h 15 min', 1300 -> '21 min 40 s', 0.4 -> '0.4 s'; None or NaN -> '–'."""
    if seconds is None or seconds != seconds:
        return "–"
    if seconds < 60:
        return f"{seconds:.3g} s"
    parts, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts[:2])


def pip_install(extra: str) -> str:
    """How to install an optional extra: ``pip install 'anystab[report]'``, and from a source checkout
    (this package beside a pyproject.toml, as in an editable install) also ``pip install '.[report]'``."""
    command = f"pip install 'anystab[{extra}]'"
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        command += f" (from the checkout {checkout}: pip install '.[{extra}]')"
    return command


_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1h``, ``1d``, ``1w`` -> seconds."""
    m = _DURATION.match(text.lower())
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"not a duration: {text!r} (use e.g. 10s, 1m, 10m, 1h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_time(text: str) -> float:
    """ISO 8601 (UTC unless an offset is given) or Unix seconds -> Unix seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (use ISO 8601 such as 2024-05-01T12:00:00Z, or Unix seconds)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
