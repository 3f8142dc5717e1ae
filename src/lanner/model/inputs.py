"""Typed inputs and flow outputs: turn what the user gave (CLI strings, JSON) into typed values.

Typed values reach templates typed (`{{ inputs.n + 1 }}` is arithmetic, not concatenation), and
a bad value is reported before anything runs, naming the input and the expected form.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from lanner.errors import ValidationError, ValidationErrors
from lanner.model.duration import format_duration, parse_duration
from lanner.model.flow import Flow, FlowOutput, Input
from lanner.model.state import iso

# Compiled on first use (re's cache), as most flows declare no such input: start-up time (issue 15).
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_URI = r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$"


Via = Literal["cli", "api", "trigger", "task"]  # who gives the inputs: the words of a missing one's hint

# How the caller supplies a missing input, said in the caller's own words: an API client has
# no `--input` option, a trigger's inputs are written in the flow, a Resume task's in its `inputs`.
SUPPLY_HINTS: dict[Via, str] = {
    "cli": "pass it with --input {id}=…",
    "api": "send it in the request body: form field `{id}` (multipart/form-data) or key `{id}` of a JSON object",
    "trigger": "set `{id}` in the trigger's `inputs`, or give the input `defaults`",
    "task": "set `{id}` in the task's `inputs`",
}


def resolve_inputs(flow: Flow, given: Mapping[str, Any], via: Via = "cli") -> dict[str, Any]:
    """Validate and type every input; raise `ValidationErrors` listing each problem.

    `via` (a key of SUPPLY_HINTS) picks the words of the hint for a missing input."""
    return resolve_declared(flow.inputs, given, "this flow", via)


def resolve_declared(declared: list[Input], given: Mapping[str, Any], owner: str, via: Via = "cli") -> dict[str, Any]:
    """Type `given` against `declared` inputs (a flow's, or a Pause's `onResume`), defaults filled in,
    an optional one given nothing null.

    `owner` names who declares them in the hint for an unknown name ("this flow", "the paused task
    `approve`"), `via` (a key of SUPPLY_HINTS) how a missing one is given; every problem is raised
    at once."""
    errors: list[ValidationError] = []
    known = {i.id for i in declared}
    for name in given:
        if name not in known:
            hint = (f"{owner} declares: " + ", ".join(sorted(known))) if known else f"{owner} declares no inputs"
            errors.append(ValidationError(f"unknown input `{name}`", hint=hint))
    out: dict[str, Any] = {}
    for inp in declared:
        if inp.id in given and given[inp.id] is not None:
            raw = given[inp.id]
        elif inp.defaults is not None:
            raw = inp.defaults
        elif inp.required:
            errors.append(ValidationError(f"missing required input `{inp.id}` ({inp.type})",
                                          hint=SUPPLY_HINTS[via].format(id=inp.id)))
            continue
        else:
            # Kestra keeps an optional input given no value and no default as null (its InputsTest:
            # `inputs.x` is there, null, and `{{ inputs.x }}` renders empty) rather than leaving it out
            out[inp.id] = None
            continue
        try:
            out[inp.id] = coerce(inp, raw)
        except ValueError as exc:
            errors.append(ValidationError(f"input `{inp.id}`: {exc}", hint=f"give a valid {inp.type} value"))
    if errors:
        raise ValidationErrors(list(errors))
    return out


Coercer = Callable[[Any, Any], Any]  # (the Input or FlowOutput, the raw value) -> the typed value


def coerce(inp: Input | FlowOutput, raw: Any, type_name: str | None = None) -> Any:
    """`raw` as a value of the input's type (or `type_name`); ValueError says what was expected.

    One small function per type, in `_COERCERS`: adding a type is adding a row. The rules are
    hand-written rather than pydantic's lax coercions because users' values must keep meaning
    what they meant (pydantic would take `true` as an INT, a Unix timestamp as a DATE).
    """
    t = type_name or inp.type
    coercer = _COERCERS.get(t)
    if coercer is None:
        raise ValueError(f"unsupported input type {t}")
    return coercer(inp, raw)


def _string(inp: Any, raw: Any) -> str:
    """A map or list becomes the compact JSON a template prints for it (`{"value":"x"}`, nulls
    left out, non-ASCII kept), so `{{ outputs.o.value }}` reads the same whether the value went
    through a STRING output or straight into the template. Then the input's `validator`, if any."""
    text = _string_text(raw)
    pattern = getattr(inp, "validator", None)
    if pattern is not None and not _full_match(pattern, text):
        raise ValueError(f"it must match the pattern `{pattern}`, but received `{text}`")
    return text


def _string_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (Mapping, list, tuple)):
        return json.dumps(_without_nulls(raw), ensure_ascii=False, separators=(",", ":"), default=_json_text)
    return str(raw)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_nulls(v) for v in value]
    return value


