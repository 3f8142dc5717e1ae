"""Which namespaces exist, and what each holds: the namespaces list of the API and the UI.

A namespace exists when something lives in it — a flow, a namespace file, a KV key — or when
one of its children does: like Kestra (`NamespaceUtils.asTree`), `company.team.data` makes
`company` and `company.team` exist too, so the list can be shown as a tree. Counts are of what
the namespace holds itself, not its children's.
"""

from __future__ import annotations

from dataclasses import dataclass

from lanner.server.services import Services
from lanner.storage.namespace_files import namespaces_with_files


@dataclass(frozen=True, slots=True)
class Summary:
    """One namespace and what it holds (its own, its children's not included)."""

    id: str
    flows: int
    files: int
    keys: int

    def as_json(self) -> dict[str, object]:
        """Kestra's Namespace (`id`, `deleted`) and Lanner's counts beside it."""
        return {"id": self.id, "deleted": False, "flowCount": self.flows, "fileCount": self.files,
                "kvCount": self.keys}


def with_parents(namespace: str) -> list[str]:
    """`a.b.c` → `[a, a.b, a.b.c]`."""
    parts = namespace.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def all_namespaces(svc: Services) -> list[str]:
    """Every namespace that holds something, and each of their parents, sorted."""
    held = set(svc.flow_store.namespaces()) | set(svc.files.kv.namespaces())
    held |= set(namespaces_with_files(svc.files.root))
    return sorted({ns for n in held for ns in with_parents(n)})


def summaries(svc: Services, namespaces: list[str]) -> list[Summary]:
    """The counts of the given namespaces (flows counted once for all, files and keys per namespace)."""
    flows: dict[str, int] = {}
    for stored in svc.flow_store.all_latest():
        flows[stored.namespace] = flows.get(stored.namespace, 0) + 1
    return [Summary(ns, flows.get(ns, 0), len(svc.files.namespace(ns).files()), len(svc.files.kv.entries(ns)))
            for ns in namespaces]
