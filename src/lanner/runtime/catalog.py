"""Where a Subflow's flow comes from: the files given on the command line, then the store."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lanner.errors import LannerError

if TYPE_CHECKING:
    from lanner.model.flow import Flow
    from lanner.storage.repository import Repository


class FlowCatalog:
    def __init__(self, repo: Repository | None = None, flows: Iterable[Flow] = ()) -> None:
        self.repo = repo
        self.known: dict[tuple[str, str], Flow] = {}
        for flow in flows:
            self.add(flow)

    def add(self, flow: Flow) -> None:
        self.known[(flow.namespace, flow.id)] = flow

    def add_directory(self, directory: str | Path) -> list[LannerError]:
        """Load every `*.yaml`/`*.yml` under a directory; returns the problems of invalid files."""
        from lanner.loading.flows import load_flow_file

        problems: list[LannerError] = []
        root = Path(directory)
        if not root.is_dir():
            return [LannerError(f"`{directory}` is not a directory", hint="give --flows a folder of flow files")]
        for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
            try:
                self.add(load_flow_file(path))
            except LannerError as exc:
                problems.append(exc)
        return problems

    def get(self, namespace: str, flow_id: str, revision: int | None = None) -> Flow:
        flow = self.known.get((namespace, flow_id))
        if flow is not None and (revision is None or (flow.revision or 1) == revision):
            return flow
        if self.repo is not None:
            found = self.repo.flow_source(namespace, flow_id, revision)
            if found is not None:
                from lanner.loading.flows import load_flow

                rev, source = found
                loaded = load_flow(source, file=f"<stored flow {namespace}.{flow_id} revision {rev}>")
                loaded.revision = rev
                return loaded
        known = ", ".join(sorted(f"{ns}.{i}" for ns, i in self.known)) or "none"
        raise LannerError(f"flow `{namespace}.{flow_id}`" + (f" revision {revision}" if revision else "")
                          + " was not found",
                          hint=f"pass its file to `lanner run` too, or a folder with --flows DIR (known: {known})")
