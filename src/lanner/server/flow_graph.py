"""A flow as Kestra's FlowGraph: nodes, edges and clusters, as API clients read them.

Every task is a `GraphTask` node; a task holding other tasks (a flowable, a WorkingDirectory)
is a cluster with its own root and end nodes, its children chained between them. Edges carry
the relation a client draws: SEQUENTIAL, PARALLEL (children of a Parallel), CHOICE (the `then`
and `else` of an If, with the branch as value), ERROR, FINALLY and AFTER_EXECUTION (the flow's
or a flowable's own blocks, run after its tasks). Triggers are `GraphTrigger` nodes leading to
the root. Node ids (`uid`) are the path of task ids from the root, so they are stable across
calls and unique even when a task id is reused in another branch.
"""

from __future__ import annotations

from typing import Any

from lanner.model.flow import Flow
from lanner.model.task import Task

KIND = "io.kestra.core.models.hierarchies."
BLOCK_RELATIONS = {"errors": "ERROR", "finally": "FINALLY", "afterExecution": "AFTER_EXECUTION"}
CHOICES = ("then", "else")


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.clusters: list[dict[str, Any]] = []

    def node(self, uid: str, kind: str, **extra: Any) -> str:
        self.nodes.append({"uid": uid, "type": KIND + kind, **extra})
        return uid

    def edge(self, source: str, target: str, relation: str, value: str | None = None) -> None:
        self.edges.append({"source": source, "target": target,
                           "relation": {"relationType": relation, "value": value}})

    def task(self, t: Task, prefix: str, relation: str, parents: list[str]) -> tuple[str, str]:
        """Add `t` (a node, or a cluster for a task with children); its entry and exit uids."""
        uid = f"{prefix}.{t.id}"
        shown = {"id": t.id, "type": t.type}
        children = dict(t.child_lists())
        first = children.pop("onPause", [])
        if first:  # a Pause's `onPause` runs first among its children: one chain, as Kestra draws it
            children = {"tasks": first + children.pop("tasks", []), **children}
        if not children:
            return (self.node(uid, "GraphTask", task=shown, relationType=relation),) * 2
        cluster = f"cluster_{uid}"
        start = self.node(f"{cluster}.root", "GraphClusterRoot")
        end = self.node(f"{cluster}.end", "GraphClusterEnd")
        self.node(uid, "GraphTask", task=shown, relationType=relation)
        before = len(self.nodes)
        inner = [*parents, cluster]
        self.edge(start, uid, relation)
        parallel = t.type.rsplit(".", 1)[-1] == "Parallel"
        for name, tasks in children.items():
            kind = BLOCK_RELATIONS.get(name) or ("CHOICE" if name in CHOICES else
                                                 "PARALLEL" if parallel else "SEQUENTIAL")
            self.chain(tasks, uid, uid, end, kind, inner, value=name if name in CHOICES else None)
        self.clusters.append({"cluster": {"uid": cluster, "type": KIND + "GraphCluster", "relationType": relation,
                                          "taskNode": {"uid": uid, "task": shown}},
                              "nodes": [start, uid, end] + [n["uid"] for n in self.nodes[before:]],
                              "parents": parents, "start": start, "end": end})
        return start, end

    def chain(self, tasks: list[Task], prefix: str, start: str, end: str, relation: str, parents: list[str],
              value: str | None = None) -> None:
        """Tasks one after the other from `start` to `end` (or side by side, for PARALLEL)."""
        previous = start
        for t in tasks:
            entry, exit_ = self.task(t, prefix, relation, parents)
            self.edge(start if relation == "PARALLEL" else previous, entry, relation, value)
            if relation == "PARALLEL":
                self.edge(exit_, end, relation)
            previous = exit_
        if tasks and relation != "PARALLEL":
            self.edge(previous, end, relation, value)


def flow_graph(flow: Flow) -> dict[str, Any]:
    """Kestra's FlowGraph of `flow`: `{nodes, edges, clusters}`."""
    g = _Graph()
    root = g.node("root.root", "GraphClusterRoot")
    end = g.node("root.end", "GraphClusterEnd")
    for trigger in flow.triggers:
        g.edge(g.node(f"root.Triggers.{trigger.id}", "GraphTrigger",
                      trigger={"id": trigger.id, "type": trigger.type, "disabled": trigger.disabled}),
               root, "SEQUENTIAL")
    g.chain(flow.tasks, "root", root, end, "SEQUENTIAL", [])
    for name, tasks in (("errors", flow.errors), ("finally", flow.finally_), ("afterExecution", flow.afterExecution)):
        g.chain(tasks, "root", root, end, BLOCK_RELATIONS[name], [])
    return {"nodes": g.nodes, "edges": g.edges, "clusters": g.clusters}
