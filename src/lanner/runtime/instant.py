"""Instant tasks, run by whoever decides, before the decision that dispatched them is persisted.

Persisting before acting is there for what a task does outside Lanner. An instant task
(`RunnableTask.instant`: Log, Return, OutputValues, Echo) does nothing outside: all it does is its
result and its log lines, and those are persisted together with its run, in the transaction that
stores the decision. A crash before that commit leaves the store as if the attempt never started,
so it runs once after the crash, as far as anyone can see. Both runtimes use this: the embedded
loop (`LocalRuntime._act`) and a cluster executor (`cluster_outbox.Outbox.settle`, inside its
claiming transaction), where it spares each such task a job row, a worker's claim, a result
event, and two more transactions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lanner.engine.executor import Effects, Executor
from lanner.model.execution import TaskRun
from lanner.model.flow import Flow
from lanner.model.results import LogEntry
from lanner.plugins.api import RunnableTask
from lanner.runtime import core
from lanner.worker.worker import Job, Worker

STEPS = 512  # instant task attempts run and applied before one persist


def may_run(flow: Flow, run: TaskRun) -> bool:
    """Is the run's current attempt one to run at once (its task instant, no timeout, first attempt)?"""
    task = flow.task(run.task_id)
    return isinstance(task, RunnableTask) and Worker.instant(task, len(run.attempts), None)


def run(executor: Executor, flow: Flow, fx: Effects, worker: Worker, job_of: Callable[[TaskRun], Job | None],
        note: Callable[[LogEntry], None], eligible: Callable[[TaskRun], bool] = lambda _run: True,
        urgent: Callable[[], bool] = lambda: False,
        timed: Callable[[TaskRun, float], None] | None = None,
        files: Callable[[str, bytes], None] | None = None) -> None:
    """Run the instant tasks among `fx.dispatch` now, applying each result to `executor` at once and
    merging what follows into `fx`; what their results dispatch is run the same way, up to `STEPS`
    attempts. The others stay in `fx.dispatch`.

    `note` sees every line of `fx.logs` once, in order — the executor's as well as the tasks' —
    before the next task runs (to mask secrets, to remember errors for `errorLogs()`). `job_of`
    gives the worker's job for a run (None: it failed before it could start; it is reported on
    another way). `eligible` narrows the choice further; `urgent()` true stops at once (a kill
    waits). `timed(run, seconds)` hears the CPU time each attempt took (this thread's: a busy
    machine does not inflate it). `files(uri, content)` writes each file a decision made
    (`Effects.files`: a Loop's stored outputs) before the next task, which may read it, runs.
    Never in a flow with a `WorkingDirectory`: what follows one must see the outputFiles stored
    after the decision is persisted.
    """
    noted = 0

    def catch_up() -> None:
        nonlocal noted
        for entry in fx.logs[noted:]:
            note(entry)
        noted = len(fx.logs)

    def sink(entry: LogEntry) -> None:
        fx.logs.append(entry)
        catch_up()

    catch_up()
    core.store_files(fx, files)
    steps = 0 if not flow.shares_folders() else STEPS
    ran = True
    while ran and steps < STEPS:  # each round runs what the one before dispatched
        ran = False
        pending, fx.dispatch = fx.dispatch, []
        for task_run in pending:
            if urgent():
                steps = STEPS
            if steps >= STEPS or not may_run(flow, task_run) or not eligible(task_run):
                fx.dispatch.append(task_run)
                continue
            job = job_of(task_run)
            if job is None:
                continue
            steps += 1
            ran = True
            began = time.thread_time()
            result = worker.run_now(job, sink)
            if timed is not None:
                timed(task_run, time.thread_time() - began)
            fx.merge(executor.on_result(result))
            catch_up()
            core.store_files(fx, files)
