"""How many flows written for Kestra Lanner accepts, why it refuses the others, and whether the ones
it runs end as Kestra's own tests say they end.

The flows are not part of this repository (they are Kestra's, not ours to copy): give the folder
that holds them. Every `*.yaml`/`*.yml` in it is checked with `lanner validate`, one process per
file as a user would run it; each refusal is reduced to its cause (the message without its
location and task prefix, cut at the first `;`) and the causes are counted, most frequent first.
Flows refused only for naming task classes of Kestra's Java test code are counted apart too.

With `--run`, each accepted flow named in `EXPECTED` is run with `lanner run --json` under a fresh
`LANNER_HOME`, once per expected case (inputs given as Kestra's test gives them), and its final
state and number of task runs are compared with what Kestra's tests assert. `EXPECTED` holds only
those facts (flow id, inputs, state, task-run count), never a flow. `None` for the state or the
count means Kestra's test does not pin it.

With `--templates FILE` (repeatable), a JSON list of `{"template", "variables", "expected"}` cases (Kestra's
Pebble test cases, transcribed outside the repository) is rendered through `lanner.expr.render`
and the matches counted; a case whose `expected` is `null` must fail to render.

    python bench/kestra_compat.py /tmp/kestra-flows [--run] [--templates cases.json ...]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What Kestra's own tests assert for some of its OSS-core test flows (core/src/test/resources/
# flows/valids), keyed by the flow's file name. Each case: inputs, final state, task-run count.
# Read from the Java tests that run each flow (AbstractRunnerTest, DagTest, EachSequentialTest,
# FinallyTest, ForEachTest, IfTest, SwitchTest, ParallelTest, VariablesTest, TaskWithRunIfTest,
# TaskWithWhenTest, TaskWithAllowFailureTest, TaskWithAllowWarningTest, ChangeStateTestCase …);
# the few marked "counted" were counted from the flow by Kestra's documented rules (one task run
# per task and per loop value, a skipped `runIf` included) where no test pins them.
EXPECTED: dict[str, list[tuple[dict[str, str], str | None, int | None]]] = {
    "allow-failure": [({}, "WARNING", 9), ({"crash": "x"}, "FAILED", 10)],
    "errors": [({}, "FAILED", 7)],  # counted
    "each-sequential": [({}, "WARNING", 11)],
    "each-sequential-nested": [({}, "SUCCESS", 23)],
    "each-parallel-nested": [({}, "SUCCESS", 11)],
    "each-switch": [({}, "SUCCESS", 12)],
    "each-object": [({}, "SUCCESS", 8)],
    "each-object-in-list": [({}, "SUCCESS", 8)],
    "each-empty": [({}, "SUCCESS", 2)],
    "each-null": [({}, "FAILED", 1)],
    "each-disabled-tasks": [({}, "SUCCESS", 2)],
    "each-parallel": [({}, "SUCCESS", 8)],
    "each-parallel-subflow-notfound": [({}, "FAILED", None)],
    "current-output": [({}, "SUCCESS", 32)],  # counted
    "dag": [({}, "SUCCESS", 7)],
    "dag-failfast": [({}, "FAILED", None)],
    "full": [({}, "SUCCESS", 13)],
    "logs": [({}, None, 5)],
    "sequential": [({}, None, 11)],
    "parallel": [({}, None, 8)],
    "parallel-nested": [({}, None, 11)],
    "finally-sequential": [({"failed": "false"}, "SUCCESS", 5), ({"failed": "true"}, "FAILED", 5)],
    "finally-sequential-error": [({"failed": "false"}, "SUCCESS", 5), ({"failed": "true"}, "FAILED", 7)],
    "finally-sequential-error-first": [({}, "FAILED", 3)],
    "finally-allowfailure": [({"failed": "false"}, "SUCCESS", 5), ({"failed": "true"}, "WARNING", 7)],
    "finally-parallel": [({"failed": "false"}, "SUCCESS", 8), ({"failed": "true"}, "FAILED", 10)],
    "finally-foreach": [({"failed": "false"}, "SUCCESS", 9), ({"failed": "true"}, "FAILED", 11)],
    "finally-eachparallel": [({"failed": "false"}, "SUCCESS", 9), ({"failed": "true"}, "FAILED", 11)],
    "finally-dag": [({"failed": "false"}, "SUCCESS", 7), ({"failed": "true"}, "FAILED", 9)],
    "finally-flow": [({"failed": "false"}, "SUCCESS", 4), ({"failed": "true"}, "FAILED", 4)],
    "finally-flow-error": [({"failed": "false"}, "SUCCESS", 4), ({"failed": "true"}, "FAILED", 6)],
    "finally-flow-error-first": [({}, "FAILED", 2)],
    "foreach-non-concurrent": [({}, "SUCCESS", 7)],
    "foreach-concurrent": [({}, "SUCCESS", 7)],
    "foreach-concurrent-parallel": [({}, "SUCCESS", 10)],
    "foreach-concurrent-no-limit": [({}, "SUCCESS", 7)],
    "foreach-disabled-tasks": [({}, "SUCCESS", 1)],
    "foreach-error": [({}, "FAILED", 6)],
    "fail-on-condition": [({"param": "fail"}, "FAILED", 2), ({"param": "ok"}, "SUCCESS", 3)],  # counted
    "fail-on-switch": [({"param": "notexist"}, "FAILED", 2), ({"param": "case1"}, "SUCCESS", 2)],  # counted
    "failed-first": [({}, "FAILED", 1)],
    "disable-error": [({}, None, 3)],
    "disable-simple": [({}, None, 2)],
    "disable-flowable": [({}, None, 10)],
    "change-state-errors": [({}, "FAILED", 3)],  # counted
    "condition_with_input": [({}, "SUCCESS", 2), ({"condition": "fail"}, "FAILED", 2)],  # counted
    "exit": [({}, "WARNING", 2), ({"state": "CONTINUE"}, "SUCCESS", 3)],  # counted
    "exit-killed": [({}, "KILLED", 2)],  # counted
    "exit-nested": [({}, "FAILED", 4)],  # counted
    "assert": [({}, "FAILED", 2)],  # counted
    "after-execution": [({}, "SUCCESS", 2)],  # counted
    "bash-warning": [({}, "WARNING", 1)],  # counted
    "if": [({"if1": "true", "if2": "false", "if3": "true"}, "SUCCESS", 12)],
    "if-condition": [({"param": "true"}, "SUCCESS", 2), ({"param": "false"}, "SUCCESS", 2),
                     ({"param": "1"}, "SUCCESS", 2), ({"param": "0"}, "SUCCESS", 2)],
    "if-without-else": [({"param": "true"}, "SUCCESS", 2), ({"param": "false"}, "SUCCESS", 1)],
    "if-in-flowable": [({"param": "true"}, "SUCCESS", 8)],
    "if-with-only-disabled-tasks": [({}, "SUCCESS", 1)],
    "switch-impossible": [({"string": "impossible"}, "FAILED", None)],
    "task-runif": [({}, "FAILED", None)],  # the test's 5 runs count a Subflow the stored flow lacks
    "task-runif-workingdirectory": [({}, "SUCCESS", 3)],
    "task-when": [({}, "FAILED", 5)],
    "task-when-workingdirectory": [({}, "SUCCESS", 3)],
    "task-when-executionupdating": [({}, "SUCCESS", 5)],
    "task-allow-failure-runnable": [({}, "WARNING", 2)],
    "task-allow-failure-flowable": [({}, "WARNING", 3)],
    "task-allow-warning-runnable": [({}, "SUCCESS", 2)],
    "task-allow-warning-flowable": [({}, "SUCCESS", 3)],
    # Fetched for the measure over all test flows (2026-11-30): from LabelsTest, ParentOutputFunctionTest
    # (whose outputs Kestra pins; the counts are counted), SwitchTest, and counted from the flow.
    "npe-labels-update-task": [({}, "SUCCESS", 1)],
    "parent-output": [({}, "SUCCESS", 10)],  # counted: ForEach + 3 × (value, if, parentOutput)
    "parents-output": [({}, "SUCCESS", 6)],  # counted: value, if, forEach + 3 × parentOutput
    "switch": [({"string": "FIRST"}, "SUCCESS", 2), ({"string": "SECOND"}, "SUCCESS", 3),
               ({"string": "THIRD"}, "FAILED", 4), ({"string": "other"}, "SUCCESS", 2)],
    "after-execution-error": [({}, "FAILED", 3)],  # counted
    "after-execution-finally": [({}, "SUCCESS", 3)],  # counted
    "after-execution-flowable": [({}, "SUCCESS", 4)],  # counted
    "restart_always_failed": [({}, "FAILED", 2)],  # counted
    "restart_local_errors": [({}, "FAILED", 5)],  # counted
    "restart-with-finally": [({}, "FAILED", 3)],  # counted: the Fail's runIf holds on the first attempt
    "minimal": [({}, "SUCCESS", 1)],  # counted
    "output-values": [({}, "SUCCESS", 1)],  # counted
    "per-key-output": [({}, "SUCCESS", 4)],  # counted
    "inputs-large": [({"string": "x"}, "SUCCESS", 10)],  # counted: the EachSequential + 9 values
    "sla-max-duration-ok": [({}, "SUCCESS", 1)],  # SLATestCase: the SLA holds
    "log-to-file": [({}, "SUCCESS", 1)],  # LogToFileTest
    "variables-invalid": [({}, "FAILED", 2)],  # VariablesTest: the Switch fails on `inputs.invalid`
    "return": [({}, "SUCCESS", 3)],  # counted
    # PauseTest: pauses that end without a reviewer (by their duration or timeout).
    "each-parallel-pause": [({}, "SUCCESS", 7)],
    "pause-delay": [({}, "SUCCESS", 3)],
    "pause-duration-from-input": [({}, "SUCCESS", 3)],
    "pause-timeout": [({}, "FAILED", 1)],
    "pause-timeout-allow-failure": [({}, "WARNING", 2)],  # PauseTest now asserts 2 runs, as the version held has
    "pause-behavior": [({"behavior": "RESUME"}, "SUCCESS", 2), ({"behavior": "WARN"}, "WARNING", 2),
                       ({"behavior": "FAIL"}, "FAILED", 1), ({"behavior": "CANCEL"}, "CANCELLED", 1)],
    "pause-errors-finally-after-execution": [({}, "FAILED", 4)],
    "pause_on_pause": [({}, "SUCCESS", 2)],  # the Pause and its onPause task
    # Approval flows that end without a reviewer (ApprovalTest): approved automatically, onWait
    # failing, or expired by their timeout. Counts: the Approval, then its children that ran.
    "approval-auto-approve": [({}, "SUCCESS", 2)],
    "approval-auto-approve-conditional": [({"autoApprove": "true"}, "SUCCESS", 2)],
    "approval-finally-fail": [({}, "FAILED", 3)],
    "approval-expire": [({}, "CANCELLED", 3)],
    "approval-expire-no-finally": [({}, "CANCELLED", 1)],
    # Fetched again for the measure over all test flows (2026-11-30, second machine), read from the
    # Java tests named on each group; `None` where the test pins only attempts, not task runs.
    # AbstractRunnerTest, PauseTest, IfTest, ForEachTest:
    "executable-fail": [({}, "FAILED", 1)],
    "dynamic-task": [({}, "SUCCESS", 3)],
    "foreach-concurrent-pause": [({}, "SUCCESS", 4)],
    "foreach-nested": [({}, "SUCCESS", None)],
    "if-in-parallel": [({}, "SUCCESS", 9)],
    # InputsTest, StateTest, SetVariablesTest:
    "input-log-secret": [({"nested.key": "pass"}, "SUCCESS", 1)],
    "state": [({"state": "compat"}, "SUCCESS", 5)],
    "set-variables": [({}, "SUCCESS", 2)],
    "set-variables-duplicate": [({}, "FAILED", 1)],
    # RuntimeLabelsTest:
    "labels-update-task": [({"labelsJson": '{"keyFromJson": "valueFromJson"}', "labelsMapKey": "keyFromMap",
                            "labelsMapValue": "valueFromMap", "labelsListKey": "keyFromList",
                            "labelsListValue": "valueFromList"}, "SUCCESS", 4)],
    "primitive-labels-flow": [({"intLabel": "42", "boolLabel": "true", "floatLabel": "3.14"}, "SUCCESS", 1)],
    **{name: [({}, "SUCCESS", 1)] for name in ("labels-update-nested-value-list", "labels-update-nested-value-map")},
    "labels-update-task-deduplicate": [({}, "SUCCESS", 2)],
    # RetryCaseTest (a retried task is one task run, its attempts inside it):
    "retry-success": [({}, "WARNING", 1)],
    "retry-success-first-attempt": [({}, "SUCCESS", 1)],
    **{name: [({}, "FAILED", 1)] for name in ("retry-random", "retry-expo")},
    **{name: [({}, "FAILED", 2)] for name in ("retry-failed", "retry-fail")},  # the task, then `errors`
    **{name: [({}, "FAILED", None)] for name in (
        "retry-flowable", "retry-flowable-child", "retry-flowable-nested-child", "retry-flowable-parallel",
        "retry-failed-task-attempts", "retry-failed-task-duration", "retry-failed-flow-attempts",
        "retry-failed-flow-duration")},
    # FetchTest: SUCCESS (and a `size` of 3, 1 with `tasksId`); its 4 task runs are not the version
    # held (3 tasks), so the count is left open.
    "get-log": [({}, "SUCCESS", None)],
    "get-log-taskid": [({}, "SUCCESS", None)],
    # LoopCaseTest.loopOutputsStore: SUCCESS; Kestra's 2 runs leave out the 3 iterations (one run
    # each, in sub-executions), which Lanner keeps in the execution
    "loop-outputs-store": [({}, "SUCCESS", 5)],
    # JsonInputSchemaFlowIntegrationTest (its refused case is an execution never created, not a state)
    "json-input-schema-validation": [({"jsonWithSchema": '{"name": "kestra"}', "jsonWithoutSchema": '{"any": "shape"}'},
                                      "SUCCESS", 2)],
}

_LOCATED = re.compile(r"^error: [^:]+:\d+(?::\d+)?: (?P<message>.*)$")
_UNLOCATED = re.compile(r"^error: [^:]+: (?P<message>.*)$")
# Task and trigger classes of Kestra's own Java test code (`io.kestra.core.tasks.test.Sleep`,
# `TaskCacheTest$CounterTask`, …): no Kestra user can name them either, so a flow refused for these
# alone says nothing about what Lanner lacks, and is counted apart.
_KESTRA_TEST_CLASS = re.compile(r"^(?:unknown task type|trigger type) `io\.kestra\."
                                r"(?:core\.tasks\.test\.|core\.runners\.|core\.plugins\.|[\w.]*Test\$)")
_TASK_PREFIX = re.compile(r"^(?:[\w.\-]+(?:\[\d+\])?(?:\.[\w\-]+(?:\[\d+\])?)*(?: \([^)]*\))?: )")


@dataclass
class Tally:
    """What one pass over the folder found."""

    accepted: list[Path] = field(default_factory=list)
    refused: dict[Path, list[str]] = field(default_factory=dict)

    def causes(self) -> Counter[str]:
        """Each cause counted once per flow it refuses, so one flow with ten bad tasks is not ten."""
        counted: Counter[str] = Counter()
        for causes in self.refused.values():
            counted.update(set(causes))
        return counted

    def refused_for_test_classes_only(self) -> list[Path]:
        """The flows whose every refusal names a class of Kestra's Java test code."""
        return [path for path, causes in self.refused.items()
                if all(_KESTRA_TEST_CLASS.match(cause) for cause in causes)]


