"""Server restarts (executions resume, schedules never fire twice) and the security rules."""

from __future__ import annotations

import collections
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.forkserver import ForkServer
from tests.integration.server.harness import ROOT, Server, by_task, free_port

LOG = "io.kestra.plugin.core.log.Log"


def _wait_until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
    raise AssertionError("condition not met in time")


def test_a_killed_server_resumes_its_executions_and_finally_runs_once(tmp_path: Path, forks: ForkServer) -> None:
    srv = Server(tmp_path / "home", forks=forks).start()
    try:
        srv.deploy(f"""id: crash
namespace: company.crash
tasks:
  - {{id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT1.5S}}
finally:
  - {{id: cleanup, type: {LOG}, message: cleanup ran}}
""")
        exe = srv.run("company.crash", "crash", wait=False)
        srv.wait_task_running(exe["id"], "slow")
        srv.stop(kill=True)  # SIGKILL: no chance to clean up
        srv.start()
        assert exe["id"] in srv.client.get("/configs").json()["resumedExecutions"]
        done = srv.wait_state(exe["id"], timeout=30)
        assert done["state"]["current"] == "SUCCESS"
        assert by_task(done)["cleanup"]["state"]["current"] == "SUCCESS"
        lines = [line["message"] for line in srv.client.get(f"/logs/{done['id']}").json()]
        assert lines.count("cleanup ran") == 1
    finally:
        srv.stop()


def test_a_schedule_never_fires_twice_for_one_date_across_restarts(tmp_path: Path, forks: ForkServer) -> None:
    srv = Server(tmp_path / "home", forks=forks).start()
    try:
        srv.deploy(f"""id: tick
namespace: company.sched
tasks:
  - {{id: t, type: {LOG}, message: "{{{{ trigger.date }}}}"}}
triggers:
  - id: each_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    recoverMissedSchedules: ALL
""")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(srv.executions(flowId="tick")) < 2:
            time.sleep(0.2)  # poll interval of a deadline-bounded wait on a positive signal
        for _ in range(2):
            srv.stop(kill=True)
            # Behaviour under test: schedule dates pass while the server is down; they must
            # still fire after the restart, once each. The pause is the outage itself.
            time.sleep(1.2)
            srv.start()
            restarted = dt.datetime.now(dt.UTC)
            _wait_until(lambda since=restarted: any(dt.datetime.fromisoformat(e["trigger"]["variables"]["date"])
                                                    > since for e in srv.executions(flowId="tick")))
        srv.stop()
        srv.start()
        dates = [e["trigger"]["variables"]["date"] for e in srv.executions(flowId="tick")]
        assert len(dates) >= 4
        duplicates = [d for d, n in collections.Counter(dates).items() if n > 1]
        assert duplicates == []
        seconds = sorted(int(time.mktime(time.strptime(d[:19], "%Y-%m-%dT%H:%M:%S"))) for d in dates)
        assert seconds == list(range(seconds[0], seconds[0] + len(seconds)))  # no gap, no repeat
    finally:
        srv.stop()


def test_binding_beyond_loopback_without_auth_is_refused(tmp_path: Path) -> None:
    env = {"LANNER_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "lanner", "server", "local", "--host", "0.0.0.0", "--port",
                           str(free_port())], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30,
                          check=False)
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in proc.stderr
    assert "LANNER_BASIC_AUTH_USER" in proc.stderr and "Traceback" not in proc.stderr


def test_basic_auth_protects_api_and_ui_but_not_webhooks(tmp_path: Path, forks: ForkServer) -> None:
    srv = Server(tmp_path / "home", env={"LANNER_BASIC_AUTH_USER": "admin", "LANNER_BASIC_AUTH_PASSWORD": "pa55"},
                 forks=forks)
    srv.start()
    try:
        anonymous = httpx.get(srv.url + "/api/v1/flows/search")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
        assert anonymous.json()["message"] == "authentication required"
        assert httpx.get(srv.url + "/ui/").status_code == 401
        assert httpx.get(srv.url + "/api/v1/flows/search", auth=("admin", "wrong")).status_code == 401
        srv.client.auth = ("admin", "pa55")
        assert srv.client.get("/configs").json()["isBasicAuthEnabled"] is True
        srv.deploy(f"""id: hooked
namespace: company.auth
tasks:
  - {{id: t, type: {LOG}, message: hi}}
triggers:
  - {{id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k3y}}
""")
        assert httpx.get(srv.url + "/ui/", auth=("admin", "pa55")).status_code == 200
        hook = httpx.post(srv.url + "/api/v1/executions/webhook/company.auth/hooked/k3y")
        assert hook.status_code == 200  # the key is the webhook's secret, as in Kestra
    finally:
        srv.stop()


def test_ui_is_served_without_any_external_reference(server: Server) -> None:
    index = httpx.get(server.url + "/ui/")
    assert index.status_code == 200 and "<main" in index.text
    assert "default-src 'self'" in index.headers["content-security-policy"]
    ui = ROOT / "src" / "lanner" / "server" / "ui"
    for path in ui.rglob("*.*"):
        # The SVG namespace is a name that the bundled editor gives to elements it creates, never
        # fetched (a browser test checks that no request leaves the server: test_ui_editor.py).
        text = path.read_text().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text, path
        assert httpx.get(server.url + "/ui/" + path.relative_to(ui).as_posix()).status_code == 200
    assert httpx.get(server.url + "/", follow_redirects=False).headers["location"] == "/ui/"
