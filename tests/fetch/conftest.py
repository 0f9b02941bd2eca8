"""Fixtures of the fetch tests: a real archive server on 127.0.0.1 (:mod:`fetch_server`), a cache folder,
and no user configuration."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from fetch_server import ArchiveServer, Handler, build_archive


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ArchiveServer]:
    state = ArchiveServer(build_archive(tmp_path / "archive"))
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
