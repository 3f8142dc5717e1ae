"""Engine overhead per task run: N sequential Log tasks plus a finally, through `lanner run`.

Prints, for each N, the whole-process wall time, the per-task overhead over a 1-task flow (every
state persisted to SQLite), and the peak RSS; then the wall time of `lanner run` on the seed
example, on an existing home and as the first run on a new home (which creates the store).
Targets (issue 3): ≤ 1 ms per task run, ≤ 0.5 s for the seed example, ≤ 100 MB RSS for 1,000
tasks; (issue 15) the first run on a new home within 0.05 s of the others. Figures are printed,
never asserted, with the load average next to them (the machine is shared: they are noisy).

    python bench/chain.py [--sizes 100,1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chain_flow(n: int) -> str:
    tasks = "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.log.Log\n    message: \"step {i} of {{{{ flow.id }}}}\"\n"
        for i in range(n)
    )
    return (f"id: chain{n}\nnamespace: bench\ntasks:\n{tasks}"
            "finally:\n  - id: cleanup\n    type: io.kestra.plugin.core.log.Log\n    message: cleanup\n")


def run(flow_path: Path, home: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KB) and CPU seconds (user + system: less shaken by other load than
    the wall time) of one `lanner run`."""
    env = {**os.environ, "LANNER_HOME": str(home)}
    start = time.perf_counter()
    command = [sys.executable, "-m", "lanner", "run", str(flow_path), "-q"]
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *command], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"lanner run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rss, user, system = proc.stderr.strip().splitlines()[-1].split()
    return wall, int(rss), float(user) + float(system)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        home = tmpdir / "home"
        flows = {}
        for n in [1, *sizes]:
            flows[n] = tmpdir / f"chain{n}.yaml"
            flows[n].write_text(chain_flow(n))
        run(flows[1], home)  # creates the database once, outside the measurement
        results = {}
        for n in [1, *sizes]:
            best = min((run(flows[n], home) for _ in range(args.repeat)), key=lambda r: r[0])
            results[n] = best
        base = results[1][0]
        print(f"{'tasks':>6} {'wall s':>8} {'overhead/task ms':>17} {'peak RSS MB':>12}")
        for n in [1, *sizes]:
            wall, rss, _ = results[n]
            per = (wall - base) / (n - 1) * 1000 if n > 1 else float("nan")
            print(f"{n:>6} {wall:>8.3f} {per:>17.3f} {rss / 1024:>12.1f}")
        print(f"[load {_load()}]")
        seed = ROOT / "examples" / "finally_example_success.yaml"
        seed_runs = [run(seed, home)[0] for _ in range(args.repeat)]
        print(f"seed example `lanner run` whole process: best {min(seed_runs):.3f} s, "
              f"median {_median(seed_runs):.3f} s (target ≤ 0.5 s)  [load {_load()}]")
        # Alternate new and existing homes, so that a change in the machine's load hits both alike.
        first, again = [], []
        for i in range(max(args.repeat, 5)):
            new_home = tmpdir / f"new-home-{i}"
            first.append(run(seed, new_home))
            again.append(run(seed, new_home))
        for what, index in (("wall", 0), ("CPU", 2)):
            new, old = [r[index] for r in first], [r[index] for r in again]
            print(f"seed example {what} s, first run on a new home: median {_median(new):.3f}, best {min(new):.3f}; "
                  f"then on that home: median {_median(old):.3f}, best {min(old):.3f}; difference of medians "
                  f"{_median(new) - _median(old):+.3f} s (target ≤ +0.05 s)  [load {_load()}]")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _load() -> str:
    """The 1-, 5- and 15-minute load averages, to read a figure against."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