def _json_text(value: Any) -> str:
    return iso(value) if isinstance(value, dt.datetime) and value.tzinfo is not None else str(value)


def _full_match(pattern: str, text: str) -> bool:
    """Kestra's `validator` is Java's `Pattern.matches`: the whole value must match, not a prefix."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error as exc:  # the loader refuses such a flow; a flow built without it still gets a clear word
        raise ValueError(f"its validator `{pattern}` is not a valid regular expression: {exc}") from None


def _int(inp: Any, raw: Any) -> int:
    value: int | None = None
    if not isinstance(raw, bool):
        try:
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
        except (TypeError, ValueError):
            value = None
    if value is None:
        raise ValueError(f"`{raw}` is not an integer")
    _check_range(inp, value)
    return value


def _float(inp: Any, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"`{raw}` is not a number") from None
    _check_range(inp, value)
    return value


def _boolean(_inp: Any, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"`{raw}` is not a boolean (true or false)")


def parse_datetime(raw: Any) -> dt.datetime:
    """An ISO date-time, in UTC when it names no offset; ValueError says the expected form."""
    try:
        value = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"`{raw}` is not an ISO date-time like 2024-01-31T10:00:00Z") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def parse_date(raw: Any) -> dt.date:
    try:
        if isinstance(raw, dt.datetime):
            raise ValueError
        return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"`{raw}` is not a date like 2024-01-31") from None


def parse_time(raw: Any) -> dt.time:
    try:
        return raw if isinstance(raw, dt.time) else dt.time.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"`{raw}` is not a time like 10:30:00") from None


def parse_duration_input(raw: Any) -> dt.timedelta:
    try:
        return parse_duration(raw)
    except Exception:  # noqa: BLE001 - whatever the duration parser rejects, the user gets one message
        raise ValueError(f"`{raw}` is not an ISO-8601 duration like PT5M") from None


def _check_window(inp: Any, value: Any, parse: Callable[[Any], Any], show: Callable[[Any], str]) -> None:
    """Kestra's `after`/`before` of DATE, DATETIME and TIME inputs: bounds themselves are allowed."""
    after, before = getattr(inp, "after", None), getattr(inp, "before", None)
    try:
        if after is not None and value < parse(after):
            raise ValueError(f"it must be after `{show(parse(after))}`, but received `{show(value)}`")
        if before is not None and value > parse(before):
            raise ValueError(f"it must be before `{show(parse(before))}`, but received `{show(value)}`")
    except TypeError:  # a TIME with an offset against a bound without one: Python cannot order them
        raise ValueError(f"`{show(value)}` cannot be compared with the input's bounds: give the time "
                         "with an offset only when its `after`/`before` have one") from None


def _datetime(inp: Any, raw: Any) -> str:
    value = parse_datetime(raw)
    _check_window(inp, value, parse_datetime, iso)
    return iso(value)


def _date(inp: Any, raw: Any) -> str:
    value = parse_date(raw)
    _check_window(inp, value, parse_date, dt.date.isoformat)
    return value.isoformat()


