"""No property of a core task is accepted and then ignored: each is read, or refused at validate.

Lanner's rule is that a Kestra property it does not carry out is refused by `lanner validate`
with a located message, never accepted and ignored. This lists, for every task class (and every
model nested in one, like ForEachItem's `batch`) defined in `lanner.plugins.core` and for the
properties every task shares, each declared property, and asserts that it is either read — an
attribute access `.<name>` or a `getattr(…, "<name>")` in the code that carries tasks out (the
plugins, the engine, the loader, the worker, the runtime's task helpers) — or listed in the
class's `refused` map (`plugins/core/refusals.py`), or in its `no_effect` map with the reason it has
nothing to act on in Lanner. A property added to a model without code that reads it, and without a
refusal, fails here.

Reading is found by name, so a property whose name is read for another object would pass
unnoticed; the names of core task properties are specific enough that this is rare, and the
check still catches the case it is for: a declaration nobody uses.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from pydantic import BaseModel

import lanner
import lanner.plugins.core
from lanner.model.task import ExecutionTask, FlowableTask, RunnableTask, Task

SRC = Path(lanner.__file__).parent
# Where task properties are read: not the API or the CLI, which only pass flows along.
READERS = [*SRC.glob("plugins/core/*.py"), *SRC.glob("plugins/scripts/*.py"), *SRC.glob("engine/*.py"),
           *SRC.glob("loading/*.py"), *SRC.glob("worker/*.py"), SRC / "model/task.py",
           SRC / "model/variables.py", SRC / "model/resume_inputs.py", SRC / "model/approval_decisions.py",
           SRC / "runtime/workdirs.py", SRC / "runtime/workdir_caches.py",
           SRC / "runtime/local.py",
           SRC / "runtime/cluster_outbox.py", SRC / "runtime/core.py"]
# Properties with no behaviour in Kestra either: text for the people who read the flow.
DOCUMENTATION_ONLY = {"description"}


def _is_getattr(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"


def _read_names() -> set[str]:
    """Attribute names accessed, `getattr` names given as text, and the names a loop or
    comprehension hands to `getattr` from a literal tuple (`for name in ("a", "b")`)."""
    names: set[str] = set()
    for path in READERS:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif _is_getattr(node) and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):  # type: ignore[attr-defined]
                names.add(str(node.args[1].value))  # type: ignore[attr-defined]
            loops = (node.generators if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
                     else [node] if isinstance(node, ast.For) else [])
            if loops and any(_is_getattr(inner) for inner in ast.walk(node)):
                for loop in loops:
                    if isinstance(loop.iter, (ast.Tuple, ast.List)):
                        names.update(str(e.value) for e in loop.iter.elts if isinstance(e, ast.Constant))
    return names


def _core_models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(lanner.plugins.core.__path__):
        module = importlib.import_module(f"lanner.plugins.core.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
                found[cls.__qualname__] = cls
    return [Task, RunnableTask, FlowableTask, ExecutionTask, *found.values()]


MODELS = _core_models()
READ = _read_names()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__qualname__)
def test_every_declared_property_is_read_or_refused(model: type[BaseModel]) -> None:
    explained = {**getattr(model, "refused", {}), **getattr(model, "no_effect", {})}
    ignored = sorted(name for name in model.model_fields if name not in READ | DOCUMENTATION_ONLY
                     and name not in explained)
    assert not ignored, (f"{model.__qualname__} declares {ignored} but nothing reads them: carry them out, "
                         "or refuse them in the class's `refused` map (plugins/core/refusals.py)")


@pytest.mark.parametrize("model", [m for m in MODELS if getattr(m, "refused", None)], ids=lambda m: m.__qualname__)
def test_every_refused_property_is_declared_so_its_refusal_can_say_why(model: type[BaseModel]) -> None:
    assert set(model.refused) <= set(model.model_fields)  # type: ignore[attr-defined]
    assert all(reason.strip() for reason in model.refused.values())  # type: ignore[attr-defined]


def test_the_audit_sees_the_core_tasks() -> None:
    names = {m.__qualname__ for m in MODELS}
    assert {"Subflow", "ForEachItem", "Pause", "Labels", "Kill", "If", "ForEach", "WorkingDirectory"} <= names
