"""A ForEach over N values with one Log child and a finally, through `lanner run -q`.

Prints, for each N, the whole-process wall time, its CPU time (user + system: steadier than wall
time on a shared machine) and the peak RSS of the `lanner` process, with the load average when it
ended; then how the largest N scales against the smallest, then whether `Parallel` and a
concurrent `ForEach` really overlap four 2-second Sleeps; and a `Loop` of N iterations, each
reading its own iteration's output. The largest N runs again with `--json` (146 MB of JSON for
100,000 values; its peak RSS shows that it is written without being built whole). Targets
(issue 15, item 2): N = 100,000
in ≤ 30 s with ≤ 300 MB peak RSS, and 100,000 costs ≤ 11× what 10,000 costs; four Sleeps in
about 2 s. Figures are printed, never asserted.

    python bench/foreach.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lanner.engine.bookkeeping import DEFAULT_MAX_TASK_RUNS


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


def loop_flow(n: int) -> str:
    """A Loop over N values, each iteration a Return and a Log that reads the Return's output:
    what an iteration's own `outputs` cost to read when N iterations are kept apart."""
    return f"""id: loop{n}
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.Loop
    values: "{{{{ range(1, {n}) }}}}"
    concurrencyLimit: 0
    tasks:
      - id: made
        type: io.kestra.plugin.core.debug.Return
        format: "v{{{{ item.value }}}}"
      - id: read
        type: io.kestra.plugin.core.log.Log
        message: "{{{{ outputs.made.value }}}}"
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


@dataclasses.dataclass(frozen=True)
class Figures:
    wall: float  # seconds, whole process
    cpu: float  # user + system seconds of the `lanner` process
    rss: float  # peak RSS, MB
    load: str  # the 1-minute load average when it ended


def run(flow_path: Path, home: Path, *options: str) -> Figures:
    """The figures of one `lanner run` (`-q` unless other options are given): its own peak RSS and
    CPU, from the rusage `wait4` returns for it alone. Its output goes to files, as a pipe that is
    read at once would: `--json` of 100,000 values is 146 MB."""
    env = {**os.environ, "LANNER_HOME": str(home)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "lanner", "run", str(flow_path), *(options or ("-q",))],
                                stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"lanner run failed ({proc.returncode}):\n{err.read()[-2000:].decode(errors='replace')}")
    return Figures(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, f"{os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        home = tmpdir / "home"
        results: dict[int, Figures] = {}
        print(f"{'values':>7} {'wall s':>8} {'cpu s':>7} {'peak RSS MB':>12} {'load avg':>9}")
        for n in sizes:
            path = tmpdir / f"foreach{n}.yaml"
            path.write_text(foreach_flow(n))
            f = results[n] = run(path, home)
            print(f"{n:>7} {f.wall:>8.2f} {f.cpu:>7.2f} {f.rss:>12.1f} {f.load:>9}", flush=True)
        big_path = tmpdir / f"foreach{sizes[-1]}.yaml"
        piped = run(big_path, home, "--json")
        print(f"{sizes[-1]:>7} values, `--json` with stderr piped: {piped.wall:.2f} s ({piped.cpu:.2f} s CPU, "
              f"peak RSS {piped.rss:.1f} MB) against {results[sizes[-1]].wall:.2f} s ({results[sizes[-1]].cpu:.2f} s "
              f"CPU, {results[sizes[-1]].rss:.1f} MB) with -q  [load {piped.load}]", flush=True)
        # Two task runs an iteration: a Loop of 100,000 would pass the task-run limit.
        for n in [size for size in sizes if 2 * size < DEFAULT_MAX_TASK_RUNS]:
            path = tmpdir / f"loop{n}.yaml"
            path.write_text(loop_flow(n))
            f = run(path, home)
            print(f"Loop of {n} iterations (Return + Log reading its output): {f.wall:.2f} s wall, "
                  f"{f.cpu:.2f} s CPU, peak RSS {f.rss:.1f} MB  [load {f.load}]", flush=True)
        if len(sizes) >= 2:
            small, big = results[sizes[0]], results[sizes[-1]]
            times = sizes[-1] / sizes[0]
            print(f"cost ratio {sizes[-1]}/{sizes[0]}: {big.wall / small.wall:.1f}x wall, "
                  f"{big.cpu / small.cpu:.1f}x cpu for {times:.0f}x the values (target ≤ {times * 1.1:.0f}x)")
        for kind in ("Parallel", "ForEach"):
            path = tmpdir / f"overlap_{kind}.yaml"
            path.write_text(sleeps(kind))
            f = run(path, home)
            print(f"four 2-second Sleeps in a concurrent {kind}: {f.wall:.2f} s whole process "
                  f"(about 2 s means overlap), load avg {f.load}")


if __name__ == "__main__":
    main()
