"""Functions that look at the run: render(), secret(), env(), read(), kv(), errorLogs(), currentEachOutput(),
tasksWithState(), printContext(), fetchContext().

Those that need the outside world (files, secrets, the KV store, logs) go through `env.services`, which only
a task running on a worker has; elsewhere they fail with a message that says so, as Kestra's
do. `secret()` alone has a fallback: Kestra's open-source convention of base64-encoded
`SECRET_<NAME>` environment variables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lanner.errors import LannerError
from lanner.expr.arguments import ABSENT, check_text, expect_bool, expect_str, fail, guarded, require
from lanner.expr.env import MAX_RENDER_PASSES, Env
from lanner.expr.errors import ExpressionError
from lanner.expr.values import map_text, stringify, to_json, type_name


def render(env: Env, toRender: Any = ABSENT, recursive: Any = True, *,  # noqa: N803 - Kestra's names
           template: Any = ABSENT) -> Any:
    """Render a value that holds a template (flow variables are not rendered on their own).

    Strings are rendered, maps (keys and values) and lists rendered item by item, other values
    returned as they are. With `recursive` (the default) each string is rendered again until it
    stops changing. `template=` is the argument's name before Kestra 0.22, still accepted.
    """
    if toRender is ABSENT:
        toRender = template
    elif template is not ABSENT:
        fail("render", "give the value once, as `toRender`", hint="remove `template=`")
    require("render", "toRender", toRender, "write render(vars.message) or render(toRender=vars.message)")
    again = expect_bool("render", "recursive", recursive)
    return _render_value(env, toRender, again)


def _render_value(env: Env, value: Any, again: bool) -> Any:
    return map_text(value, lambda text: _render_text(env, text, again))


def _render_text(env: Env, template: str, again: bool) -> str:
    if env.render_text is None:
        fail("render", "rendering is not available here", hint="render() works inside a flow's templates")
    current = template
    for _ in range(MAX_RENDER_PASSES):
        result = env.render_text(current, env.variables)
        if not again or result == current:
            return result
        current = result
    raise ExpressionError("render: Too many rendering attempts",
                          hint=f"the value still contains a template after {MAX_RENDER_PASSES} passes; "
                               "check for a variable that renders to itself, or use renderOnce()")


def renderOnce(env: Env, toRender: Any = ABSENT) -> Any:  # noqa: N802,N803 - Kestra's names
    """Render a template value once, without rendering the result again."""
    require("renderOnce", "toRender", toRender, "write renderOnce(vars.message)")
    return _render_value(env, toRender, False)


def fetchContext(env: Env) -> dict[str, Any]:  # noqa: N802
    """Every variable of the run as a map (printContext() gives the same as JSON text): for
    passing the whole context on, e.g. to a Subflow's inputs or to `jq`."""
    return dict(env.variables)


def _env_secret(name: str) -> str:
    from lanner.secrets import secret

    try:
        return secret(name)
    except LannerError as exc:
        raise ExpressionError(exc.message, hint=exc.hint) from None


def secret(env: Env, key: Any = None, namespace: Any = None, subkey: Any = None) -> str:
    """A secret's value (masked in the task's logs by the worker); `subkey` picks a field of a
    secret that holds JSON. Without a worker, the environment variable `SECRET_<KEY>` is read.
    `namespace` is accepted for Kestra's signature; open-source secrets have no namespaces."""
    name = expect_str("secret", "key", key, hint="write secret('MY_SECRET')")
    if env.services is not None:
        services = env.services
        value = guarded("secret", f"set the environment variable SECRET_{name} to its base64 value",
                        lambda: services.secret(name))
    else:
        value = _env_secret(name)
    if subkey is None or subkey == "":
        return value
    field = expect_str("secret", "subkey", subkey)
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        fail("secret", f"the secret '{name}' is not a JSON object, so it has no sub-key '{field}'",
             hint="store the secret as JSON, e.g. {\"user\": \"…\", \"password\": \"…\"}")
    if field not in data:
        fail("secret", f"the secret '{name}' has no sub-key '{field}'",
             hint="the keys are: " + ", ".join(map(str, data)) if data else "the secret is an empty object")
    item = data[field]
    return item if isinstance(item, str) else stringify(item) if not isinstance(item, (Mapping, list)) \
        else json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def env(env: Env, name: Any = ABSENT, default: Any = None) -> Any:
    """An `ENV_*` variable of the run by its name in `envs` (`env('my_var')` is `envs.my_var`), or
    `default` when it is missing or empty, as Kestra's env() does (the name is not changed: `envs`
    holds names lower-cased without their `ENV_` prefix)."""
    require("env", "name", name, "write env('my_variable') for ENV_MY_VARIABLE, or env('region', 'eu-west-1')")
    wanted = expect_str("env", "name", name, hint="write env('my_variable') for ENV_MY_VARIABLE")
    envs = env.variables.get("envs")
    value = envs.get(wanted) if isinstance(envs, Mapping) else None
    return default if value is None or stringify(value) == "" else value


