"""Time units: every time column of the tables holds int64 microseconds since the epoch (UTC)."""

from __future__ import annotations

US_PER_S = 1_000_000