def _time(inp: Any, raw: Any) -> str:
    value = parse_time(raw)
    _check_window(inp, value, parse_time, dt.time.isoformat)
    return value.isoformat()


def _duration(inp: Any, raw: Any) -> str:
    value = parse_duration_input(raw)
    lo, hi = getattr(inp, "min", None), getattr(inp, "max", None)
    if lo is not None and value < parse_duration_input(lo):
        raise ValueError(f"it must be more than `{format_duration(parse_duration_input(lo))}`, "
                         f"but received `{format_duration(value)}`")
    if hi is not None and value > parse_duration_input(hi):
        raise ValueError(f"it must be less than `{format_duration(parse_duration_input(hi))}`, "
                         f"but received `{format_duration(value)}`")
    return format_duration(value)


def _json(inp: Any, raw: Any) -> Any:
    """The value as JSON; then the input's `jsonSchema`, if any, must hold for it."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos}") from None
    schema = getattr(inp, "jsonSchema", None)
    if schema is not None:
        from lanner.model import json_schemas

        refused = json_schemas.refusal(schema, value)
        if refused is not None:
            raise ValueError(refused)
    return value


def _yaml(_inp: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    from lanner.model import yaml_source

    try:
        return yaml_source.plain(yaml_source.load(raw))
    except yaml_source.YamlError as exc:
        where = f" at line {exc.line + 1}" if exc.line is not None else ""
        raise ValueError(f"not valid YAML{where}: {exc.problem}") from None


def _list_from_text(raw: str, keep_empty: bool) -> Any:
    """A JSON array, or else comma-separated items (stripped; empty ones dropped unless `keep_empty`)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        if keep_empty:
            return [s.strip() for s in raw.split(",")] if raw.strip() else []
        return [s.strip() for s in raw.split(",") if s.strip()]


def _array(inp: Any, raw: Any) -> list[Any]:
    items = _list_from_text(raw, keep_empty=True) if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ValueError(f"`{raw}` is not a list (give a JSON array)")  # noqa: TRY004 - callers report ValueErrors
    item_type = getattr(inp, "itemType", None)
    return [coerce(inp, i, item_type) for i in items] if item_type else items


def _check_allowed(inp: Any, value: Any) -> None:
    allowed = _allowed(inp)
    if allowed is not None and str(value) not in allowed and not getattr(inp, "allowCustomValue", False):
        raise ValueError(f"`{value}` is not one of: {', '.join(allowed)}")


def _select(inp: Any, raw: Any) -> str:
    _check_allowed(inp, str(raw))
    return str(raw)


def _multiselect(inp: Any, raw: Any) -> list[str]:
    values = _list_from_text(raw, keep_empty=False) if isinstance(raw, str) else raw
    if not isinstance(values, list):
        values = [values]
    for v in values:
        _check_allowed(inp, v)
    return [str(v) for v in values]


def _matching(pattern: str, what: str) -> Coercer:
    def check(_inp: Any, raw: Any) -> str:
        if not re.match(pattern, str(raw)):
            raise ValueError(f"`{raw}` is not {what}")
        return str(raw)

    return check


def _file(inp: Any, raw: Any) -> str:
    allowed = getattr(inp, "allowedFileExtensions", None)
    if allowed and file_extension(str(raw)) not in {a.lower() for a in allowed}:
        raise ValueError(f"File type not allowed. Accepted extensions: {', '.join(allowed)} "
                         f"(received `{str(raw).rsplit('/', 1)[-1]}`)")
    return str(raw)


def file_extension(path_or_uri: str) -> str:
    """The extension of the last path segment, lower-cased with its dot (`.csv`), or "" for none:
    a dot in a folder name (`kestra:///v1.2/README`) is no extension."""
    name = path_or_uri.split("?", 1)[0].replace("\\", "/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


_MAX_LISTED = 10  # problems of an OBJECT or TABLE value listed before "… and N more"


def _record_text(raw: Any, shape: type, example: str) -> Any:
    """A value given as text (CLI `--input`, a multipart field, a rendered template) read as JSON."""
    if not isinstance(raw, str):
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos} (give {example})") from None
    except RecursionError:  # hostile nesting fails this input only, never the process answering
        raise ValueError(f"its JSON is nested too deeply (give {example})") from None
    if not isinstance(value, shape):
        raise ValueError(f"`{_string_text(value)}` is not {example}")
    return value


