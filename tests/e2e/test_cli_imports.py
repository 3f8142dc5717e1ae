"""What a short `lanner run` loads: SQLAlchemy (a quarter of the run's time on a small machine) only
when something asks for the SQL it writes — a purge or Toggle task, the server, the cluster —
never for running a flow on the embedded store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run `lanner run` in-process and print which heavy libraries it imported, whatever its exit code.
PROBE = """
import sys, atexit
atexit.register(lambda: print("IMPORTED", sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules),
                              file=sys.stderr))
from lanner.cli.main import main
sys.argv = ["lanner", "run", sys.argv[1], "-q"]
main()
"""


def test_running_a_flow_on_the_embedded_store_imports_no_sqlalchemy(tmp_path: Path) -> None:
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    flow = ROOT / "examples" / "finally_example_success.yaml"
    for _ in range(2):  # a new home, then the same home again
        proc = subprocess.run([sys.executable, "-c", PROBE, str(flow)], capture_output=True, text=True,
                              env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "IMPORTED []" in proc.stderr, proc.stderr[-2000:]


EXPR_PROBE = """
import sys, atexit
atexit.register(lambda: print("EXPR", "lanner.expr" in sys.modules, file=sys.stderr))
from lanner.cli.main import main
sys.argv = ["lanner", "run", sys.argv[1], "-q"]
main()
"""

PLAIN_PYTHON_TASKS = """id: plain_python
namespace: tests
tasks:
  - id: script
    type: io.kestra.plugin.scripts.python.Script
    script: print(sum(range(5)))
  - id: commands
    type: io.kestra.plugin.scripts.python.Commands
    env:
      GREETING: hello
    inputFiles:
      main.py: print('hi')
    commands:
      - python main.py
"""


def test_python_tasks_without_templates_never_load_the_template_language(tmp_path: Path) -> None:
    """Loading `lanner.expr` costs ~25 ms: a flow whose properties hold no `{` must not pay it."""
    said = _probe_plain_python_tasks(tmp_path, EXPR_PROBE)
    assert "EXPR False" in said, said


def _probe_plain_python_tasks(tmp_path: Path, probe: str) -> str:
    """The stderr of `probe` run in a fresh interpreter on PLAIN_PYTHON_TASKS, which must succeed."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(PLAIN_PYTHON_TASKS)
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", probe, str(flow)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr[-2000:]


QUIET_PROBE = """
import sys, atexit
import pydantic, pydantic.types, typer, yaml  # loaded by any run anyway; pydantic 2.14 imports hashlib there
ours = ("rich.console",) + (() if "hashlib" in sys.modules else ("hashlib",))
def said():
    from lanner.plugins.scripts import tasks
    print("LOADED", [name for name in ours if name in sys.modules], file=sys.stderr)
    print("BUILT", sorted(name for name in ("PythonScript", "PythonCommands", "Bash", "ShellCommands")
                          if getattr(tasks, name).__pydantic_complete__), file=sys.stderr)
atexit.register(said)
from lanner.cli.main import main
sys.argv = ["lanner", "run", sys.argv[1], "-q"]
main()
"""


def test_a_quiet_run_makes_no_console_and_builds_only_the_task_classes_it_validates(tmp_path: Path) -> None:
    """Importing rich costs ~12 ms, building every task class's validator ~7 ms and hashlib (OpenSSL)
    ~2 ms of the start-up of `lanner run` (issue 15): with -q and a run that ends well nothing is
    printed, so rich stays unloaded, the task classes (`defer_build`) are built only when a flow
    uses them, and only a cache, an odd state name or a task's dependencies need a digest."""
    said = _probe_plain_python_tasks(tmp_path, QUIET_PROBE)
    assert "LOADED []" in said, said
    assert "BUILT ['PythonCommands', 'PythonScript']" in said, said


GROUPS_PROBE = """
import sys, atexit
groups = ("lanner.cli.server", "lanner.cli.roles", "lanner.cli.namespaces", "lanner.cli.triggers")
atexit.register(lambda: print("GROUPS", [name for name in groups if name in sys.modules], file=sys.stderr))
from lanner.cli.main import main
sys.argv = ["lanner", *sys.argv[1:]]
main()
"""


def test_a_command_loads_only_its_own_group_of_the_command_line(tmp_path: Path) -> None:
    """Typer builds every command it holds on each call, and holding a group imports its module
    (~15 ms of a short `lanner run`): `lanner run` holds only `run`, `lanner db …` only the `db`
    group; `lanner --help` still lists them all."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(PLAIN_PYTHON_TASKS)
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}

    def groups(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-c", GROUPS_PROBE, *args], capture_output=True, text=True,
                              env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stderr[-2000:] + proc.stdout[-4000:]

    assert "GROUPS []" in groups("run", str(flow), "-q")
    assert "GROUPS ['lanner.cli.roles']" in groups("db", "--help")
    everything = groups("--help")
    assert "GROUPS ['lanner.cli.server', 'lanner.cli.roles', 'lanner.cli.namespaces', 'lanner.cli.triggers']" \
        in everything
    for name in ("run", "validate", "execution", "server", "db", "namespace", "trigger"):
        assert f" {name} " in everything, everything
