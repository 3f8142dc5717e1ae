"""Where the test suite's time goes: per-file totals from pytest's JUnit XML, and a comparison.

The README's test command must stay within about ten minutes on a 2-core machine; a single run's
`--durations` lists tests, not files, and misses the many tests of one to two seconds that add
up. Run the suite (or a part of it) with `--junitxml`, then:

    python bench/suite_durations.py after.xml                 # files by total time, slowest first
    python bench/suite_durations.py before.xml after.xml      # the same files side by side, and the change

Each test's time is its setup, call and teardown, as pytest reports it; a module-scoped fixture is
counted in the first test that uses it, a session-scoped one's teardown in the last test.
Wall-clock figures on a shared machine move with its load: compare runs made back to back, and
read the printed load averages. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import collections
import os
import xml.etree.ElementTree as ET
from pathlib import Path


def per_file(path: Path) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """(seconds, tests) per test file, the file named as its dotted module path."""
    seconds: collections.Counter[str] = collections.Counter()
    tests: collections.Counter[str] = collections.Counter()
    for case in ET.parse(path).iter("testcase"):
        parts = (case.get("classname") or "").split(".")
        ends = [i for i, part in enumerate(parts) if part.startswith("test_")]
        module = ".".join(parts[: ends[0] + 1]) if ends else ".".join(parts)
        seconds[module] += float(case.get("time") or 0)
        tests[module] += 1
    return seconds, tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="one JUnit XML file, or two to compare (before, after)")
    parser.add_argument("--top", type=int, default=40, help="files to list (default 40)")
    args = parser.parse_args()
    if len(args.runs) > 2:
        parser.error("give one run, or two to compare")
    print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if len(args.runs) == 1:
        seconds, tests = per_file(args.runs[0])
        print(f"{sum(seconds.values()):8.1f} s in {sum(tests.values())} tests")
        for module, total in seconds.most_common(args.top):
            print(f"{total:8.1f} s {tests[module]:5d}  {module}")
        return
    (before, n_before), (after, n_after) = per_file(args.runs[0]), per_file(args.runs[1])
    print(f"{'before':>8} {'after':>8} {'change':>8}")
    print(f"{sum(before.values()):8.1f} {sum(after.values()):8.1f} {sum(after.values()) - sum(before.values()):+8.1f}"
          f"  all ({sum(n_before.values())} and {sum(n_after.values())} tests)")
    modules = sorted(set(before) | set(after), key=lambda m: after[m] - before[m])
    for module in modules[: args.top]:
        print(f"{before[module]:8.1f} {after[module]:8.1f} {after[module] - before[module]:+8.1f}  {module}")


if __name__ == "__main__":
    main()