def _fields_of(inp: Any, key: str) -> list[Input]:
    fields = getattr(inp, key, None)
    if not fields:  # the loader refuses such a flow; one built without it still gets a clear word
        raise ValueError(f"the input declares no `{key}` to check the value against")
    return list(fields)


def _record(fields: list[Input], raw: Any, what: str, problems: list[str]) -> dict[str, Any]:
    """`raw` (a mapping) typed key by key against `fields`: each field is an input of its own (its
    validator, bounds and choices hold). A field left out or null is None when optional, as a flow's
    optional input is; problems are appended to `problems`, each naming the `what` and key."""
    known = {f.id for f in fields}
    out: dict[str, Any] = {}
    for key in raw:
        if key not in known:
            problems.append(f"unknown {what} `{key}` (declared: {', '.join(f.id for f in fields)})")
    for field in fields:
        value = raw.get(field.id)
        if value is None:
            if field.required:
                problems.append(f"missing required {what} `{field.id}` ({field.type})")
            out[field.id] = None
            continue
        try:
            out[field.id] = coerce(field, value)
        except ValueError as exc:
            problems.append(f"{what} `{field.id}`: {exc}")
    return out


def _raise_problems(problems: list[str], total: int | None = None) -> None:
    """One ValueError listing the first problems; `total` counts those not kept (a table's later rows)."""
    total = len(problems) if total is None else total
    if total:
        more = total - min(len(problems), _MAX_LISTED)
        listed = "; ".join(problems[:_MAX_LISTED]) + (f"; … and {more} more" if more > 0 else "")
        raise ValueError(listed)


def _object(inp: Any, raw: Any) -> dict[str, Any]:
    """Kestra's OBJECT: a map whose keys are typed by the input's `properties`."""
    fields = _fields_of(inp, "properties")
    value = _record_text(raw, dict, 'a JSON object like {"key": "value"}')
    if not isinstance(value, Mapping):
        raise ValueError(f'`{_string_text(value)}` is not an object (give a JSON object like {{"key": "value"}})')  # noqa: TRY004 - callers report ValueErrors
    problems: list[str] = []
    out = _record(fields, value, "property", problems)
    _raise_problems(problems)
    return out


def _table(inp: Any, raw: Any) -> list[dict[str, Any]]:
    """Kestra's TABLE: a list of rows, each a map typed by the input's `columns`, their number held
    within `rows.min`/`rows.max`."""
    fields = _fields_of(inp, "columns")
    rows = _record_text(raw, list, 'a JSON array of objects like [{"key": "value"}]')
    if not isinstance(rows, list):
        raise ValueError(f"`{_string_text(rows)}` is not a list of rows (give a JSON array of objects)")  # noqa: TRY004 - callers report ValueErrors
    bounds = getattr(inp, "rows", None)
    if bounds is not None and bounds.min is not None and len(rows) < bounds.min:
        raise ValueError(f"it must have at least `{bounds.min}` rows, but received {len(rows)}")
    if bounds is not None and bounds.max is not None and len(rows) > bounds.max:
        raise ValueError(f"it must have at most `{bounds.max}` rows, but received {len(rows)}")
    problems: list[str] = []  # the first few only: a hostile table of a million bad rows stays one line
    total = 0
    out: list[dict[str, Any]] = []
    for n, row in enumerate(rows):
        row_problems: list[str] = []
        if isinstance(row, Mapping):
            out.append(_record(fields, row, "column", row_problems))
        else:
            row_problems.append(f"it is not an object (`{_short(row)}`)")
        total += len(row_problems)
        problems.extend(f"row [{n}]: {p}" for p in row_problems[: max(0, _MAX_LISTED - len(problems))])
    _raise_problems(problems, total)
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = _string_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_COERCERS: dict[str, Coercer] = {
    "STRING": _string, "SECRET": _string,
    "INT": _int, "FLOAT": _float, "BOOLEAN": _boolean, "BOOL": _boolean,
    "DATETIME": _datetime, "DATE": _date, "TIME": _time, "DURATION": _duration,
    "JSON": _json, "YAML": _yaml, "ARRAY": _array,
    "SELECT": _select, "ENUM": _select, "MULTISELECT": _multiselect,
    "URI": _matching(_URI, "a URI like https://example.com/x"),
    "EMAIL": _matching(_EMAIL, "an e-mail address"),
    "FILE": _file, "OBJECT": _object, "TABLE": _table,
}


