"""Text for people: times as they read and paste them (ISO 8601 UTC with a Z, to the millisecond at
most), counts with their noun in the right number."""

from __future__ import annotations

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


def pip_install(extra: str) -> str:
    """How to install an optional extra: ``pip install 'anystab[report]'``, and from a source checkout
    (this package beside a pyproject.toml, as in an editable install) also ``pip install '.[report]'``."""
    command = f"pip install 'anystab[{extra}]'"
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        command += f" (from the checkout {checkout}: pip install '.[{extra}]')"
    return command
