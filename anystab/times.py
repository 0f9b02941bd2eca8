"""Times as people read and paste them: ISO 8601 UTC with a Z, to the millisecond at most."""

from __future__ import annotations

from datetime import UTC, datetime
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
