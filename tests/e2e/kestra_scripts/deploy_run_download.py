"""A Kestra user's script, kept as such users write it: plain HTTP calls to the documented API,
nothing Lanner-specific. It deploys a flow, runs it with an input and an uploaded FILE, follows
the execution (polling, then server-sent events), downloads the output file and reads the logs.

Usage: KESTRA_URL=http://localhost:8080 python deploy_run_download.py
"""

import json
import os
import sys
import time

import httpx

BASE = os.environ.get("KESTRA_URL", "http://localhost:8080") + "/api/v1/main"

FLOW = """id: report
namespace: company.team
inputs:
  - id: name
    type: STRING
  - id: data
    type: FILE
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }}"
  - id: shout
    type: io.kestra.plugin.core.storage.Write
    content: "{{ read(inputs.data) | upper }}"
    extension: .csv
"""

client = httpx.Client(timeout=30)

# 1. create (or update) the flow from its YAML source
r = client.post(f"{BASE}/flows", content=FLOW, headers={"Content-Type": "application/x-yaml"})
if r.status_code == 409:
    r = client.put(f"{BASE}/flows/company.team/report", content=FLOW, headers={"Content-Type": "application/x-yaml"})
r.raise_for_status()

# 2. execute it: inputs as multipart form data, the FILE input as an uploaded file
with open(sys.argv[1], "rb") as f:
    r = client.post(f"{BASE}/executions/company.team/report", files={"name": (None, "Ada"), "data": ("in.csv", f)})
r.raise_for_status()
execution = r.json()
print("started", execution["id"], execution["url"])

# 3. poll until it ends
for _ in range(300):
    execution = client.get(f"{BASE}/executions/{execution['id']}").json()
    if execution["state"]["current"] in ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"):
        break
    time.sleep(0.1)
print("polled", execution["state"]["current"])

# 4. follow it with server-sent events (an ended execution sends its final state at once)
last = None
with client.stream("GET", f"{BASE}/executions/{execution['id']}/follow") as stream:
    for line in stream.iter_lines():
        if line.startswith("data:") and line[5:].strip():
            last = json.loads(line[5:])
            if last["state"]["current"] in ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"):
                break
print("followed", last["state"]["current"])

# 5. download the output file
uri = next(t["outputs"]["uri"] for t in execution["taskRunList"] if t["taskId"] == "shout")
size = client.get(f"{BASE}/executions/{execution['id']}/file/metas", params={"path": uri}).json()["size"]
r = client.get(f"{BASE}/executions/{execution['id']}/file", params={"path": uri})
r.raise_for_status()
print("downloaded", size, "bytes:", r.text.strip())

# 6. read the logs
for entry in client.get(f"{BASE}/logs/{execution['id']}").json():
    if entry["taskId"] == "hello":
        print("log", entry["level"], entry["message"])
