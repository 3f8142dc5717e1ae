"""Property-based fuzzing of the YAML loader and the template renderer, run as its own process.

`python tests/security/fuzz/runner.py yaml|templates [examples]` caps its own address space
(RLIMIT_AS, 1 GiB) and CPU time first, then lets hypothesis throw generated inputs at the loader
or the renderer. Every input must end, within the per-example deadline, with a result or the
component's own error (YamlError / LannerError / ExpressionError) — not another exception, not
a MemoryError turned into "internal error", and not an abort (the parent test sees the exit status).
On success it prints `ok <examples>`.
"""

from __future__ import annotations

import resource
import sys
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADDRESS_SPACE = 1 << 30
CPU_SECONDS = 120
FORBIDDEN = ("internal error", "please report", "MemoryError", "more memory than there is")

YAML_PARTS = st.sampled_from([
    "id: a\n", "namespace: b\n", "tasks:\n", "  - id: t\n", "    type: io.kestra.plugin.core.log.Log\n",
    "    message: ", "variables:\n", "  ", "- ", ": ", "&a ", "&b ", "*a", "*b", "<<: *a\n", "[", "]", "{", "}", ",",
    "!foo ", "!!python/object:os.system ", "!!str ", "!!int ", "!!binary ", "'", '"', "|\n", ">\n", "\n", "\t",
    "9" * 25, "-9223372036854775809", "0x" + "f" * 20, "0o777", "1e999", ".nan", "~", "null", "yes", "1:30",
    "{{ x }}", "#", "---\n", "...\n", "? ", "%YAML 1.2\n", "\x00", "\ufeff", "é",
])


def _bomb(levels: int, width: int, recursive: bool) -> str:
    lines = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    if recursive:
        lines.append("r: &r [1, *r]")
    return "id: a\nnamespace: b\ntasks: []\nvariables:\n" + "".join(f"  {line}\n" for line in lines)


YAML_TEXT = st.one_of(
    st.lists(st.one_of(YAML_PARTS, st.text(max_size=4)), max_size=40).map("".join),
    st.builds(_bomb, st.integers(1, 12), st.integers(1, 12), st.booleans()),
)

TEMPLATE_PARTS = st.sampled_from([
    "{{ ", " }}", "{% ", " %}", "for i in range(0, 99999)", "for j in 1..1000", "endfor", "set s = s ~ s",
    "set s = s + s", "set l = l + l", "set m = {'a': m, 'b': m}", "set n = n * n", "if ", "endif", "s", "l", "m", "n",
    " ~ ", " + ", " * ", " - ", " / ", " % ", " ** ", "..", " == ", " ?? ", "(", ")", "[", "]", "{", "}", ",", ":",
    "'", "'ab'", "9223372036854775807", "9" * 30, "0", "-1", "1.5", "true", "null",
    " | toJson", " | length", " | join(',')", " | upper", " | yaml", " | first", " | keys",
    " | replace({'(a|aa)+$': 'x'}, regexp=true)", " | split('(a+)+')", " | replace({'[': 'x'}, regexp=true)",
    " | jq('.[]')", " | jq('[range(100)]')", " | jq('.[[')", " | number", " | abs",
    "render(t)", "render(s)", "range(0, 100000000)", "items", "vars.x", "loop.index",
])

LOOPS = st.builds(
    "{{% for i in range(0, {}) %}}{{% set {} %}}{{% endfor %}}{{{{ {} }}}}".format,
    st.sampled_from(["1", "5", "30", "64", "100000"]),
    st.sampled_from(["s = s ~ s", "s = s + s", "l = l + l", "l = [l, l]", "m = {'a': m, 'b': m}", "n = n * n",
                     "n = n + n", "n = -n - n", "s = render(t)", "s = s | replace({'(a|aa)+$': 'x'}, regexp=true)",
                     "s = vars.x | split('(a|aa)+$') | join(s)", "l = l | jq('[.[], .[]]') | first",
                     "m = m | merge({'c': m})", "s = s | indent(50)"]),
    st.sampled_from(["s | length", "l | length", "m | toJson | length", "n", "m", "l", "m == m", "[m, m] | distinct",
                     "m | yaml | length", "s", "l | join(',') | length"]),
)
TEMPLATE_TEXT = st.one_of(LOOPS, st.lists(st.one_of(TEMPLATE_PARTS, st.text(max_size=3)), max_size=30).map("".join))

VARIABLES: dict[str, Any] = {
    "s": "ab", "l": [1, 2], "m": {"a": 1}, "n": 3037000499, "t": "{{ render(t) }}{{ render(t) }}",
    "items": ["a", "b"], "vars": {"x": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"},
}


def _check_message(text: str) -> None:
    for word in FORBIDDEN:
        assert word not in text, text


def fuzz_yaml(examples: int) -> None:
    from lanner.errors import LannerError
    from lanner.loading.flows import load_flow
    from lanner.model import yaml_source

    @settings(max_examples=examples, deadline=5000, database=None,
              suppress_health_check=list(HealthCheck))
    @given(YAML_TEXT)
    def check(text: str) -> None:
        try:
            yaml_source.plain(yaml_source.load(text))
        except yaml_source.YamlError as exc:
            _check_message(exc.problem)
        try:
            load_flow(text, file="fuzz.yaml")
        except LannerError as exc:
            _check_message(exc.render())

    check()


def fuzz_templates(examples: int) -> None:
    from lanner import expr

    @settings(max_examples=examples, deadline=10000, database=None,
              suppress_health_check=list(HealthCheck))
    @given(TEMPLATE_TEXT)
    def check(template: str) -> None:
        try:
            expr.render(template, VARIABLES)
        except expr.ExpressionError as exc:
            _check_message(exc.render())

    check()


def main() -> None:
    target, examples = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    {"yaml": fuzz_yaml, "templates": fuzz_templates}[target](examples)
    print(f"ok {examples}")


if __name__ == "__main__":
    main()
