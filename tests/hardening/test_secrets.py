"""Secrets stay secret: mirror credentials and webhook URLs never appear in output, errors or files, and
the monitor's state is user-only.

A real HTTP server on 127.0.0.1 serves the sample archive (``data/``) only with Basic credentials, and
receives webhooks; ``anystab fetch`` runs as a real subprocess.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from anystab.monitor import alerts
from anystab.monitor.config import Notify
from anystab.monitor.lock import RunLock
from anystab.monitor.state import Checkpoint, ElementCache, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
USER, TOKEN = "reader", "tok3n-s3cret-value"
PATH_SECRET = "hook-path-s3cret"
WINDOW = ["--start", "2025-06-02T00:00:00Z", "--end", "2025-06-02T00:10:00Z"]


class _Handler(SimpleHTTPRequestHandler):
    """The sample archive behind Basic credentials; POSTs (webhooks) recorded, answered ``status``."""

    status = 200
    posts: list[tuple[str, str | None]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(ROOT / "data"), **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        want = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != want:
            self.send_error(403)
            return
        super().do_GET()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).posts.append((self.path, self.headers.get("Authorization")))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"posts": [], "status": 200})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _anystab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANYSTAB_CONFIG": str(cwd / "none.toml"), "XDG_CACHE_HOME": str(cwd / "xdg")}
    command = [sys.executable, "-c", "from anystab.cli.main import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False)


def _everything_written(folder: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


def test_mirror_credentials_are_used_and_never_shown(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    host, _ = server
    mirror = f"ris=http://{USER}:{TOKEN}@{host}/"
    cache = tmp_path / "cache"
    args = [
        "fetch",
        "--collector",
        "rrc00",
        *WINDOW,
        "--mirror",
        mirror,
        "--cache",
        str(cache),
        "--retries",
        "0",
    ]
    done = _anystab(*args, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (cache / "rrc00/2025.06/updates.20250602.0005.gz").is_file()
    assert '"url": "http://***@127.0.0.1' in done.stdout
    dry = _anystab(*args, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "http://***@127.0.0.1" in dry.stdout
    for out in (done.stdout, done.stderr, dry.stdout, dry.stderr, _everything_written(tmp_path)):
        assert TOKEN not in out and USER not in out


def test_wrong_credentials_fail_without_showing_them(
    server: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    host, _ = server
    wrong = "wrong-s3cret-token"
    args = ["fetch", "--collector", "rrc00", *WINDOW, "--mirror", f"http://{USER}:{wrong}@{host}/"]
    done = _anystab(*args, "--cache", str(tmp_path / "cache"), "--retries", "0", cwd=tmp_path)
    assert done.returncode == 1
    assert "HTTP 403" in done.stderr + done.stdout
    for out in (done.stdout, done.stderr, _everything_written(tmp_path)):
        assert wrong not in out


@pytest.mark.parametrize("status", [200, 500])
def test_webhook_credentials_in_a_header_and_masked_in_errors(
    server: tuple[str, type[_Handler]], status: int
) -> None:
    host, handler = server
    handler.status = status
    notify = Notify(webhook=f"http://{USER}:{TOKEN}@{host}/{PATH_SECRET}?key={TOKEN}", timeout_s=10)
    outbox: list[dict[str, object]] = []
    alerts.queue(outbox, [{"id": "m1", "what": "a test alert"}], notify)
    remaining, outcome = alerts.deliver(outbox, notify)
    assert (
        handler.posts
        and handler.posts[0][1] == "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    )
    assert len(outcome.delivered) == (status == 200) and len(remaining) == (status != 200)
    log = alerts.delivery_log([], outcome)
    assert TOKEN not in repr((remaining, log)) and PATH_SECRET not in repr((remaining, log))


@pytest.mark.parametrize("port", ["notaport", "99999"])
def test_webhook_that_cannot_be_reached_stays_queued_and_masked(port: str) -> None:
    notify = Notify(webhook=f"http://{USER}:{TOKEN}@127.0.0.1:{port}/{PATH_SECRET}", timeout_s=2)
    outbox: list[dict[str, object]] = []
    alerts.queue(outbox, [{"id": "m1"}], notify)
    remaining, outcome = alerts.deliver(outbox, notify)
    assert len(remaining) == 1 and outcome.failed
    assert TOKEN not in repr(remaining) and PATH_SECRET not in repr(remaining)


def test_state_folder_and_files_are_user_only(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    with RunLock(state, wait_s=1):
        ElementCache(state)
        save_checkpoint(state, Checkpoint(outbox=[{"channel": "webhook", "message": {"id": "x"}}]))
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "files").stat().st_mode) == 0o700
    for name in ("checkpoint.json", "lock"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name


def test_init_writes_the_config_user_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from anystab.cli.main import cli

    path = tmp_path / "monitor.toml"
    result = CliRunner().invoke(cli, ["init", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