def cause_of(line: str) -> str | None:
    """The cause of one `lanner validate` error line: without where it is, so equal causes meet."""
    match = _LOCATED.match(line) or _UNLOCATED.match(line)
    if match is None:
        return None
    message = _TASK_PREFIX.sub("", match.group("message"), count=1)
    return message.split(";", 1)[0].strip()


def lanner(*args: str, home: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The `lanner` command as a user runs it (`python -m lanner`, with the caller's environment: the code
    found first on its path — the installed checkout, or the one `PYTHONPATH` names — is what runs)."""
    env = dict(os.environ)
    if home is not None:
        env["LANNER_HOME"] = home
    return subprocess.run([sys.executable, "-m", "lanner", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def validate_all(folder: Path) -> Tally:
    tally = Tally()
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        done = lanner("validate", str(path))
        if done.returncode == 0:
            tally.accepted.append(path)
            continue
        causes = [c for c in map(cause_of, done.stderr.splitlines()) if c]
        tally.refused[path] = causes or [f"exit {done.returncode} with no located error"]
    return tally


def run_expected(accepted: list[Path]) -> tuple[int, int, list[str]]:
    """Runs each accepted flow that has an expectation; returns (cases, matches, mismatch lines)."""
    cases = matches = 0
    mismatches: list[str] = []
    for path in accepted:
        for inputs, state, count in EXPECTED.get(path.stem, []):
            cases += 1
            with tempfile.TemporaryDirectory(prefix="lanner-compat-") as home:
                args = ["run", str(path), "--json", "--quiet"]
                for key, value in inputs.items():
                    args += ["-i", f"{key}={value}"]
                try:
                    done = lanner(*args, home=home)
                except subprocess.TimeoutExpired:
                    mismatches.append(f"{path.stem} {inputs}: timed out")
                    continue
            got_state, got_count = _outcome(done.stdout)
            if (state is None or got_state == state) and (count is None or got_count == count):
                matches += 1
            else:
                want = f"{state or '-'}/{count if count is not None else '-'}"
                mismatches.append(f"{path.stem} {inputs}: Kestra {want}, Lanner {got_state}/{got_count}"
                                  + (f" ({_last_error(done.stderr)})" if got_state is None else ""))
    return cases, matches, mismatches


def _outcome(stdout: str) -> tuple[str | None, int | None]:
    try:
        execution = json.loads(stdout)
    except json.JSONDecodeError:
        return None, None
    return execution["state"]["current"], len(execution.get("taskRunList") or [])


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


def render_cases(path: Path) -> tuple[int, int, list[str]]:
    from lanner import expr

    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    matches = 0
    mismatches: list[str] = []
    for case in cases:
        try:
            got: str | None = expr.render(case["template"], case.get("variables") or {})
        except Exception as error:  # noqa: BLE001 - a refusal is an outcome to compare, whatever its class
            got = None
            reason = f"({str(error).splitlines()[0] if str(error) else type(error).__name__})"
        else:
            reason = ""
        if got == case["expected"]:
            matches += 1
        else:
            mismatches.append(f"{case['template']!r}: Kestra {case['expected']!r}, Lanner {got!r} {reason}".rstrip())
    return len(cases), matches, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("folder", type=Path, help="folder holding the Kestra flows (*.yaml)")
    parser.add_argument("--run", action="store_true", help="run the accepted flows Kestra's tests pin")
    parser.add_argument("--templates", type=Path, action="append", default=[],
                        help="JSON file of Pebble template cases (repeatable; figures per file)")
    parser.add_argument("--top", type=int, default=15, help="how many refusal causes to print")
    args = parser.parse_args()
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")

    tally = validate_all(args.folder)
    total = len(tally.accepted) + len(tally.refused)
    if total == 0 and not args.templates:
        parser.error(f"no *.yaml or *.yml file in {args.folder}")
    if total:
        report_flows(tally, total, args)
    for path in args.templates:
        cases, matches, mismatches = render_cases(path)
        print(f"templates in {path.name}: {matches}/{cases} render as Kestra's tests expect")
        for line in mismatches:
            print(f"  differs: {line}")


def report_flows(tally: Tally, total: int, args: argparse.Namespace) -> None:
    """The flow figures; an empty folder (templates only) prints none."""
    print(f"flows: {total}, accepted: {len(tally.accepted)} ({100 * len(tally.accepted) / total:.1f}%), "
          f"refused: {len(tally.refused)}")
    test_only = len(tally.refused_for_test_classes_only())
    if test_only and total > test_only:
        print(f"leaving out the {test_only} refused only for naming classes of Kestra's Java test code: "
              f"{len(tally.accepted)} of {total - test_only} ({100 * len(tally.accepted) / (total - test_only):.1f}%)")
    print(f"top {args.top} refusal causes (flows refused by each):")
    for cause, count in tally.causes().most_common(args.top):
        print(f"  {count:4d}  {cause}")
    for path, causes in sorted(tally.refused.items()):
        print(f"  refused {path.name}: {causes[0]}")

    if args.run:
        cases, matches, mismatches = run_expected(tally.accepted)
        print(f"outcomes: {matches}/{cases} cases end as Kestra's tests say (state and task-run count)")
        for line in mismatches:
            print(f"  differs: {line}")


if __name__ == "__main__":
    main()