def _worker_only(name: str) -> ExpressionError:
    return ExpressionError(f"{name}() can only be used while a task runs on a worker",
                           hint=f"use {name}() in a task property, not in a flow-level or trigger expression")


def read(env: Env, path: Any = None, namespace: Any = None) -> str:
    """The text of an internal-storage file (`kestra://…`) or of a namespace file.

    A path that is not a `kestra://` URI names a namespace file: of the flow's namespace, or of
    `namespace` when given (Kestra's signature). A flow does not see its parent namespaces'
    files unless it names them: Kestra's open-source edition has no inheritance either.
    """
    given = expect_str("read", "path", path, hint="write read(outputs.task.uri) or read('path/in/namespace')")
    services = env.services
    if services is None:
        raise _worker_only("read")
    if given.startswith("kestra://"):
        if namespace is not None:
            fail("read", "`namespace` applies to namespace files, not to a kestra:// URI",
                 hint="remove `namespace=`, or give a path inside the namespace")
        return check_text("read", guarded("read", "check that the file exists and is readable as text",
                                          lambda: services.read(given)))
    where = None if namespace is None else expect_str("read", "namespace", namespace,
                                                       hint="write read('file.txt', namespace='company.team')")
    flow = env.variables.get("flow")
    shown = where or (flow.get("namespace") if isinstance(flow, Mapping) else None) or "the flow's namespace"
    return check_text("read", guarded("read", f"upload the file to namespace `{shown}` (the API's "
                                              "/namespaces/{namespace}/files, or `lanner namespace files update`)",
                                      lambda: services.namespace_file(given, where)))


def kv(env: Env, key: Any = None, namespace: Any = None, errorOnMissing: Any = True) -> Any:  # noqa: N803
    """A value of the namespace KV store, with the type it was stored with.

    Without `namespace`, the flow's namespace is searched, then each parent namespace in turn
    (`company.team.data`, `company.team`, `company`), as Kestra does. A missing or expired key
    fails unless `errorOnMissing=false`, which gives null (Kestra's default since 0.22).
    """
    name = expect_str("kv", "key", key, hint="write kv('my_key')")
    where = None if namespace is None else expect_str("kv", "namespace", namespace,
                                                      hint="write kv('my_key', namespace='company.team')")
    must = expect_bool("kv", "errorOnMissing", errorOnMissing)
    services = env.services
    if services is None:
        raise _worker_only("kv")
    return guarded("kv", "set the key first (the Set task, the API or the UI), or pass errorOnMissing=false",
                   lambda: services.kv(name, where, must))


def isFileEmpty(env: Env, path: Any = None) -> bool:  # noqa: N802 - Kestra's name
    """Whether an internal-storage file (`kestra://…`, e.g. an output's or an input's URI) or a
    namespace file holds nothing, as Kestra's isFileEmpty() answers; read where read() reads."""
    given = expect_str("isFileEmpty", "path", path,
                       hint="write isFileEmpty(outputs.task.uri) or isFileEmpty(inputs.file)")
    services = env.services
    if services is None:
        raise _worker_only("isFileEmpty")
    if given.startswith("kestra://"):
        text = guarded("isFileEmpty", "check that the file exists", lambda: services.read(given))
    else:
        text = guarded("isFileEmpty", "upload the file to the flow's namespace (`lanner namespace files update`)",
                       lambda: services.namespace_file(given, None))
    return text == ""


def errorLogs(env: Env) -> list[dict[str, Any]]:  # noqa: N802
    """The ERROR log lines of the current execution so far (for alerts in `errors` branches)."""
    services = env.services
    if services is None:
        raise _worker_only("errorLogs")
    return guarded("errorLogs", "try again; the logs could not be read", lambda: list(services.error_logs()))


def _lookup(mapping: Mapping[Any, Any], key: Any) -> Any:
    if key in mapping:
        return mapping[key]
    return mapping.get(stringify(key))


