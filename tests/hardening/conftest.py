"""Hardening tests: hand each process's fuzz case counts to the summary (tests/conftest.py prints them)."""

from __future__ import annotations

import json

import pytest
from support.fuzzing import COUNTS

COUNTS_KEY = "anystab_fuzz_counts"


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller sums the workers' counts
        workeroutput[COUNTS_KEY] = json.dumps(dict(COUNTS))
        return
    totals = getattr(config, COUNTS_KEY, None)
    if totals is not None:
        totals.update(COUNTS)
