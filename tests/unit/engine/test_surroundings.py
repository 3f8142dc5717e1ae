"""The executor decides with the clock, ids and environment it is given, and with nothing else."""

from __future__ import annotations

import base64
import datetime as dt
import json
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest

from lanner.engine.executor import Effects, Executor
from lanner.errors import LannerError
from lanner.loading.flows import load_flow
from lanner.model import variables
from lanner.model.execution import Execution
from lanner.model.results import WorkerResult
from lanner.model.state import State, StateType
from lanner.runtime.host import HOST

LOG = "io.kestra.plugin.core.log.Log"
START = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class Fixed:
    """A clock that moves one millisecond per reading, numbered ids, and a given environment."""

    def __init__(self, envs: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None,
                 kv: Mapping[tuple[str, str], Any] | None = None) -> None:
        self._ticks = 0
        self._ids = 0
        self._envs = dict(envs or {})
        self._secrets = dict(secrets or {})
        self._kv = dict(kv or {})  # (namespace, key) → value; no parent namespaces searched here

    def now(self) -> dt.datetime:
        self._ticks += 1
        return START + dt.timedelta(milliseconds=self._ticks)

    def new_id(self) -> str:
        self._ids += 1
        return f"run{self._ids:04d}"

    @property
    def envs(self) -> Mapping[str, str]:
        return self._envs

    def secret(self, name: str) -> str:
        if name not in self._secrets:
            raise LannerError(f"secret `{name}` is not set")
        return self._secrets[name]

    def kv(self, flow_namespace: str, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        where = namespace or flow_namespace
        if (where, key) not in self._kv and error_on_missing:
            raise LannerError(f"key `{key}` is not in namespace `{where}`")
        return self._kv.get((where, key))


# Touches every decision that stamps a time or makes an id: task runs in a ForEach, a retried
# failure (its due date), a pause with a duration (its due date), finally, flow outputs.
BUSY_FLOW = f"""
id: busy
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c"]
    tasks:
      - {{id: inner, type: {LOG}, message: "{{{{ taskrun.value }}}}"}}
  - id: flaky
    type: {LOG}
    message: x
    retry: {{type: constant, interval: PT5S, maxAttempts: 2}}
  - {{id: wait, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT1M}}
finally:
  - {{id: fin, type: {LOG}, message: x}}
outputs:
  - {{id: greeting, type: STRING, value: "{{{{ envs.greeting }}}}"}}
"""


def drive(surroundings: Fixed) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run BUSY_FLOW to its end with results stamped by the same clock; `flaky` fails once."""
    flow = load_flow(textwrap.dedent(BUSY_FLOW))
    # created by a runtime, which stamps it; everything after is the executor's
    exe = Execution(id="exe1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1, state=State.created(START))
    executor = Executor(flow, exe, surroundings=surroundings)
    effects: list[Effects] = []
    pending: list[tuple[str, int]] = []
    timers: list[tuple[str, str, Any]] = []

    def take(fx: Effects) -> None:
        effects.append(fx)
        pending.extend((run.id, len(run.attempts)) for run in fx.dispatch)
        timers.extend(("retry", run_id, None) for run_id, _ in fx.retries)
        timers.extend(("resume", run_id, state) for run_id, _, state in fx.resumes)

    take(executor.start())
    while pending or timers:
        if not pending:
            kind, run_id, state = timers.pop(0)
            take(executor.on_retry_due(run_id) if kind == "retry" else executor.resume(run_id, state))
            continue
        run_id, attempt = pending.pop(0)
        fails = exe.by_id[run_id].task_id == "flaky" and attempt == 1
        at = surroundings.now()
        take(executor.on_result(WorkerResult(exe.id, run_id, attempt, StateType.FAILED if fails else StateType.SUCCESS,
                                             started=at, ended=at)))
    assert exe.state.current is StateType.SUCCESS
    return exe.to_json(), [entry.to_json() for fx in effects for entry in fx.logs]


def test_the_same_execution_driven_twice_with_a_fixed_clock_and_ids_is_stored_identically() -> None:
    first = drive(Fixed({"greeting": "hello"}))
    second = drive(Fixed({"greeting": "hello"}))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    execution, logs = first
    assert execution["outputs"] == {"greeting": "hello"}
    assert [r["id"] for r in execution["taskRunList"]][:2] == ["run0001", "run0002"]
    dates = [h["date"] for r in execution["taskRunList"] for h in r["state"]["histories"]]
    dates += [log["timestamp"] for log in logs]
    assert all(d.startswith("2030-01-02T03:04:") for d in dates)  # every stamp is the given clock's


LABELS_FLOW = """
id: labelled
namespace: company.team
tasks:
  - id: tag
    type: io.kestra.plugin.core.execution.Labels
    labels:
      greeting: "{{ envs.greeting }}"
      host_only: "{{ envs.host_only | default('absent') }}"
      token: "{{ secret('TOKEN') }}"
"""


def test_envs_and_secrets_in_templates_the_executor_renders_come_only_from_its_surroundings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_GREETING", "from the host")
    monkeypatch.setenv("ENV_HOST_ONLY", "from the host")
    monkeypatch.setenv("SECRET_TOKEN", base64.b64encode(b"host secret").decode())
    monkeypatch.setattr(variables, "_ENVS", None)  # the host's view is read again, with the variables above
    assert HOST.envs["host_only"] == "from the host" and HOST.secret("TOKEN") == "host secret"
    flow = load_flow(textwrap.dedent(LABELS_FLOW))
    exe = Execution(id="exe1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1)
    executor = Executor(flow, exe, surroundings=Fixed({"greeting": "given"}, {"TOKEN": "given secret"}))
    assert executor.start().ended
    assert exe.state.current is StateType.SUCCESS
    assert {k: exe.labels[k] for k in ("greeting", "host_only", "token")} == {
        "greeting": "given", "host_only": "absent", "token": "given secret"}


def test_a_secret_missing_from_the_surroundings_fails_the_task_saying_which() -> None:
    flow = load_flow(textwrap.dedent(LABELS_FLOW))
    exe = Execution(id="exe1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1)
    fx = Executor(flow, exe, surroundings=Fixed({"greeting": "given"})).start()
    assert exe.state.current is StateType.FAILED
    assert any("secret `TOKEN` is not set" in entry.message for entry in fx.logs)


KV_FLOW = """
id: kv_labels
namespace: company.team
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.If
    condition: "{{ kv('enabled') }}"
    then:
      - id: label
        type: io.kestra.plugin.core.execution.Labels
        labels:
          region: "{{ kv('region', namespace='company') }}"
"""


def test_kv_in_templates_the_executor_renders_is_answered_by_its_surroundings() -> None:
    flow = load_flow(textwrap.dedent(KV_FLOW))
    exe = Execution(id="exe1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1)
    given = Fixed(kv={("company.team", "enabled"): True, ("company", "region"): "eu"})
    assert Executor(flow, exe, surroundings=given).start().ended
    assert exe.state.current is StateType.SUCCESS
    assert exe.labels["region"] == "eu"


def test_kv_without_a_store_fails_the_task_saying_so() -> None:
    flow = load_flow(textwrap.dedent(KV_FLOW))
    exe = Execution(id="exe1", namespace=flow.namespace, flow_id=flow.id, flow_revision=1)
    fx = Executor(flow, exe, surroundings=HOST).start()
    assert exe.state.current is StateType.FAILED
    assert any("has no KV store" in entry.message for entry in fx.logs)
