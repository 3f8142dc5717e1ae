"""The cluster runs flows as the embedded runtime does: one contract, SQLite and PostgreSQL.

Executors and workers are the real roles, as threads of this process (see inprocess.py); the
same tests run once per backend.
"""

from __future__ import annotations

import subprocess
import time

import sqlalchemy as sa

from lanner.model.state import StateType
from lanner.runtime.queues import jobs
from lanner.storage import tables
from tests.integration.cluster.inprocess import InProcessCluster, by_task

LOG = "io.kestra.plugin.core.log.Log"
SLEEP = "io.kestra.plugin.core.flow.Sleep"
FAIL = "io.kestra.plugin.core.execution.Fail"


def test_finally_runs_once_after_success_and_after_failure(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    ok = cluster.run(f"""
id: ok
namespace: c
tasks: [{{id: a, type: {LOG}, message: hi}}]
finally: [{{id: fin, type: {LOG}, message: bye}}]
""")
    assert ok.state.current is StateType.SUCCESS
    assert [r.task_id for r in ok.task_runs] == ["a", "fin"]
    bad = cluster.run(f"""
id: bad
namespace: c
tasks: [{{id: a, type: {FAIL}}}, {{id: never, type: {LOG}, message: x}}]
errors: [{{id: err, type: {LOG}, message: "{{{{ execution.state }}}}"}}]
finally: [{{id: fin1, type: {FAIL}}}, {{id: fin2, type: {LOG}, message: still}}]
""")
    assert bad.state.current is StateType.FAILED
    assert [(r.task_id, r.current.value) for r in bad.task_runs] == [
        ("a", "FAILED"), ("err", "SUCCESS"), ("fin1", "FAILED"), ("fin2", "SUCCESS")]


def test_retries_wait_in_the_queue_then_errors_and_finally_run(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    exe = cluster.run(f"""
id: retry
namespace: c
tasks:
  - id: f
    type: {FAIL}
    retry: {{type: constant, interval: PT0.2S, maxAttempt: 3}}
finally: [{{id: fin, type: {LOG}, message: done}}]
""")
    runs = by_task(exe)
    assert exe.state.current is StateType.FAILED
    assert len(runs["f"].attempts) == 3
    starts = [a.state.start_date for a in runs["f"].attempts]
    assert all((b - a).total_seconds() >= 0.19 for a, b in zip(starts, starts[1:], strict=False))
    assert runs["fin"].current is StateType.SUCCESS


def test_pause_delay_and_resume_from_a_client(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    timed = cluster.run(f"""
id: pause_delay
namespace: c
tasks:
  - {{id: p, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT0.3S}}
  - {{id: after, type: {LOG}, message: resumed}}
""")
    assert timed.state.current is StateType.SUCCESS
    started = cluster.start(f"""
id: pause_manual
namespace: c
tasks:
  - {{id: p, type: io.kestra.plugin.core.flow.Pause}}
  - {{id: after, type: {LOG}, message: resumed}}
""")
    cluster.wait(started.id, states=("PAUSED",))
    cluster.client.resume(started.id)
    exe = cluster.wait(started.id)
    assert exe.state.current is StateType.SUCCESS and by_task(exe)["after"].current is StateType.SUCCESS


def test_graceful_kill_still_runs_finally_and_hard_kill_records_what_was_skipped(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    flow = f"""
id: killme
namespace: c
tasks: [{{id: long, type: {SLEEP}, duration: PT30S}}]
errors: [{{id: err, type: {LOG}, message: never}}]
finally: [{{id: fin, type: {LOG}, message: cleanup}}]
"""
    started = cluster.start(flow)
    cluster.wait(started.id, states=("RUNNING",))
    _wait_job_claimed(cluster)
    cluster.client.kill(started.id)
    exe = cluster.wait(started.id, timeout=15)
    assert exe.state.current is StateType.KILLED
    assert [(r.task_id, r.current.value) for r in exe.task_runs] == [("long", "KILLED"), ("fin", "SUCCESS")]
    hard = cluster.start(flow)
    cluster.wait(hard.id, states=("RUNNING",))
    cluster.client.kill(hard.id, hard=True)
    exe = cluster.wait(hard.id, timeout=15)
    assert exe.state.current is StateType.KILLED
    assert exe.notes and "fin" in exe.notes[0]


def test_a_killed_job_that_no_worker_took_ends_at_once(cluster: InProcessCluster) -> None:
    cluster.start_executor()  # no worker at all
    started = cluster.start(f"""
id: nobody
namespace: c
tasks: [{{id: a, type: {SLEEP}, duration: PT1S}}]
finally: [{{id: fin, type: {LOG}, message: x}}]
""")
    cluster.wait(started.id, states=("RUNNING",))
    cluster.client.kill(started.id)
    exe = cluster.wait(started.id, states=("KILLING", "KILLED"))
    assert by_task(exe)["a"].current is StateType.KILLED  # fin now waits for a worker
    cluster.start_worker()
    exe = cluster.wait(started.id)
    assert exe.state.current is StateType.KILLED and by_task(exe)["fin"].current is StateType.SUCCESS


def test_subflow_waits_for_its_child_and_reads_its_outputs(cluster: InProcessCluster) -> None:
    from lanner.loading.flows import load_flow

    cluster.start_executor()
    cluster.start_worker()
    cluster.client.flows.save(load_flow("""
id: child
namespace: c
inputs: [{id: n, type: INT}]
tasks: [{id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.n * 2 }}"}]
outputs: [{id: doubled, type: STRING, value: "{{ outputs.r.value }}"}]
"""))
    exe = cluster.run("""
id: parent
namespace: c
tasks:
  - {id: sub, type: io.kestra.plugin.core.flow.Subflow, namespace: c, flowId: child, inputs: {n: 21}}
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.sub.outputs.doubled }}"}
""")
    assert exe.state.current is StateType.SUCCESS
    assert by_task(exe)["show"].outputs["value"] == "42"


def test_worker_groups_route_jobs_and_fallback_fail_without_such_worker(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    default = cluster.start_worker()
    gpu = cluster.start_worker(worker_group="gpu")
    exe = cluster.run(f"""
id: groups
namespace: c
tasks:
  - {{id: anywhere, type: {SLEEP}, duration: PT0.01S}}
  - {{id: on_gpu, type: {LOG}, message: b, workerGroup: {{key: gpu}}}}
""")
    runs = by_task(exe)
    assert runs["anywhere"].attempts[0].worker_id == default.id
    assert runs["on_gpu"].attempts[0].worker_id == gpu.id
    missing = cluster.run(f"""
id: groups_missing
namespace: c
tasks: [{{id: t, type: {LOG}, message: a, workerGroup: {{key: tpu, fallback: FAIL}}}}]
finally: [{{id: fin, type: {LOG}, message: x}}]
""")
    assert missing.state.current is StateType.FAILED
    assert by_task(missing)["fin"].current is StateType.SUCCESS


def test_the_attempt_of_a_silent_worker_is_handed_back_as_a_new_attempt(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    started = cluster.start(f"""
id: lost
namespace: c
tasks: [{{id: s, type: {SLEEP}, duration: PT0.1S}}]
finally: [{{id: fin, type: {LOG}, message: once}}]
""")
    _wait_job_pending(cluster)
    with cluster.db.transaction() as tx:  # a worker that claims, then its process dies (SIGKILL)
        jobs.register(tx, "ghost", "", 1)
        claimed = jobs.claim(tx, "ghost", "", 10)
        tx.conn.execute(tables.workers.update().where(tables.workers.c.id == "ghost").values(pid=_dead_pid()))
    assert claimed and claimed[0].task_run_id
    real = cluster.start_worker()
    exe = cluster.wait(started.id, timeout=20)
    runs = by_task(exe)
    assert exe.state.current is StateType.SUCCESS
    assert [a.state.current.value for a in runs["s"].attempts] == ["FAILED", "SUCCESS"]
    assert runs["s"].attempts[1].worker_id == real.id
    assert len(runs["fin"].attempts) == 1


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])  # noqa: S603,S607 - any short-lived process
    proc.wait()
    return proc.pid


def test_a_silent_worker_whose_process_lives_keeps_its_attempt(cluster: InProcessCluster) -> None:
    """Stopped or busy is not dead: on the reaper's machine a silent worker whose process still runs
    keeps its attempts (no second owner), and its result is applied when it comes."""
    from lanner.model.results import WorkerResult

    cluster.start_executor()
    started = cluster.start(f"""
id: stopped
namespace: c
tasks: [{{id: s, type: {SLEEP}, duration: PT0.1S}}]
""")
    _wait_job_pending(cluster)
    with cluster.db.transaction() as tx:  # registered by this (live) process, then silent past deadAfter
        jobs.register(tx, "sleeper", "", 1)
        claimed = jobs.claim(tx, "sleeper", "", 10)
    assert claimed
    deadline = time.monotonic() + 3 * cluster.settings.dead_after_seconds
    while time.monotonic() < deadline:  # several reaps happen meanwhile
        with cluster.db.reader.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.queue_events)).scalar() == 0
        time.sleep(0.1)  # behaviour under test: a stopped worker stays unreaped for 3 x deadAfter
    with cluster.db.transaction() as tx:  # it wakes up and reports: accepted, since it still holds the job
        assert jobs.finish(tx, [(claimed[0].task_run_id, 1, "sleeper")]) == {(claimed[0].task_run_id, 1)}
        from lanner.runtime.queues import events
        from lanner.runtime.queues.base import Kind, encode_result

        events.put(tx, started.id, Kind.RESULT, encode_result(WorkerResult(started.id, claimed[0].task_run_id, 1,
                                                                           StateType.SUCCESS, worker_id="sleeper")))
    exe = cluster.wait(started.id, timeout=10)
    assert exe.state.current is StateType.SUCCESS
    assert [a.state.current.value for a in exe.task_runs[0].attempts] == ["SUCCESS"]


def test_the_late_result_of_a_handed_back_attempt_is_refused(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start(f"""
id: fenced
namespace: c
tasks: [{{id: s, type: {SLEEP}, duration: PT0.1S}}]
""")
    _wait_job_pending(cluster)
    with cluster.db.transaction() as tx:
        jobs.register(tx, "away", "", 1)
        claimed = jobs.claim(tx, "away", "", 10)
        tx.conn.execute(tables.workers.update().where(tables.workers.c.id == "away").values(pid=_dead_pid()))
    assert claimed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the reaper hands the job back (a worker_lost event, job deleted)
        with cluster.db.reader.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(tables.queue_jobs)
                            .where(tables.queue_jobs.c.claimed_by == "away")).scalar() == 0:
                break
        time.sleep(0.05)
    with cluster.db.transaction() as tx:
        assert not jobs.finish(tx, [(claimed[0].task_run_id, 1, "away")])


def test_a_worker_reaped_while_alive_stops_its_attempt_and_registers_again(cluster: InProcessCluster) -> None:
    """What a worker on another machine sees after a long freeze: it was reaped, its attempt handed
    back. It stops that attempt (whose late result is refused) and carries on under a new id."""
    cluster.start_executor()
    worker = cluster.start_worker()
    started = cluster.start(f"""
id: reaped
namespace: c
tasks: [{{id: s, type: {SLEEP}, duration: PT1.5S}}]
""")
    _wait_job_claimed(cluster)
    old = worker.id
    w = tables.workers
    with cluster.db.transaction() as tx:  # seen from another machine, silent past deadAfter: reaped
        tx.conn.execute(w.update().where(w.c.id == old).values(host_key="another-machine:1", heartbeat=0.0))
        assert jobs.reap(tx, cluster.settings.dead_after_seconds)
    exe = cluster.wait(started.id, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    attempts = exe.task_runs[0].attempts
    assert [a.state.current.value for a in attempts] == ["FAILED", "SUCCESS"]
    assert worker.id != old and attempts[1].worker_id == worker.id
    with cluster.db.reader.connect() as conn:
        assert [r.id for r in conn.execute(sa.select(tables.workers.c.id))] == [worker.id]


def test_a_late_or_duplicate_result_changes_nothing(cluster: InProcessCluster) -> None:
    from lanner.model.results import WorkerResult
    from lanner.runtime.queues import events
    from lanner.runtime.queues.base import Kind, encode_result

    cluster.start_executor()
    cluster.start_worker()
    exe = cluster.run(f"""
id: dup
namespace: c
tasks: [{{id: a, type: {LOG}, message: x}}]
""")
    run = exe.task_runs[0]
    with cluster.db.transaction() as tx:
        for attempt in (1, 2):
            events.put(tx, exe.id, Kind.RESULT, encode_result(WorkerResult(exe.id, run.id, attempt, StateType.FAILED)))

    def applied() -> bool:  # the executor has taken both late results (it deletes events it applies)
        with cluster.db.reader.connect() as conn:
            t = tables.queue_events
            left = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.execution_id == exe.id)).scalar()
            return left == 0

    deadline = time.monotonic() + 10
    while not applied():
        assert time.monotonic() < deadline, "the executor never took the late results"
        time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
    again = cluster.client.get(exe.id)
    assert again.state.current is StateType.SUCCESS and again.task_runs[0].current is StateType.SUCCESS
    assert len(again.task_runs[0].attempts) == 1


def test_two_executors_and_two_workers_share_many_executions(cluster: InProcessCluster) -> None:
    for _ in range(2):
        cluster.start_executor()
        cluster.start_worker()
    flow = f"""
id: many
namespace: c
tasks: [{{id: a, type: {LOG}, message: x}}, {{id: b, type: {LOG}, message: y}}]
finally: [{{id: fin, type: {LOG}, message: z}}]
"""
    ids = [cluster.start(flow).id for _ in range(40)]
    done = [cluster.wait(i) for i in ids]
    assert all(e.state.current is StateType.SUCCESS for e in done)
    assert all([r.task_id for r in e.task_runs] == ["a", "b", "fin"] for e in done)
    with cluster.db.reader.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.queue_jobs)).scalar() == 0


def _wait_job_pending(cluster: InProcessCluster, timeout: float = 10) -> None:
    _wait_rows(cluster, tables.queue_jobs.c.claimed_by.is_(None), timeout)


def _wait_job_claimed(cluster: InProcessCluster, timeout: float = 10) -> None:
    _wait_rows(cluster, tables.queue_jobs.c.claimed_by.is_not(None), timeout)


def _wait_rows(cluster: InProcessCluster, where: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cluster.db.reader.connect() as conn:
            if conn.execute(sa.select(tables.queue_jobs.c.seq).where(where)).first():  # type: ignore[arg-type]
                return
        time.sleep(0.05)
    raise AssertionError("no such job appeared")
