"""Instant tasks (Log, Return…) in a cluster: the executor runs them inside the transaction that
dispatched them (`runtime/instant.py`), so a flow of them never reaches a worker; a task with a
`workerGroup` still goes to that group's workers. SQLite and PostgreSQL, real roles as threads."""

from __future__ import annotations

import sqlalchemy as sa

from lanner.model.state import StateType
from lanner.storage import tables
from tests.integration.cluster.inprocess import InProcessCluster, by_task
from tests.integration.cluster.inprocess import log_messages as _messages

LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
SLEEP = "io.kestra.plugin.core.flow.Sleep"


def test_a_flow_of_instant_tasks_ends_with_no_worker_running(cluster: InProcessCluster) -> None:
    cluster.start_executor()  # and no worker at all
    exe = cluster.run(f"""
id: instant_only
namespace: c
tasks:
  - {{id: hello, type: {LOG}, message: "hello {{{{ execution.id }}}}"}}
  - {{id: answer, type: {RETURN}, format: "{{{{ taskrun.id }}}}"}}
finally:
  - {{id: bye, type: {LOG}, message: "after {{{{ outputs.answer.value }}}}"}}
""", timeout=20)
    assert exe.state.current is StateType.SUCCESS
    runs = by_task(exe)
    assert runs["answer"].outputs == {"value": runs["answer"].id}
    assert all(r.attempts[0].worker_id and r.attempts[0].worker_id.startswith("executor-") for r in exe.task_runs)
    assert _messages(cluster, exe.id, "hello") == [f"hello {exe.id}"]
    assert _messages(cluster, exe.id, "bye") == [f"after {runs['answer'].id}"]
    with cluster.db.reader.connect() as conn:  # nothing was queued for a worker
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.queue_jobs)).scalar() == 0


def test_an_instant_task_on_the_executor_sees_error_lines_stored_and_of_its_own_pass(
        cluster: InProcessCluster) -> None:
    cluster.start_executor()
    cluster.start_worker()
    exe = cluster.run(f"""
id: errors_seen
namespace: c
tasks:
  - {{id: slow, type: {SLEEP}, duration: PT0.01S}}
  - {{id: shout, type: {LOG}, level: ERROR, message: boom}}
  - {{id: look, type: {LOG}, message: "seen {{{{ errorLogs() | length }}}}: {{{{ errorLogs()[0].message }}}}"}}
""", timeout=20)
    assert exe.state.current is StateType.SUCCESS
    assert _messages(cluster, exe.id, "look") == ["seen 1: boom"]


def test_instant_tasks_keep_their_log_lines_in_order_and_secret_inputs_masked(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    exe = cluster.run(f"""
id: masked
namespace: c
inputs:
  - {{id: token, type: SECRET}}
tasks:
  - {{id: one, type: {LOG}, message: "token {{{{ inputs.token }}}}"}}
  - {{id: two, type: {LOG}, message: "second"}}
""", inputs={"token": "s3cr3t-value"}, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    messages = _messages(cluster, exe.id)
    assert "s3cr3t-value" not in " ".join(messages)
    assert messages.index("second") > next(i for i, m in enumerate(messages) if m.startswith("token "))


def test_an_instant_task_with_a_worker_group_waits_for_a_worker_of_that_group(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    started = cluster.start(f"""
id: grouped
namespace: c
tasks:
  - {{id: here, type: {LOG}, message: a}}
  - {{id: there, type: {LOG}, message: b, workerGroup: {{key: gpu}}}}
""")
    waiting = cluster.wait(started.id, timeout=20, states=("RUNNING",))
    assert waiting.state.current is StateType.RUNNING
    gpu = cluster.start_worker(worker_group="gpu")
    exe = cluster.wait(started.id, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    runs = by_task(exe)
    assert runs["here"].attempts[0].worker_id.startswith("executor-")
    assert runs["there"].attempts[0].worker_id == gpu.id


def test_an_instant_task_found_slow_on_the_executor_goes_to_the_workers_from_then_on(
        cluster: InProcessCluster) -> None:
    cluster.start_executor()
    worker = cluster.start_worker()
    flow = f"""
id: slow_template
namespace: c
tasks:
  - id: busy
    type: {LOG}
    message: "{{% for i in range(0, 1000) %}}{{% for j in range(0, 500) %}}{{% endfor %}}{{% endfor %}}done"
  - {{id: quick, type: {LOG}, message: quick}}
"""
    first = cluster.run(flow, timeout=30)
    second = cluster.run(flow, timeout=30)
    assert first.state.current is StateType.SUCCESS and second.state.current is StateType.SUCCESS
    assert by_task(first)["busy"].attempts[0].worker_id.startswith("executor-")  # not known to be slow yet
    assert by_task(second)["busy"].attempts[0].worker_id == worker.id
    assert by_task(second)["quick"].attempts[0].worker_id.startswith("executor-")
    assert _messages(cluster, second.id, "busy") == ["done"]


def test_a_log_line_with_a_nul_character_is_stored_and_blocks_nothing(cluster: InProcessCluster) -> None:
    cluster.start_executor()
    worker = cluster.start_worker(worker_group="g")
    exe = cluster.run(f"""
id: nul_line
namespace: c
inputs:
  - {{id: text, type: STRING}}
tasks:
  - {{id: here, type: {LOG}, message: "here {{{{ inputs.text }}}}"}}
  - {{id: there, type: {LOG}, message: "there {{{{ inputs.text }}}}", workerGroup: {{key: g}}}}
""", inputs={"text": "a\x00b"}, timeout=20)
    assert exe.state.current is StateType.SUCCESS
    assert by_task(exe)["there"].attempts[0].worker_id == worker.id
    # PostgreSQL text cannot hold NUL: it is stored as U+FFFD there; SQLite keeps it
    assert _messages(cluster, exe.id, "here") in (["here a\x00b"], ["here a\ufffdb"])
    assert _messages(cluster, exe.id, "there") in (["there a\x00b"], ["there a\ufffdb"])
    after = cluster.run(f"""
id: after_nul
namespace: c
tasks: [{{id: fine, type: {LOG}, message: fine}}]
""", timeout=20)
    assert after.state.current is StateType.SUCCESS
