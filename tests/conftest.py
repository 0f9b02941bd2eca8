"""Suite-wide: print how many fuzz cases ran per reader (tests/hardening), also when run under xdist; list
what was skipped and why (a part the machine lacks, tests/support/needs.py), or with
``ANYSTAB_REQUIRE_ALL=1`` fail every test that would have been skipped."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest
from support.needs import REQUIRE_ALL_ENV

COUNTS_KEY = "anystab_fuzz_counts"


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a skipped test gave, without pytest's ``Skipped: `` prefix."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.skipped and os.environ.get(REQUIRE_ALL_ENV) == "1" and not hasattr(report, "wasxfail"):
        report.longrepr = f"{REQUIRE_ALL_ENV}=1: a skip is a failure here; {skip_reason(report)}"
        report.outcome = "failed"
    return report


def pytest_configure(config: pytest.Config) -> None:
    setattr(config, COUNTS_KEY, Counter())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    counts = json.loads(getattr(node, "workeroutput", {}).get(COUNTS_KEY, "{}"))
    getattr(node.config, COUNTS_KEY).update(counts)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reasons = Counter(skip_reason(r) for r in terminalreporter.stats.get("skipped", []))
    if reasons:
        terminalreporter.write_sep("-", "skipped, and why")
        for reason, count in sorted(reasons.items()):
            terminalreporter.write_line(f"{count:4d} {'test' if count == 1 else 'tests'}: {reason}")
        terminalreporter.write_line(f"({REQUIRE_ALL_ENV}=1 makes each of these a failure, as .ci/run does)")
    totals: Counter[str] = getattr(config, COUNTS_KEY, Counter())
    if totals:
        text = ", ".join(f"{reader}={totals[reader]}" for reader in sorted(totals))
        terminalreporter.write_sep("-", "fuzz cases per reader")
        terminalreporter.write_line(f"fuzz cases: {text} (total {sum(totals.values())})")
