"""The engine reads no clock, id source or environment of its own: only its `Surroundings`.

import-linter cannot forbid a standard module or one function of an allowed one, so this reads
the source of every module of `lanner.engine` (lazy imports inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import lanner.engine

ENGINE = Path(lanner.engine.__file__).parent
HOST_MODULES = {"os", "time", "uuid", "random", "secrets", "lanner.secrets"}
HOST_NAMES = {("lanner.model.state", "now"), ("lanner.model.execution", "new_id"),
              ("lanner.model.variables", "process_envs"), ("lanner.runtime.host", "HOST")}
HOST_ATTRIBUTES = {"environ", "getenv", "utcnow", "today", "process_envs", "new_id"}


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []

    def say(node: ast.AST, what: str) -> None:
        found.append(f"{path.name}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in HOST_MODULES:
                    say(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module in HOST_MODULES:
                say(node, f"imports from {node.module}")
            for alias in node.names:
                pair = (node.module, alias.name)
                if pair in HOST_NAMES:
                    say(node, f"imports {alias.name} from {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in HOST_ATTRIBUTES and not _on_surroundings(node):
                say(node, f"uses .{node.attr}")
            if node.attr == "now" and not _on_surroundings(node):
                say(node, "reads a clock that is not the surroundings'")
        elif isinstance(node, ast.Call):
            found.extend(f"{path.name}:{node.lineno}: {what}" for what in _unstamped(node))
    return found


def _on_surroundings(node: ast.Attribute) -> bool:
    """`self.surroundings.now`, `surroundings.new_id`: the given ones."""
    owner = node.value
    name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
    return name == "surroundings"


def _unstamped(call: ast.Call) -> list[str]:
    """Calls that would fall back to the host's clock or environment when an argument is left out."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    keywords = {k.arg for k in call.keywords}
    if name == "to" and len(call.args) + len(keywords) < 2:
        return ["a state move without a time (State.to would read the host's clock)"]
    if name == "created" and not call.args and not keywords:
        return ["State.created() without a time"]
    if name == "LogEntry" and len(call.args) < 6 and "timestamp" not in keywords:
        return ["a LogEntry without a timestamp"]
    if name == "WorkerResult" and not {"started", "ended"} <= keywords and len(call.args) < 7:
        return ["a WorkerResult without its times"]
    if name == "build" and "envs" not in keywords:
        return ["variables.build without envs (it would read the process's ENV_* variables)"]
    if name in ("render", "render_value", "render_value_typed") and isinstance(func, ast.Attribute) \
            and isinstance(func.value, ast.Name) and func.value.id == "expr" and len(call.args) < 3:
        return [f"expr.{name} without services (secret() would read the process environment)"]
    return []


def test_no_engine_module_reads_the_clock_ids_or_environment_of_the_host() -> None:
    modules = sorted(ENGINE.glob("*.py"))
    assert {"executor.py", "steps.py", "bookkeeping.py"} <= {m.name for m in modules}
    found = [p for module in modules for p in problems(module)]
    assert found == []


def test_the_check_finds_each_way_of_reading_the_host(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "from lanner.model.state import now\n"
        "def decide(run, exe, flow, expr, variables):\n"
        "    run.state.to(1)\n"
        "    x = os.environ['A']\n"
        "    t = dt.datetime.now(dt.UTC)\n"
        "    expr.render_value('{{ secret(\"A\") }}', {})\n"
        "    variables.build(flow, exe)\n"
        "    return self.surroundings.now()\n"
    )
    found = problems(sample)
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted([
        "imports os", "imports now from lanner.model.state",
        "a state move without a time (State.to would read the host's clock)", "uses .environ",
        "reads a clock that is not the surroundings'",
        "expr.render_value without services (secret() would read the process environment)",
        "variables.build without envs (it would read the process's ENV_* variables)",
    ])
