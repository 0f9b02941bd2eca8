"""Suite-wide: print how many fuzz cases ran per reader (tests/hardening), also when run under xdist."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

COUNTS_KEY = "anystab_fuzz_counts"


def pytest_configure(config: pytest.Config) -> None:
    setattr(config, COUNTS_KEY, Counter())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    counts = json.loads(getattr(node, "workeroutput", {}).get(COUNTS_KEY, "{}"))
    getattr(node.config, COUNTS_KEY).update(counts)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    totals: Counter[str] = getattr(config, COUNTS_KEY, Counter())
    if totals:
        text = ", ".join(f"{reader}={totals[reader]}" for reader in sorted(totals))
        terminalreporter.write_sep("-", "fuzz cases per reader")
        terminalreporter.write_line(f"fuzz cases: {text} (total {sum(totals.values())})")
