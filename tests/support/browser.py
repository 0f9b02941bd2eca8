"""A real headless Chromium driven over the DevTools protocol: load a page, collect console errors and
network requests, read its text and cells, take a screenshot.

Chromium listens on 127.0.0.1 only; the page is a local file. Nothing here contacts a public host.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websocket
from PIL import Image

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)  # fmt: skip
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 60.0
WIDTH, HEIGHT = 1200, 2400
CELLS_JS = """JSON.stringify([...document.querySelectorAll('td.p')].map(td => ({
  target: td.closest('section').dataset.target, scope: td.dataset.scope,
  session: Number(td.dataset.session), text: td.innerText})))"""


@dataclass
class Loaded:
    """What one page load produced."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    text: str = ""
    cells: list[dict[str, Any]] = field(default_factory=list)
    screenshot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))
    background: str = ""


class Chromium:
    """One Chromium process for a test session; :meth:`load` opens a page in a fresh tab."""

    def __init__(self, program: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="anystab-chromium-")
        self.log = Path(self.profile) / "stderr.log"
        with open(self.log, "wb") as err:  # a file, not a pipe: Chromium can never block on a full pipe
            self.proc = subprocess.Popen(
                [program, *FLAGS, f"--user-data-dir={self.profile}/data", "about:blank"],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.port = self._port()

    def _port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            m = re.search(
                r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self.log.read_text(errors="replace")
            )
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chromium exited with status {self.proc.returncode}: {self.log.read_text()}"
                )
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _new_tab(self) -> dict[str, Any]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=CALL_TIMEOUT_S) as resp:
            return dict(json.load(resp))

    def load(self, page: Path, dark: bool = False) -> Loaded:
        """Open ``page`` (light or dark system theme), wait for its load event, and read it."""
        tab = self._new_tab()
        ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=CALL_TIMEOUT_S)
        out = Loaded()
        try:
            session = _Session(ws, out)
            for domain in ("Runtime", "Log", "Network", "Page"):
                session.call(f"{domain}.enable")
            scheme = "dark" if dark else "light"
            session.call(
                "Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": scheme}]
            )
            metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
            session.call("Emulation.setDeviceMetricsOverride", **metrics)
            session.call("Page.navigate", url=page.resolve().as_uri())
            session.wait_for("Page.loadEventFired")
            out.text = session.evaluate("document.body.innerText")
            out.cells = json.loads(session.evaluate(CELLS_JS))
            out.background = session.evaluate("getComputedStyle(document.body).backgroundColor")
            png = session.call("Page.captureScreenshot", format="png")["data"]
            out.screenshot = np.asarray(Image.open(io.BytesIO(_b64(png))).convert("RGB"))
            session.drain()
        finally:
            ws.close()
        return out


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


class _Session:
    """Calls on one tab's DevTools socket; events seen meanwhile are sorted into :class:`Loaded`."""

    def __init__(self, ws: websocket.WebSocket, out: Loaded) -> None:
        self.ws, self.out, self.next_id, self.seen = ws, out, 0, set[str]()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            self._event(msg)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"]["value"]

    def wait_for(self, event: str) -> None:
        while event not in self.seen:
            self._event(json.loads(self.ws.recv()))

    def drain(self) -> None:
        """Let late events (errors logged after load) arrive: a round trip after a short pause."""
        time.sleep(0.3)
        self.evaluate("1")

    def _event(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method", ""), msg.get("params", {})
        self.seen.add(method)
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            self.out.errors.append(f"console.{params['type']}: {params['args']}")
        elif method == "Runtime.exceptionThrown":
            self.out.errors.append(f"exception: {params['exceptionDetails']}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            self.out.errors.append(f"log: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            self.out.requests.append(params["request"]["url"])
