"""Fixtures of the fetch tests: a real archive server on 127.0.0.1 (:mod:`fetch_server`), a cache folder,
and no user configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fetch_server import ArchiveServer, build_archive, isolate_settings, serving, sigpipe_ignored


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ArchiveServer]:
    with serving(ArchiveServer(build_archive(tmp_path / "archive"))) as state:
        yield state


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own config file or cache."""
    isolate_settings(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def _sigpipe_ignored() -> Iterator[None]:
    with sigpipe_ignored():
        yield
