"""Attack 2 of issue 11 as it happened: in a real Chromium, a page served from another origin
tries to create a shell flow on the loopback server and run it, with every request a browser
sends cross-site without a preflight. Nothing may be created and no command may run. The browser
is the session's (tests/conftest.py)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

from tests.integration.server.harness import Server, free_port

SHELL_FLOW = """id: pwn
namespace: company.pwn
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - touch {marker}
"""
PAGE = """<!doctype html><title>cute cats</title>
<iframe name="sink"></iframe>
<form id="plain" target="sink" method="POST" enctype="text/plain" action="{api}/flows">
<input name="{flow_name}" value="{flow_value}"></form>
<form id="run" target="sink" method="POST" action="{api}/executions/company.pwn/pwn?wait=true">
<input name="a" value="b"></form>
<script>
const api = {api_js};
const flow = {flow_js};
const sink = document.querySelector("iframe");
const loaded = () => new Promise(resolve => sink.addEventListener("load", resolve, {{once: true}}));
async function attack() {{
  const tries = [
    () => fetch(api + "/flows", {{method: "POST", mode: "no-cors", body: flow}}),
    () => fetch(api + "/flows", {{method: "POST", mode: "no-cors", body: new Blob([flow])}}),
    () => fetch(api + "/executions/company.pwn/pwn?wait=true",
          {{method: "POST", mode: "no-cors", body: new FormData()}}),
    () => fetch(api + "/executions/company.pwn/pwn?wait=true", {{method: "POST", mode: "no-cors",
          body: new URLSearchParams({{a: "b"}})}}),
  ];
  for (const t of tries) {{ try {{ await t(); }} catch (e) {{ }} }}
  for (const id of ["plain", "run"]) {{
    const done = loaded();
    document.getElementById(id).submit();
    await done;
  }}
  document.title = "done";
}}
attack();
</script>
"""


def _serve(html: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    body = html.encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def test_a_page_from_another_origin_cannot_create_or_run_a_shell_flow(browser: Any, server: Server,
                                                                      tmp_path: Path) -> None:
    import html
    import json

    marker = tmp_path / "pwned"
    flow = SHELL_FLOW.format(marker=marker)
    assert "=" not in flow  # a text/plain form sends `name=value`: the whole flow as the name, nothing after
    api = server.url + "/api/v1"
    page_html = PAGE.format(api=api, api_js=json.dumps(api), flow_js=json.dumps(flow),
                            flow_name=html.escape(flow), flow_value="")
    httpd, url = _serve(page_html)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("document.title === 'done'", timeout=30_000)
    finally:
        context.close()
        httpd.shutdown()
    assert server.client.get("/flows/company.pwn/pwn").status_code == 404
    assert server.executions(namespace="company.pwn") == []
    assert not marker.exists()
    # the same flow, sent the way the CLI or curl sends it, does run: the page failed only at the doors
    server.deploy(flow)
    assert server.run("company.pwn", "pwn")["state"]["current"] == "SUCCESS"
    assert marker.exists()