MASK = "******"


def mask(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of a secret replaced by `******`, in strings, recursively
    through dicts and lists. The one masking function: logs (worker, runtimes), the API and the
    CLI all call it."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, MASK)
        return value
    if isinstance(value, dict):
        return {k: mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, secrets) for v in value]
    return value


# What identifies an execution or a task run, or says where it stands: never user content, so never
# masked (a one-letter secret would otherwise turn ids into `E******E…` that no route then finds).
# Everything else, keys unknown here included, is masked.
_EXECUTION_IDENTITY = frozenset({"id", "namespace", "flowId", "flowRevision", "originalId", "parentId", "state",
                                 "tenantId", "taskRunList"})
_TASK_RUN_IDENTITY = frozenset({"id", "executionId", "flowId", "namespace", "parentTaskRunId", "taskId", "state",
                                "attempts", "block", "group", "tenantId"})


def mask_execution_json(data: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """An execution's JSON with its secrets masked in what users and tasks wrote (inputs, outputs,
    variables, labels, trigger, loop values…), its identifiers and states left as they are."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return data
    out = {k: v if k in _EXECUTION_IDENTITY else mask(v, secrets) for k, v in data.items()}
    if isinstance(data.get("taskRunList"), list):
        out["taskRunList"] = [mask_task_run_json(run, secrets) for run in data["taskRunList"]]
    return out


def mask_task_run_json(run: Any, secrets: Iterable[str]) -> Any:
    """One task run's JSON masked as `mask_execution_json` masks each of an execution's."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return run
    if not isinstance(run, dict):
        return mask(run, secrets)
    return {k: v if k in _TASK_RUN_IDENTITY else mask(v, secrets) for k, v in run.items()}


def secret_values(flow: Flow | None, exe: Any) -> tuple[str, ...]:
    """The values of an execution's SECRET inputs: masked wherever logs or API answers show them."""
    if flow is None:
        return ()
    return tuple(str(exe.inputs[i.id]) for i in flow.inputs
                 if i.type == "SECRET" and exe.inputs.get(i.id) not in (None, ""))


def coerce_output(out: FlowOutput, value: Any) -> Any:
    try:
        return coerce(out, value)
    except ValueError as exc:
        raise ValidationError(f"Invalid output for `{out.id}`, {exc}, but received `{value}`",
                              hint=f"make `outputs.{out.id}.value` render a {out.type}") from None


def _allowed(inp: Any) -> list[str] | None:
    values = getattr(inp, "values", None)
    if values is None:
        return None
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except json.JSONDecodeError:
            return None
    return [str(v) for v in values]


def _check_range(inp: Any, value: float) -> None:
    lo, hi = getattr(inp, "min", None), getattr(inp, "max", None)
    if lo is not None and value < float(lo):
        raise ValueError(f"{value} is below the minimum {lo}")
    if hi is not None and value > float(hi):
        raise ValueError(f"{value} is above the maximum {hi}")


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def parse_cli_inputs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        if "=" not in p:
            raise ValidationError(f"`--input {p}` has no value", hint="write --input KEY=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


_ = base64
