"""Fixtures for the analysis stage tests."""

from __future__ import annotations

import pytest

from anystab.params import SiteMap


@pytest.fixture
def site_map() -> SiteMap:
    return SiteMap(names={"64501 64511": "AMS"}, communities={"64511:100": "FRA", "64511:200": "LHR"})
