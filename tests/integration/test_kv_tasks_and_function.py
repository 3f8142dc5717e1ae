"""The KV store from flows: the core.kv tasks end to end and `kv()` in templates, as Kestra
documents them (outputs, final state, the message of a refusal), on the real embedded runtime."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from lanner.storage.kv import KVStore
from lanner.testing import logs_of, run_flow


def _flow(tasks: str, namespace: str = "company.team") -> str:
    return f"id: kv_flow\nnamespace: {namespace}\ntasks:\n{tasks}"


def _outputs(exe) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {r.task_id: r.outputs for r in exe.task_runs}


def _messages(home: Path, exe) -> list[str]:  # type: ignore[no-untyped-def]
    return [line["message"] for line in logs_of(home, exe.id)]


def test_set_then_get_keeps_each_value_type(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: text
    type: io.kestra.plugin.core.kv.Set
    key: text
    value: hello
  - id: number
    type: io.kestra.plugin.core.kv.Set
    key: number
    value: "{{ 40 + 2 }}"
  - id: flag
    type: io.kestra.plugin.core.kv.Set
    key: flag
    value: "true"
    kvType: BOOLEAN
  - id: doc
    type: io.kestra.plugin.core.kv.Set
    key: doc
    value: '{"items": [1, 2]}'
    kvType: JSON
  - id: when
    type: io.kestra.plugin.core.kv.Set
    key: when
    value: "2024-05-01T12:00:00+02:00"
    kvType: DATETIME
  - id: day
    type: io.kestra.plugin.core.kv.Set
    key: day
    value: "2024-05-01"
    kvType: DATE
  - id: wait
    type: io.kestra.plugin.core.kv.Set
    key: wait
    value: PT90M
    kvType: DURATION
  - id: get_number
    type: io.kestra.plugin.core.kv.Get
    key: number
  - id: get_doc
    type: io.kestra.plugin.core.kv.Get
    key: doc
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: >-
      {{ kv('text') }}|{{ kv('number') + 1 }}|{{ kv('flag') }}|{{ kv('doc').items[1] }}|{{ kv('when') }}|{{
      kv('day') }}|{{ kv('wait') }}
"""), tmp_path)
    assert exe.state.current == "SUCCESS"
    out = _outputs(exe)
    assert out["get_number"] == {"value": 42}
    assert out["get_doc"] == {"value": {"items": [1, 2]}}
    assert "hello|43|true|2|2024-05-01T10:00:00Z|2024-05-01|PT1H30M" in _messages(tmp_path, exe)


def test_values_persist_across_executions_and_get_keys_filters_by_prefix(tmp_path: Path) -> None:
    first = run_flow(_flow("""
  - id: a
    type: io.kestra.plugin.core.kv.Set
    key: run_a
    value: "1"
  - id: b
    type: io.kestra.plugin.core.kv.Set
    key: run_b
    value: "2"
  - id: other
    type: io.kestra.plugin.core.kv.Set
    key: other
    value: "3"
"""), tmp_path)
    assert first.state.current == "SUCCESS"
    second = run_flow(_flow("""
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: run_
  - id: all
    type: io.kestra.plugin.core.kv.GetKeys
  - id: elsewhere
    type: io.kestra.plugin.core.kv.GetKeys
    namespace: company.other
"""), tmp_path)
    out = _outputs(second)
    assert out["keys"] == {"keys": ["run_a", "run_b"]}
    assert out["all"] == {"keys": ["other", "run_a", "run_b"]}
    assert out["elsewhere"] == {"keys": []}


def test_kv_function_reads_parent_namespaces_but_tasks_do_not(tmp_path: Path) -> None:
    KVStore(tmp_path / "storage").put("company", "shared", "STRING", "from parent")
    exe = run_flow(_flow("""
  - id: inherited
    type: io.kestra.plugin.core.log.Log
    message: "got {{ kv('shared') }}"
  - id: explicit
    type: io.kestra.plugin.core.log.Log
    message: "explicit {{ kv('shared', namespace='company.team.data', errorOnMissing=false) }}."
  - id: task_get
    type: io.kestra.plugin.core.kv.Get
    key: shared
""", namespace="company.team.data"), tmp_path)
    assert exe.state.current == "SUCCESS"
    messages = _messages(tmp_path, exe)
    assert "got from parent" in messages
    assert "explicit ." in messages  # an explicit namespace is not inherited from
    assert _outputs(exe)["task_get"] == {}  # a null output is left out, as Kestra's JSON leaves it out


def test_kv_function_fails_on_a_missing_key_unless_error_on_missing_is_false(tmp_path: Path) -> None:
    lenient = run_flow(_flow("""
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "[{{ kv('absent', errorOnMissing=false) }}]"
"""), tmp_path)
    assert lenient.state.current == "SUCCESS"
    assert "[]" in _messages(tmp_path, lenient)

    strict = run_flow(_flow("""
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('absent') }}"
"""), tmp_path)
    assert strict.state.current == "FAILED"
    assert any("The key 'absent' does not exist in the namespace 'company.team'" in m
               for m in _messages(tmp_path, strict))


def test_get_and_delete_fail_on_missing_only_when_asked(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: absent
  - id: delete
    type: io.kestra.plugin.core.kv.Delete
    key: absent
  - id: strict
    type: io.kestra.plugin.core.kv.Delete
    key: absent
    errorOnMissing: true
"""), tmp_path)
    assert exe.state.current == "FAILED"
    out = _outputs(exe)
    assert out["get"] == {}  # a null `value`, left out of the outputs
    assert out["delete"] == {"deleted": False}
    assert any("No value found for key 'absent' in namespace 'company.team'" in m for m in _messages(tmp_path, exe))


def test_set_without_overwrite_refuses_an_existing_key(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: first
    type: io.kestra.plugin.core.kv.Set
    key: once
    value: a
  - id: second
    type: io.kestra.plugin.core.kv.Set
    key: once
    value: b
    overwrite: false
"""), tmp_path)
    assert exe.state.current == "FAILED"
    assert any("Key already exists and `overwrite` is set to `false`" in m for m in _messages(tmp_path, exe))
    assert KVStore(tmp_path / "storage").get("company.team", "once").value == "a"  # type: ignore[union-attr]