def currentEachOutput(env: Env, outputs: Any = None) -> Any:  # noqa: N802
    """The outputs of a sibling task for the current ForEach iteration: `outputs` is walked by the
    `taskrun.value` of each iterating ancestor, outermost first, then by the current one."""
    if not isinstance(outputs, Mapping):
        fail("currentEachOutput", f"expects the outputs of a task (a map), got {type_name(outputs)}",
             hint="write currentEachOutput(outputs.sibling_task)")
    parents = env.variables.get("parents") or []
    current: Mapping[Any, Any] = outputs
    for parent in reversed(list(parents) if isinstance(parents, (list, tuple)) else []):
        taskrun = parent.get("taskrun") if isinstance(parent, Mapping) else None
        if not isinstance(taskrun, Mapping) or taskrun.get("value") is None:
            continue
        step = _lookup(current, taskrun["value"])
        if not isinstance(step, Mapping):
            fail("currentEachOutput", "no outputs for the current task runs path "
                 f"(no entry for the parent value '{stringify(taskrun['value'])}')",
                 hint="the task given must be a sibling inside the same ForEach, and must have run already")
        current = step
    taskrun = env.variables.get("taskrun")
    if not isinstance(taskrun, Mapping) or taskrun.get("value") is None:
        fail("currentEachOutput", "the current task is not inside a ForEach",
             hint="use currentEachOutput() only in tasks of a ForEach (or EachSequential/EachParallel)")
    return _lookup(current, taskrun["value"])


def parentOutput(env: Env, index: Any = ABSENT) -> Any:  # noqa: N802 - Kestra's name
    """The outputs of a parent task run: the direct parent's (`parent`) without `index`, else the
    parent at `index` counted from the outermost (0), as Kestra's parentOutput() does. A parent
    inside a loop has its outputs under its own loop value, as `outputs.<id>.<value>`; null when
    the parent has no outputs (yet)."""
    if index is ABSENT or index is None:
        parent = env.variables.get("parent")
        if not isinstance(parent, Mapping):
            fail("parentOutput", "the current task has no parent with outputs or a loop value",
                 hint="use parentOutput() in a task inside a flowable task (If, ForEach, Sequential…)")
    else:
        if isinstance(index, bool) or not isinstance(index, int):
            fail("parentOutput", f"expects an argument 'index' of type integer, got {type_name(index)}",
                 hint="write parentOutput() for the direct parent, parentOutput(0) for the outermost")
        parents = env.variables.get("parents")
        chain = list(parents) if isinstance(parents, (list, tuple)) else []
        if index < 0 or index + 1 > len(chain):
            fail("parentOutput", f"invalid index {index} for {len(chain)} parent(s)",
                 hint="index 0 is the outermost parent; the direct parent is parentOutput()")
        parent = list(reversed(chain))[index]
    task = parent.get("task")
    task_id = task.get("id") if isinstance(task, Mapping) else None
    outputs = env.variables.get("outputs")
    found = outputs.get(task_id) if isinstance(outputs, Mapping) and task_id is not None else None
    if not isinstance(found, Mapping):
        return None
    taskrun = parent.get("taskrun")
    value = taskrun.get("value") if isinstance(taskrun, Mapping) else None
    return found if value is None else _lookup(found, value)


def tasksWithState(env: Env, state: Any = None) -> list[dict[str, Any]]:  # noqa: N802
    """`[{taskId, state, value?}]` for every task (or iteration) whose state is `state`."""
    wanted = expect_str("tasksWithState", "state", state, hint="write tasksWithState('FAILED')").upper()
    tasks = env.variables.get("tasks")
    out: list[dict[str, Any]] = []
    if not isinstance(tasks, Mapping):
        return out
    for task_id, details in tasks.items():
        if not isinstance(details, Mapping):
            continue
        for key, item in details.items():
            if key == "state" and isinstance(item, str):
                if item.upper() == wanted:
                    out.append({"taskId": task_id, "state": item.upper()})
            elif isinstance(item, Mapping) and isinstance(item.get("state"), str) and item["state"].upper() == wanted:
                out.append({"taskId": task_id, "state": item["state"].upper(), "value": key})
    return out


def printContext(env: Env) -> str:  # noqa: N802
    """Every variable of the run, as JSON text (secrets are never variables, so never shown)."""
    from lanner.expr.filters_data import json_ready

    return check_text("printContext", guarded("printContext", "the context is too deeply nested to print",
                                              lambda: to_json(json_ready(env.variables))))


def fileURI(env: Env, path: Any = ABSENT) -> str:  # noqa: N802 - Kestra's name
    """The internal-storage URI of a namespace file of the flow's namespace, as Kestra writes it:
    `kestra:///company/team/_files/<path>` (the URI is made, the file is not checked)."""
    require("fileURI", "path", path, "write fileURI('queries/daily.sql')")
    flow = env.variables.get("flow")
    namespace = flow.get("namespace") if isinstance(flow, Mapping) else None
    if not isinstance(namespace, str):
        fail("fileURI", "there is no flow namespace here", hint="fileURI() works inside a flow's tasks")
    return f"kestra:///{namespace.replace('.', '/')}/_files/{stringify(path)}"
