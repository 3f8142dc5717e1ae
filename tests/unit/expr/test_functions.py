"""Functions, called directly (FUNCTIONS[name](env, ...)), then a few through whole templates."""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from lanner.expr.env import MAX_RENDER_PASSES, Env
from lanner.expr.errors import ExpressionError
from lanner.expr.functions import FUNCTIONS


def call(name_: str, /, *args: Any, env: Env | None = None, **kwargs: Any) -> Any:
    fn = FUNCTIONS[name_]
    used = env or Env(variables={})
    inspect.signature(fn).bind(used, *args, **kwargs)  # as the evaluator binds arguments
    return fn(used, *args, **kwargs)


def fails(name_: str, /, *args: Any, env: Env | None = None, **kwargs: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as err:
        call(name_, *args, env=env, **kwargs)
    assert err.value.hint, "every error says what to do"
    return err.value


class FakeServices:
    def __init__(self) -> None:
        self.files = {"kestra://ns/flow/out.txt": "hello"}

    def read(self, uri: str) -> str:
        if uri not in self.files:
            raise FileNotFoundError(f"no file {uri}")
        return self.files[uri]

    def secret(self, name: str) -> str:
        return {"DB": '{"user": "ada", "port": 5432}', "TOKEN": "t0k"}[name]

    def error_logs(self) -> list[dict[str, Any]]:
        return [{"taskId": "fail", "message": "boom", "level": "ERROR"}]


def test_range_includes_the_end_like_pebble() -> None:
    assert call("range", 0, 3) == [0, 1, 2, 3]
    assert call("range", 0, 6, 2) == [0, 2, 4, 6]
    assert call("range", 5, 1, -2) == [5, 3, 1]
    assert call("range", "a", "e", increment=2) == ["a", "c", "e"]
    assert call("range", 3, 1) == []
    assert "increment must not be 0" in str(fails("range", 1, 2, 0))
    assert "numbers or single characters" in str(fails("range", "ab", "c"))
    assert "more than 100000 items" in str(fails("range", 0, 2_000_000_000))


def test_max_and_min() -> None:
    assert call("max", 20, 80, 3.5) == 80
    assert call("min", 20, 80, 3.5) == 3.5
    assert call("max", "apple", "pear") == "pear"
    assert call("min", None, 4) == 4
    assert "cannot compare" in str(fails("max", 1, "a"))


def test_from_json_and_its_old_name() -> None:
    assert call("fromJson", "[1, 2, 3]")[0] == 1
    assert call("fromJson", '{"foo": [666, 1, 2]}')["foo"][0] == 666
    assert call("json", json='{"a": null}') == {"a": None}
    assert call("fromJson", None) is None
    assert "invalid JSON" in str(fails("fromJson", "{nope"))
    assert "json must be a string, got integer" in str(fails("fromJson", 12))


def test_yaml_function_parses_yaml_text() -> None:
    assert call("yaml", "foo: [666, 1, 2]")["foo"][0] == 666
    assert call("yaml", "when: 2024-01-02\n1: one") == {"when": "2024-01-02", "1": "one"}
    assert "invalid YAML" in str(fails("yaml", "a: [1"))


def test_from_ion_reads_kestra_ion_rows() -> None:
    rows = '{id:1,name:"a",at:2024-01-02T03:04:05.000Z,price:1.50}\n{id:2,name:"b",when:LocalDate::"2024-01-02"}'
    first = call("fromIon", rows)
    assert first == {"id": 1, "name": "a", "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                     "price": Decimal("1.50")}
    assert [r["id"] for r in call("fromIon", rows, allRows=True)] == [1, 2]
    assert call("fromIon", rows, allRows=True)[1]["when"] == dt.date(2024, 1, 2)
    assert "invalid ion" in str(fails("fromIon", "{a:"))


def test_uuid_id_and_random_int() -> None:
    value = call("uuid")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value)
    assert call("uuid") != value
    assert re.fullmatch(r"[0-9A-Za-z]{22}", call("id"))
    assert all(1 <= call("randomInt", 1, 3) < 3 for _ in range(50))
    assert call("randomInt", 5, 5) == 5
    assert "upper (1) is less than lower (5)" in str(fails("randomInt", 5, 1))
    assert "lower must be an integer" in str(fails("randomInt", 1.5, 3))


def _renderer(templates: Mapping[str, str]) -> Any:
    """A stand-in for the evaluator: each known text renders to the next one."""
    return lambda text, variables: templates.get(text, text)


def test_render_renders_until_stable_and_render_once_renders_once() -> None:
    env = Env(variables={}, render_text=_renderer({"{{ a }}": "{{ b }}", "{{ b }}": "done"}))
    assert call("render", "{{ a }}", env=env) == "done"
    assert call("render", "{{ a }}", recursive=False, env=env) == "{{ b }}"
    assert call("renderOnce", "{{ a }}", env=env) == "{{ b }}"
    assert call("render", 42, env=env) == 42 and call("render", None, env=env) is None


def test_render_stops_after_too_many_passes() -> None:
    counter = iter(range(10**6))
    env = Env(variables={}, render_text=lambda text, variables: f"{{{{ x{next(counter)} }}}}")
    err = fails("render", "{{ start }}", env=env)
    assert "Too many rendering attempts" in str(err) and str(MAX_RENDER_PASSES) in err.hint


def test_secret_uses_services_and_subkeys() -> None:
    env = Env(variables={}, services=FakeServices())
    assert call("secret", "TOKEN", env=env) == "t0k"
    assert call("secret", "DB", subkey="user", env=env) == "ada"
    assert call("secret", "DB", subkey="port", env=env) == "5432"
    assert "has no sub-key 'password'" in str(fails("secret", "DB", subkey="password", env=env))
    assert "is not a JSON object" in str(fails("secret", "TOKEN", subkey="x", env=env))


def test_secret_without_a_worker_reads_base64_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_API_KEY", base64.b64encode(b"s3cr3t").decode())
    monkeypatch.delenv("SECRET_MISSING", raising=False)
    assert call("secret", "API_KEY") == "s3cr3t"
    err = fails("secret", "MISSING")
    assert "SECRET_MISSING" in str(err)
    monkeypatch.setenv("SECRET_BAD", "not base64!")
    assert "not valid base64" in str(fails("secret", "BAD"))


def test_is_file_empty_reads_the_file_where_read_does() -> None:
    services = FakeServices()
    services.files["kestra://ns/flow/empty.txt"] = ""
    env = Env(variables={}, services=services)
    assert call("isFileEmpty", "kestra://ns/flow/empty.txt", env=env) is True
    assert call("isFileEmpty", "kestra://ns/flow/out.txt", env=env) is False
    assert "no file kestra://ns/flow/missing" in str(fails("isFileEmpty", "kestra://ns/flow/missing", env=env))
    assert "isFileEmpty() can only be used while a task runs on a worker" in str(
        fails("isFileEmpty", "kestra://ns/flow/out.txt"))


def test_read_and_error_logs_need_a_worker() -> None:
    env = Env(variables={}, services=FakeServices())
    assert call("read", "kestra://ns/flow/out.txt", env=env) == "hello"
    assert "no file kestra://ns/flow/missing" in str(fails("read", "kestra://ns/flow/missing", env=env))
    assert call("errorLogs", env=env)[0]["message"] == "boom"
    assert "read() can only be used while a task runs on a worker" in str(fails("read", "x"))
    assert "errorLogs() can only be used while a task runs on a worker" in str(fails("errorLogs"))


def test_current_each_output_walks_parents_outermost_first() -> None:
    outputs = {"v11": {"v21": {"v31": {"value": "return-v11-v21-v31"}}}}
    env = Env(variables={
        "parents": [{"taskrun": {"value": "v21"}}, {"taskrun": {"value": "v11"}}],
        "taskrun": {"value": "v31"},
    })
    assert call("currentEachOutput", outputs, env=env) == {"value": "return-v11-v21-v31"}
    flat = Env(variables={"taskrun": {"value": "value 2"}})
    assert call("currentEachOutput", {"value 2": {"value": "x"}}, env=flat) == {"value": "x"}
    assert "no outputs for the current task runs path" in str(fails("currentEachOutput", {"other": {}}, env=env))
    assert "not inside a ForEach" in str(fails("currentEachOutput", {}, env=Env(variables={})))
    assert "expects the outputs of a task" in str(fails("currentEachOutput", "x", env=env))


def test_parent_output_reads_the_direct_parent_or_the_parent_counted_from_the_outermost() -> None:
    # A task inside an If inside a ForEach: the If ran for loop value "3", so its outputs sit under it.
    outputs = {"if": {"3": {"evaluationResult": True}}, "each": {"kind": "loop"}}
    if_entry = {"task": {"id": "if"}, "taskrun": {"value": "3"}}
    each_entry = {"task": {"id": "each"}, "outputs": {"kind": "loop"}}
    env = Env(variables={"outputs": outputs, "parent": if_entry, "parents": [if_entry, each_entry]})
    assert call("parentOutput", env=env) == {"evaluationResult": True}
    assert call("parentOutput", 0, env=env) == {"kind": "loop"}  # 0 is the outermost parent
    assert call("parentOutput", 1, env=env) == {"evaluationResult": True}
    assert "invalid index 2 for 2 parent(s)" in str(fails("parentOutput", 2, env=env))
    assert "of type integer" in str(fails("parentOutput", "0", env=env))
    assert "has no parent" in str(fails("parentOutput", env=Env(variables={"outputs": outputs})))
    # A parent that has produced no outputs yet gives null, as Kestra's does.
    quiet = Env(variables={"outputs": {}, "parent": {"task": {"id": "seq"}, "taskrun": {"value": "a"}}})
    assert call("parentOutput", env=quiet) is None


def test_tasks_with_state_is_case_insensitive_and_reports_iterations() -> None:
    env = Env(variables={"tasks": {
        "fail": {"state": "FAILED"},
        "each": {"a": {"state": "FAILED"}, "b": {"state": "SUCCESS"}},
        "ok": {"state": "SUCCESS"},
    }})
    assert call("tasksWithState", "failed", env=env) == [
        {"taskId": "fail", "state": "FAILED"}, {"taskId": "each", "state": "FAILED", "value": "a"}]
    assert call("tasksWithState", "RUNNING", env=env) == []


def test_print_context_is_json_of_the_variables() -> None:
    env = Env(variables={"flow": {"id": "f"}, "inputs": {"n": None, "d": dt.date(2024, 1, 2)}})
    assert call("printContext", env=env) == '{"flow":{"id":"f"},"inputs":{"n":null,"d":"2024-01-02"}}'


# ---------------------------------------------------------------- through templates

def test_templates_use_filters_and_functions() -> None:
    from lanner.expr import render

    assert render("{{ '2024-01-02T03:04:05Z' | date('yyyy-MM-dd') }}", {}) == "2024-01-02"
    assert render("{{ '2024-01-02T03:04:05Z' | dateAdd(-1, 'DAYS') | date('dd/MM', timeZone='Asia/Tokyo') }}",
                  {}) == "01/01"
    assert render("{{ [3, 1, 2] | sort | join(', ') }}", {}) == "1, 2, 3"
    payload = {"inputs": {"payload": {"score": [1, 2]}}}
    assert render("{{ inputs.payload | jq('.score | add') | first }}", payload) == "3"
    assert render("{{ fromJson('{\"foo\": [666, 1, 2]}').foo[0] }}", {}) == "666"
    assert render("{{ range(1, 3) }}", {}) == "[1,2,3]"
    assert render("{{ 3.141592653 | numberFormat('#.##') }}", {}) == "3.14"
    flow_vars = {"vars": {"greeting": "hi {{ vars.name }}", "name": "ada"}}
    assert render("{{ render(vars.greeting) }}", flow_vars) == "hi ada"
    assert render("{{ 'hello' | startsWith(value='he') }}", {}) == "true"


def test_template_errors_from_filters_are_expression_errors() -> None:
    from lanner.expr import render

    with pytest.raises(ExpressionError, match="unknown time zone 'Nowhere'"):
        render("{{ now(timeZone='Nowhere') }}", {})
    with pytest.raises(ExpressionError, match="expects a number"):
        render("{{ 'x' | numberFormat('0') }}", {})


def test_tasks_with_state_needs_a_state_name() -> None:
    assert "state must be a string" in str(fails("tasksWithState", 3))


def test_no_function_lets_a_python_exception_escape() -> None:
    from tests.unit.expr.test_filters import ODD_ARGS, ODD_VALUES

    env = Env(variables={"tasks": {"a": None}, "parents": "x", "taskrun": {"value": 1}},
              render_text=lambda text, variables: text)
    for name, fn in FUNCTIONS.items():
        signature = inspect.signature(fn)
        for value in ODD_VALUES:
            for args in ODD_ARGS:
                try:
                    signature.bind(env, value, *args)
                except TypeError:
                    continue
                try:
                    fn(env, value, *args)
                except ExpressionError as err:
                    assert err.hint, (name, value, args)


def test_env_reads_the_envs_variable_by_name_and_falls_back_to_its_default() -> None:
    env = Env(variables={"envs": {"region": "eu", "blank": ""}})
    assert call("env", "region", env=env) == "eu"
    assert call("env", name="region", env=env) == "eu"
    assert call("env", "missing", "none", env=env) == "none"
    assert call("env", "blank", default="none", env=env) == "none"
    assert call("env", "REGION", env=env) is None  # the name is not changed: `envs` holds lower-case names


def test_env_without_a_name_fails_saying_what_to_write() -> None:
    error = fails("env", env=Env(variables={"envs": {}}))
    assert "env('my_variable')" in str(error.hint)
