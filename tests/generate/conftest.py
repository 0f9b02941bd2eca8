"""Fixtures for the generator tests."""

from __future__ import annotations

import pytest
from support.scenario import small_scenario

from anystab.generate.scenario import Scenario


@pytest.fixture(scope="session")
def small() -> Scenario:
    return small_scenario()
