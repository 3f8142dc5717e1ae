"""A ForEach over N values with one Log child and a finally, through `lanner run`.

Prints wall time and peak RSS for each N, and how 10,000 scales against 1,000; for the largest N
the cost of what the terminal is given (`--json` with stderr piped: every task log line, the
grouped task runs and summary) against `-q`; then whether `Parallel` and a concurrent `ForEach`
really overlap four 2-second Sleeps. Targets (issue 4):
N = 10,000 in ≤ 10 s with ≤ 300 MB RSS; 10,000 costs ≤ 11× what 1,000 costs; four Sleeps in
about 2 s. Figures are printed, never asserted.

    python bench/foreach.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def foreach_flow(n: int) -> str:
    return f"""id: foreach{n}
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(1, {n}) }}}}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "value {{{{ taskrun.value }}}}"
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: cleanup
"""


SLEEPS = """id: overlap_{kind}
namespace: bench
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.{kind}
{extra}
"""


def sleeps(kind: str) -> str:
    sleep = "        type: io.kestra.plugin.core.flow.Sleep\n        duration: PT2S\n"
    if kind == "Parallel":
        extra = "    tasks:\n" + "".join(f"      - id: s{i}\n{sleep}" for i in range(4))
    else:
        extra = ("    values: [1, 2, 3, 4]\n    concurrencyLimit: 0\n    tasks:\n      - id: s\n" + sleep)
    return SLEEPS.format(kind=kind, extra=extra)


def run(flow_path: Path, home: Path, *options: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `lanner run` (quiet unless given other options)."""
    env = {**os.environ, "LANNER_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "lanner", "run", str(flow_path),
                           *(options or ("-q",))], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"lanner run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        home = tmpdir / "home"
        results: dict[int, tuple[float, float]] = {}
        print(f"{'values':>7} {'wall s':>8} {'peak RSS MB':>12}")
        for n in sizes:
            path = tmpdir / f"foreach{n}.yaml"
            path.write_text(foreach_flow(n))
            results[n] = run(path, home)
            print(f"{n:>7} {results[n][0]:>8.2f} {results[n][1]:>12.1f}", flush=True)
        big_path = tmpdir / f"foreach{sizes[-1]}.yaml"
        piped, _ = run(big_path, home, "--json")
        print(f"{sizes[-1]:>7} values, `--json` with stderr piped: {piped:.2f} s against {results[sizes[-1]][0]:.2f} s "
              f"with -q  [load {' '.join(f'{x:.2f}' for x in os.getloadavg())}]", flush=True)
        if len(sizes) >= 2:
            small, big = sizes[0], sizes[-1]
            print(f"cost ratio {big}/{small}: {results[big][0] / results[small][0]:.1f}x "
                  f"for {big / small:.0f}x the values (target ≤ {big / small * 1.1:.0f}x)")
        for kind in ("Parallel", "ForEach"):
            path = tmpdir / f"overlap_{kind}.yaml"
            path.write_text(sleeps(kind))
            wall, _ = run(path, home)
            print(f"four 2-second Sleeps in a concurrent {kind}: {wall:.2f} s whole process (about 2 s means overlap)")


if __name__ == "__main__":
    main()
