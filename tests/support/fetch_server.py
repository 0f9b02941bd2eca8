"""A real HTTP server on 127.0.0.1 serving a generated archive tree, with faults on demand.

The tree is the committed sample archive (``data/``: rrc00 and route-views.linx, generated MRT files) plus a
copy of the RouteViews files at the archive root (``bgpdata/...``), where route-views2 lives.

Faults are queued per file path and used one per request: ``404``, ``500``, ``drop`` (headers with the full
length, half the body, then the connection is closed), ``truncate`` (a 200 answer whose body is the first
half of the file, with a matching length: only decompression can tell), ``403``, ``slow`` (the answer waits
:data:`SLOW_S` before its headers), ``norange`` (a Range request is answered 200 with the whole file) and
``416``. The server answers Range requests (``bytes=N-``) with 206 and logs every request.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data"
SLOW_S = 1.0
START = "2025-06-02T00:00:00Z"
END = "2025-06-02T00:20:00Z"


@dataclass
class Request:
    path: str
    range: str | None
    status: int


@dataclass
class ArchiveServer:
    """The server's state: its root folder, queued faults, and the log of requests."""

    root: Path
    url: str = ""
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, path: str, *kinds: str) -> None:
        """Queue faults for the next requests of ``path`` (relative to the root)."""
        self.faults[path].extend(kinds)

    def next_fault(self, path: str) -> str | None:
        with self.lock:
            queue = self.faults.get(path)
            return queue.popleft() if queue else None

    def record(self, path: str, range_: str | None, status: int) -> None:
        with self.lock:
            self.log.append(Request(path, range_, status))

    def requests(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.log if path is None or r.path == path]


class Handler(BaseHTTPRequestHandler):
    server_version = "archive-test/1"
    state: ArchiveServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        state = self.state
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        fault = state.next_fault(rel)
        asked = self.headers.get("Range")
        file = state.root / rel
        if fault in ("403", "404", "416", "500") or not file.is_file():
            status = int(fault) if fault else 404
            state.record(rel, asked, status)
            self._status(status)
            return
        if fault == "slow":
            time.sleep(SLOW_S)
        data = file.read_bytes()
        if fault == "truncate":
            data = data[: len(data) // 2]
        first = _range_first(asked) if fault != "norange" else None
        if first is not None and first >= len(data):
            state.record(rel, asked, 416)
            self._status(416)
            return
        status = 200 if first is None else 206
        body = data if first is None else data[first:]
        state.record(rel, asked, status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if fault == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _status(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _range_first(value: str | None) -> int | None:
    if not value or not value.startswith("bytes=") or not value.endswith("-"):
        return None
    first = value[len("bytes=") : -1]
    return int(first) if first.isdigit() else None


def build_archive(root: Path) -> Path:
    """The served tree: the sample archive, and its RouteViews files again at the root for route-views2."""
    for sub in ("rrc00", "route-views.linx"):
        shutil.copytree(SAMPLE / sub, root / sub)
    shutil.copytree(SAMPLE / "route-views.linx" / "bgpdata", root / "bgpdata")
    return root


@contextmanager
def serving(state: ArchiveServer) -> Iterator[ArchiveServer]:
    """Serve ``state.root`` on 127.0.0.1 (a free port, set as ``state.url``) until the block ends."""
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


def isolate_settings(monkeypatch: Any, folder: Path) -> None:
    """Make this process and its subprocesses read no user settings or cache: only ``folder``'s."""
    monkeypatch.setenv("ANYSTAB_CONFIG", str(folder / "no-config.toml"))
    monkeypatch.delenv("ANYSTAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "xdg-cache"))


@contextmanager
def sigpipe_ignored() -> Iterator[None]:
    """The server writes to sockets that clients close; mrtparse's import turned SIGPIPE's default
    (killing) action back on, so the test process ignores it as Python normally does."""
    saved = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGPIPE, saved)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[ArchiveServer]:
    """A real archive server on 127.0.0.1 serving the sample archive's layout (:func:`build_archive`)."""
    with serving(ArchiveServer(build_archive(tmp_path / "archive"))) as state:
        yield state


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Autouse wherever imported: no user settings or cache are read (:func:`isolate_settings`), and
    SIGPIPE is ignored while the test runs (:func:`sigpipe_ignored`)."""
    isolate_settings(monkeypatch, tmp_path)
    with sigpipe_ignored():
        yield
