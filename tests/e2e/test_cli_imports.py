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
    flow = tmp_path / "flow.yaml"
    flow.write_text(PLAIN_PYTHON_TASKS)
    env = {**os.environ, "LANNER_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", EXPR_PROBE, str(flow)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "EXPR False" in proc.stderr, proc.stderr[-2000:]
