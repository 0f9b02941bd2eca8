"""Fixtures of the fetch tests: a real archive server on 127.0.0.1 (:mod:`support.fetch_server`), a cache
folder, and no user configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fetch_server import ArchiveServer, build_archive, serving
from support.fetch_server import isolated as isolated  # autouse: no user config, SIGPIPE ignored


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ArchiveServer]:
    with serving(ArchiveServer(build_archive(tmp_path / "archive"))) as state:
        yield state


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"
