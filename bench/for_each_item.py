"""A ForEachItem over a file of N lines, one child execution per line, on the embedded runtime.

Prints, for each N, the wall time of the whole parent execution (split, N children, merge), the
time per child, and the size of the `<id>_items` task run's stored outputs, which grows with N
(each child's id, end state and outputs are kept there until the merge). Figures are printed,
never asserted.

    python bench/for_each_item.py [--sizes 100,300,1000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

CHILD = """
id: child
namespace: bench
inputs:
  - {id: items, type: STRING}
tasks:
  - {id: line, type: io.kestra.plugin.core.debug.Return, format: "{{ read(inputs.items) | trim }}"}
outputs:
  - {id: line, type: STRING, value: "{{ outputs.line.value }}"}
"""

PARENT = """
id: parent
namespace: bench
tasks:
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    outputFiles: [data.txt]
    commands: ["seq 1 {n} > data.txt"]
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ outputs.make.outputFiles['data.txt'] }}}}"
    batch: {{rows: 1}}
    namespace: bench
    flowId: child
    inputs: {{items: "{{{{ taskrun.items }}}}"}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]

    from lanner.loading.flows import load_flow
    from lanner.plugins import registry
    from lanner.plugins.core.for_each_item import ForEachItem
    from lanner.runtime.catalog import FlowCatalog
    from lanner.testing import run_flow

    registry.register("io.kestra.plugin.core.flow.ForEachItem", ForEachItem)  # an older install may lack it
    print(f"{'N':>6} {'state':>8} {'wall s':>8} {'ms/child':>9} {'items outputs KB':>17}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="lanner-bench-") as home:
            started = time.perf_counter()
            exe = run_flow(PARENT.format(n=n), Path(home), catalog=FlowCatalog(flows=[load_flow(CHILD)]))
            wall = time.perf_counter() - started
        items = next(r for r in exe.task_runs if r.task_id == "each_items")
        size = len(json.dumps(items.outputs)) / 1024
        print(f"{n:>6} {exe.state.current.value:>8} {wall:>8.2f} {1000 * wall / n:>9.1f} {size:>17.1f}")


if __name__ == "__main__":
    main()
