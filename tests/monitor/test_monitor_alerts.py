"""Alerts end to end: a real HTTP server on 127.0.0.1 receives the webhook; a real command reads stdin."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.monitor import run_cli, write_config

from anystab.monitor.alerts import Episode, mask_url, notifications, open_level
from anystab.monitor.state import load_checkpoint

SECRET = "s3cret-token"
ALERTS = """
[alerts]
lookback = "30d"
[alerts.site_loss]
level = "critical"
[alerts.unrouted]
warning = "5m"
"""


class Receiver(BaseHTTPRequestHandler):
    fail = True
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            return
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.fail, Receiver.received = True, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/hook/{SECRET}"
    server.shutdown()
    server.server_close()


def _monitor(config):
    done = run_cli("monitor", "--config", str(config), "--json")
    assert SECRET not in done.stdout + done.stderr  # webhook URLs are never written out
    return done.returncode, json.loads(done.stdout)


def test_failed_webhook_is_queued_recorded_and_retried(tmp_path, full_archive, receiver):
    server, url = receiver
    config = write_config(tmp_path, full_archive[0], alerts=ALERTS, notify=f'[notify]\nwebhook = "{url}"\n')
    status, report = _monitor(config)
    assert status == 2  # a site lost its catchment and has not got it back
    sent = len(report["notifications"])
    assert sent > 0 and report["pending"] == sent and report["delivered"] == 0
    assert all("HTTP Error 500" in f["last_error"] for f in report["failed"])
    checkpoint = load_checkpoint(tmp_path / "state")
    assert len(checkpoint.outbox) == sent
    assert [d["ok"] for d in checkpoint.deliveries] == [False] * sent
    assert SECRET not in (tmp_path / "state" / "checkpoint.json").read_text()

    Receiver.fail = False
    status, report = _monitor(config)
    assert report["delivered"] == sent and report["pending"] == 0 and report["notifications"] == []
    got = Receiver.received
    assert len({m["id"] for m in got}) == sent == len(got)
    sin = [
        m for m in got if m["rule"] == "site_loss" and m["where"] == {"target": "192.0.2.0/24", "site": "sin"}
    ]
    assert len(sin) == 1 and sin[0]["state"] == "resolved"
    # the scenario takes site sin down 900 s after its start and back up at 1500 s
    assert sin[0]["since"].startswith("2025-06-01T23:45:0") and 590 < sin[0]["duration_s"] < 610
    assert sin[0]["until"].startswith("2025-06-01T23:55:")
    assert load_checkpoint(tmp_path / "state").deliveries[-1]["ok"]

    status, report = _monitor(config)  # nothing new: nothing sent twice
    assert report["delivered"] == 0 and len(Receiver.received) == sent


def test_command_receives_each_alert_as_json_on_stdin(tmp_path, full_archive):
    out = tmp_path / "alerts.jsonl"
    script = tmp_path / "page.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    notify = f"[notify]\ncommand = [{sys.executable!r}, {str(script)!r}]\n".replace("'", '"')
    config = write_config(tmp_path, full_archive[0], alerts=ALERTS, notify=notify)
    status, report = _monitor(config)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(report["notifications"]) == report["delivered"] > 0
    assert {m["rule"] for m in lines} == {"site_loss", "unrouted"}
    assert all(m["since"] and m["duration_s"] > 0 and m["where"] for m in lines)


def test_failing_command_is_retried(tmp_path, full_archive):
    flag = tmp_path / "ok"
    script = tmp_path / "page.py"
    script.write_text(
        f"import os, sys\nsys.stdin.read()\nsys.exit(0 if os.path.exists({str(flag)!r}) else 7)\n"
    )
    notify = f"[notify]\ncommand = [{sys.executable!r}, {str(script)!r}]\n".replace("'", '"')
    config = write_config(tmp_path, full_archive[0], alerts=ALERTS, notify=notify)
    _, first = _monitor(config)
    assert first["pending"] > 0 and "status 7" in first["failed"][0]["last_error"]
    flag.touch()
    _, second = _monitor(config)
    assert second["delivered"] == first["pending"] and second["pending"] == 0


def _episode(start, end, level="warning", subject=None):
    return Episode("svc", "unrouted", subject or {"vp": 1}, level, start, end, "no route", 1.0)


def test_notifications_follow_an_episode_from_open_to_resolved():
    first, known = notifications([_episode(100, None)], {}, 200, 1000, {"svc"})
    assert [m["state"] for m in first] == ["open"] and open_level(known) == "warning"
    again, known = notifications([_episode(100, None)], known, 300, 1000, {"svc"})
    assert again == []
    worse, known = notifications([_episode(100, None, "critical")], known, 400, 1000, {"svc"})
    assert [m["state"] for m in worse] == ["escalated"] and open_level(known) == "critical"
    done, known = notifications([_episode(100, 450, "critical")], known, 500, 1000, {"svc"})
    assert [(m["state"], m["duration_s"], m["until"]) for m in done] == [
        ("resolved", 350, "1970-01-01T00:07:30Z")
    ]
    assert open_level(known) == "ok"
    assert notifications([_episode(100, 450, "critical")], known, 600, 1000, {"svc"})[0] == []


def test_old_episodes_are_not_announced_and_vanished_ones_are_resolved():
    old, known = notifications([_episode(100, 200)], {}, 10_000, 1000, {"svc"})
    assert old == [] and known == {}
    _, known = notifications([_episode(9_000, None)], {}, 9_500, 1000, {"svc"})
    gone, known = notifications([], known, 10_000, 1000, {"svc"})
    assert [m["state"] for m in gone] == ["resolved"] and "no longer seen" in gone[0]["what"]


def test_mask_url_keeps_only_scheme_and_host():
    assert mask_url(f"https://user:pw@hooks.example:8443/x/{SECRET}?k=v") == "https://hooks.example/***"


def test_a_dead_webhook_is_one_line_a_warning_and_its_alerts_are_named_in_json(tmp_path, full_archive):
    """No episode is open at the end, so the status is the undelivered alerts' own: 1, as the docs say."""
    alerts = '[alerts]\nlookback = "30d"\n[alerts.switches]\nper = "10m"\nwarning = 1\ncritical = 100\n'
    dead = "http://127.0.0.1:9/hook"  # nothing listens on the discard port
    config = write_config(tmp_path, full_archive[0], alerts=alerts, notify=f'[notify]\nwebhook = "{dead}"\n')
    done = run_cli("monitor", "--config", str(config))
    assert done.returncode == 1
    failures = [line for line in done.stdout.splitlines() if line.startswith("delivery failed")]
    assert len(failures) == 1
    report = json.loads(run_cli("monitor", "--config", str(config), "--json").stdout)
    n = len(report["failed"])
    assert n > 1 and report["open_episodes"] == []
    assert all(f["message"]["rule"] == "switches" for f in report["failed"])
    assert failures[0].startswith(f"delivery failed (webhook): {n} alerts not delivered: ")
