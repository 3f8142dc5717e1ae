"""`GET /flows/{namespace}/{id}/graph`: Kestra's FlowGraph (nodes, edges, clusters)."""

from __future__ import annotations

from typing import Any

from tests.integration.server.harness import Server

LOG = "io.kestra.plugin.core.log.Log"
FLOW = f"""id: shaped
namespace: company.graph
tasks:
  - {{id: first, type: {LOG}, message: a}}
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {{id: left, type: {LOG}, message: l}}
      - {{id: right, type: {LOG}, message: r}}
  - id: pick
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ true }}}}"
    then:
      - {{id: yes, type: {LOG}, message: y}}
    else:
      - {{id: no, type: {LOG}, message: n}}
errors:
  - {{id: alert, type: {LOG}, message: e}}
finally:
  - {{id: cleanup, type: {LOG}, message: c}}
triggers:
  - {{id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 9 * * *"}}
"""


def _edges(graph: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["relation"]["relationType"]) for e in graph["edges"]}


def test_the_graph_has_every_task_its_clusters_and_the_relations_between_them(server: Server) -> None:
    server.deploy(FLOW)
    r = server.client.get("/main/flows/company.graph/shaped/graph")
    assert r.status_code == 200, r.text
    graph = r.json()
    assert set(graph) == {"nodes", "edges", "clusters"}
    tasks = {n["task"]["id"]: n for n in graph["nodes"] if n["type"].endswith(".GraphTask")}
    assert set(tasks) == {"first", "fan", "left", "right", "pick", "yes", "no", "alert", "cleanup"}
    assert len({n["uid"] for n in graph["nodes"]}) == len(graph["nodes"])
    edges = _edges(graph)
    assert ("root.root", "root.first", "SEQUENTIAL") in edges
    assert ("root.fan", "root.fan.left", "PARALLEL") in edges and ("root.fan", "root.fan.right", "PARALLEL") in edges
    assert ("root.root", "root.alert", "ERROR") in edges and ("root.cleanup", "root.end", "FINALLY") in edges
    assert ("root.Triggers.daily", "root.root", "SEQUENTIAL") in edges
    choices = {e["relation"]["value"] for e in graph["edges"] if e["relation"]["relationType"] == "CHOICE"}
    assert choices == {"then", "else"}
    clusters = {c["cluster"]["taskNode"]["task"]["id"]: c for c in graph["clusters"]}
    assert set(clusters) == {"fan", "pick"}
    assert {"root.fan.left", "root.fan.right"} <= set(clusters["fan"]["nodes"])
    assert clusters["fan"]["start"] in clusters["fan"]["nodes"] and clusters["fan"]["parents"] == []
    every_uid = {n["uid"] for n in graph["nodes"]}
    assert all(e["source"] in every_uid and e["target"] in every_uid for e in graph["edges"])


def test_the_graph_of_a_missing_flow_is_a_404(server: Server) -> None:
    assert server.client.get("/flows/company.graph/nope/graph").status_code == 404


def test_a_pauses_on_pause_is_drawn_first_in_the_chain_of_its_tasks(server: Server) -> None:
    server.deploy(f"""id: paused
namespace: company.graph
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onPause: {{id: notify, type: {LOG}, message: waiting}}
    tasks:
      - {{id: later, type: {LOG}, message: resumed}}
""")
    edges = _edges(server.client.get("/main/flows/company.graph/paused/graph").json())
    assert ("root.wait", "root.wait.notify", "SEQUENTIAL") in edges
    assert ("root.wait.notify", "root.wait.later", "SEQUENTIAL") in edges
    assert ("root.wait", "root.wait.later", "SEQUENTIAL") not in edges
