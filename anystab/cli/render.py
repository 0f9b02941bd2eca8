"""The two consoles: stdout for data and reports, stderr for people (progress, messages)."""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def stderr_console() -> Console:
    return Console(stderr=True)


def stdout_console() -> Console:
    return Console(soft_wrap=False)