def test_a_bad_key_fails_the_task_with_kestras_rule(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: bad
    type: io.kestra.plugin.core.kv.Set
    key: "my key/../x"
    value: a
"""), tmp_path)
    assert exe.state.current == "FAILED"
    assert any("Key must start with an alphanumeric character" in m for m in _messages(tmp_path, exe))
    assert not (tmp_path / "storage" / "_kv" / "company.team").exists() or \
        not any((tmp_path / "storage" / "_kv" / "company.team").iterdir())


def test_a_value_not_of_its_declared_type_fails_the_task(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: bad
    type: io.kestra.plugin.core.kv.Set
    key: n
    value: twelve
    kvType: NUMBER
"""), tmp_path)
    assert exe.state.current == "FAILED"
    assert any("the value `twelve` is not a NUMBER" in m for m in _messages(tmp_path, exe))


def test_a_key_past_its_ttl_reads_as_missing(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: short
    type: io.kestra.plugin.core.kv.Set
    key: short
    value: soon gone
    ttl: PT0.5S
"""), tmp_path)
    assert exe.state.current == "SUCCESS"
    store = KVStore(tmp_path / "storage")
    entry = store.entry("company.team", "short")
    assert entry is not None and entry.expires is not None
    expires = dt.datetime.fromisoformat(entry.expires)
    deadline = time.monotonic() + 10
    while dt.datetime.now(dt.UTC) <= expires and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval of a deadline-bounded wait for the expiry instant
    later = run_flow(_flow("""
  - id: lenient
    type: io.kestra.plugin.core.log.Log
    message: "[{{ kv('short', errorOnMissing=false) }}]"
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
  - id: strict
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('short') }}"
"""), tmp_path)
    assert later.state.current == "FAILED"
    messages = _messages(tmp_path, later)
    assert "[]" in messages
    assert _outputs(later)["keys"] == {"keys": []}
    assert any("the key 'short' in namespace 'company.team' has expired" in m for m in messages)


def test_purge_kv_removes_expired_keys_only_by_default(tmp_path: Path) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    old = KVStore(tmp_path / "storage", clock=lambda: past)
    old.put("company.team", "stale", "STRING", "x", ttl=dt.timedelta(hours=1))
    old.put("company.team.sub", "stale_child", "STRING", "x", ttl=dt.timedelta(hours=1))
    old.put("company.team", "fresh", "STRING", "x")
    old.put("other", "stale_elsewhere", "STRING", "x", ttl=dt.timedelta(hours=1))
    exe = run_flow(_flow("""
  - id: purge
    type: io.kestra.plugin.core.kv.PurgeKV
    namespaces:
      - company
"""), tmp_path)
    assert exe.state.current == "SUCCESS"
    assert _outputs(exe)["purge"] == {"size": 2}
    store = KVStore(tmp_path / "storage")
    assert [e.key for e in store.entries("company.team", include_expired=True)] == ["fresh"]
    assert store.entry("other", "stale_elsewhere") is not None

    everything = run_flow(_flow("""
  - id: purge
    type: io.kestra.plugin.core.kv.PurgeKV
    behavior:
      type: key
      expiredOnly: false
    keyPattern: "fr*"
"""), tmp_path)
    assert _outputs(everything)["purge"] == {"size": 1}
    assert store.entries("company.team", include_expired=True) == []


def test_kv_in_templates_the_executor_renders_reads_the_store_as_kestra_allows(tmp_path: Path) -> None:
    """`runIf`, `If.condition`, `ForEach.values` and flow outputs are rendered by the executor,
    not on a worker; `kv()` there reads the same store, the flow's parent namespaces included."""
    store = KVStore(tmp_path / "storage")
    store.put("company.team", "enabled", "BOOLEAN", True)
    store.put("company", "regions", "JSON", ["eu", "us"])
    exe = run_flow("""
id: kv_decisions
namespace: company.team
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.If
    condition: "{{ kv('enabled') }}"
    then:
      - {id: on, type: io.kestra.plugin.core.log.Log, message: "enabled"}
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ kv('regions') }}"
    tasks:
      - {id: region, type: io.kestra.plugin.core.log.Log, message: "region {{ taskrun.value }}"}
  - id: skipped
    type: io.kestra.plugin.core.log.Log
    runIf: "{{ kv('absent', errorOnMissing=false) ?? false }}"
    message: "should not run"
outputs:
  - {id: first, type: STRING, value: "{{ kv('regions') | first }}"}
""", tmp_path)
    assert exe.state.current == "SUCCESS"
    messages = _messages(tmp_path, exe)
    assert "enabled" in messages and "region eu" in messages and "region us" in messages
    assert "should not run" not in messages
    assert exe.outputs == {"first": "eu"}


def test_a_missing_key_in_a_condition_fails_that_task_saying_which_key(tmp_path: Path) -> None:
    exe = run_flow(_flow("""
  - id: gate
    type: io.kestra.plugin.core.flow.If
    condition: "{{ kv('nowhere') }}"
    then:
      - {id: on, type: io.kestra.plugin.core.log.Log, message: "never"}
"""), tmp_path)
    assert exe.state.current == "FAILED"
    assert any("The key 'nowhere' does not exist in the namespace 'company.team'" in m
               for m in _messages(tmp_path, exe))
