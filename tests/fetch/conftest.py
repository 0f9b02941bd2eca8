"""Fixtures of the fetch tests: a real archive server on 127.0.0.1 (:mod:`fetch_server`), a cache folder,
and no user configuration."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from fetch_server import ArchiveServer, build_archive, serving


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
    monkeypatch.setenv("ANYSTAB_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("ANYSTAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(autouse=True)
def _sigpipe_ignored() -> Iterator[None]:
    """The server writes to sockets that clients close; mrtparse's import turned SIGPIPE's default
    (killing) action back on, so the test process ignores it as Python normally does."""
    saved = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGPIPE, saved)
