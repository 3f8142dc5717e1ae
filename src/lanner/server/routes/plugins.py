"""Plugins: every task and trigger type this installation knows, with its JSON schema (Kestra's PluginController);
a task type's schema also holds `outputs`, the outputs its runs record.

Task types come from the `lanner.plugins` entry points; loading them all imports every plugin
module, so the answer is computed once per process and cached.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from fastapi import APIRouter

from lanner.server.problems import not_found
from lanner.server.schemas import PluginGroup, PluginSchema

router = APIRouter(tags=["Plugins"])
log = logging.getLogger("lanner.server")


def _schema(cls: Any) -> dict[str, Any]:
    try:
        return cls.model_json_schema(by_alias=True)
    except Exception:  # noqa: BLE001 - a field type without a JSON schema: describe the names at least
        return {"title": cls.__name__, "type": "object",
                "properties": {f.alias or n: {} for n, f in cls.model_fields.items()}}


@functools.cache
def catalogue() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(groups, schema by type) for every task and trigger type."""
    from lanner.plugins import registry
    from lanner.runtime import triggers

    groups: dict[str, dict[str, Any]] = {}
    by_type: dict[str, dict[str, Any]] = {}
    for name in registry.known_types():
        try:
            cls = registry.load(name)
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not hide the others
            log.warning("plugin %s failed to load: %s", name, exc)
            continue
        package = cls.__module__.rsplit(".", 1)[0]
        group = groups.setdefault(package, {"name": package.rsplit(".", 1)[-1], "title": package.rsplit(".", 1)[-1],
                                            "group": package, "tasks": [], "triggers": [], "conditions": [],
                                            "schemas": {}})
        schema = _schema(cls)
        # Kestra's `schema.outputs`: a JSON schema object whose `properties` are the outputs a run
        # records (`outputs.<id>.<name>`), from the type's own declaration (`Task.outputs_doc`)
        outputs = getattr(cls, "outputs_json_schema", None)
        if outputs is not None:
            schema = {**schema, "outputs": outputs()}
        group["tasks"].append(name)
        group["schemas"][name] = schema
        by_type[name] = {"cls": name, "title": cls.__name__, "markdown": (cls.__doc__ or "").strip(), "schema": schema}
    core = groups.setdefault("lanner.plugins.core", {"name": "core", "title": "core", "group": "lanner.plugins.core",
                                                     "tasks": [], "triggers": [], "conditions": [], "schemas": {}})
    for name, spec in triggers.SPECS.items():
        schema = _schema(spec)
        core["triggers"].append(name)
        core["schemas"][name] = schema
        by_type[name] = {"cls": name, "title": spec.__name__,
                         "markdown": (spec.__doc__ or "").strip(), "schema": schema}
    return sorted(groups.values(), key=lambda g: g["group"]), by_type


@router.get("/plugins", summary="Every plugin group with its task and trigger types and their JSON schemas",
            response_model=list[PluginGroup])
def plugins() -> list[dict[str, Any]]:
    return catalogue()[0]


@router.get("/plugins/{cls}", summary="The JSON schema of one task or trigger type", response_model=PluginSchema,
            response_model_by_alias=True)
def plugin(cls: str) -> dict[str, Any]:
    found = catalogue()[1].get(cls)
    if found is None:
        raise not_found(f"plugin type `{cls}`")
    return found
