"""Suite-wide: print how many fuzz cases ran per reader (tests/hardening), also when run under xdist; list
what was skipped and why (a part the machine lacks, tests/needs.py), or with ``ANYSTAB_REQUIRE_ALL=1`` fail
every test that would have been skipped; under xdist, run a module with a costly shared fixture on one
worker."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest
from needs import REQUIRE_ALL_ENV

COUNTS_KEY = "anystab_fuzz_counts"
# modules whose tests share a costly module-scoped fixture (the lab's full run, a minute): under pytest -n
# each runs on one worker, so the fixture is made once, not once per worker
ONE_WORKER_MODULES = ("tests/lab/test_lab_run.py",)


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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's load scheduling, except that each of :data:`ONE_WORKER_MODULES` goes to one worker whole."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return OneWorkerModules(config, log)


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
