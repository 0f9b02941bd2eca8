"""The two consoles: stdout for data and reports, stderr for people (progress, messages)."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


REPORT_WIDTH = 120


def stdout_console() -> Console:
    """The report console: the terminal's width, or into a pipe or file $COLUMNS (120 when unset)."""
    from rich.console import Console

    console = Console(soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(soft_wrap=False, width=REPORT_WIDTH)
    return console
