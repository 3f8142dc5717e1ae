"""Template rendering speed: Lanner's expression language against Jinja2 on equivalent templates.

Each case is a typical Kestra template and the Jinja2 template that prints the same text. Both
render with the same variables (a run context shaped like Kestra's; one case uses a run with 50
task outputs, since a `??` fallback's cost may grow with the map it looks into); Jinja2 templates are
compiled once, as Lanner caches its compiled templates, and Lanner is called through its public
`lanner.expr.render(template, variables)`. For each case the script prints renders per second
(best of several rounds, after a warm-up) for both engines and the ratio of Lanner's time per
render to Jinja2's. Targets (issue 2): a ratio of at most 2.0 for every case, and at least
100,000 renders/s for the simple lookup. Figures are printed, never asserted.

A second table times templates that have no Jinja2 equivalent but whose cost the sandbox's limits
touch (issue 11): jq (evaluated in a helper process), a regex `replace` (with a time limit),
`render()` of a flow variable, and a loop with integer arithmetic (64-bit overflow checks).

    python bench/expressions.py [--rounds 5] [--seconds 0.2]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

import jinja2

from lanner import expr

LOOKUP_TARGET = 100_000  # renders/s for `{{ outputs.task.value }}`
RATIO_TARGET = 2.0  # Lanner time per render / Jinja2 time per render

VARIABLES: dict[str, Any] = {
    "flow": {"id": "nightly-load", "namespace": "company.team", "revision": 3},
    "execution": {"id": "4wjtkzwVGBM9yKnjm3yv8r", "startDate": "2024-07-09T06:17:01.171Z",
                  "originalId": "4wjtkzwVGBM9yKnjm3yv8r", "state": "RUNNING"},
    "task": {"id": "report", "type": "io.kestra.plugin.core.log.Log"},
    "taskrun": {"id": "5xkulzxWHCN0zLokn4zw9s", "startDate": "2024-07-09T06:17:02.004Z", "attemptsCount": 0},
    "inputs": {"name": "  Ada Lovelace, ADMIN  ", "region": "eu-west-1", "dryRun": False},
    "outputs": {
        "task": {"value": "hello"},
        "extract": {"uri": "kestra:///company/team/nightly-load/out.csv", "rows": 1250},
        "check": {"code": 0, "stdout": "ok"},
    },
    "items": ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"],
    "labels": {"team": "data", "env": "prod"},
    "vars": {"bucket": "s3://company-data"},
    "envs": {},
    "globals": {},
}

# A bigger run: 50 task outputs, as a flow with a few dozen tasks has. A `??` fallback on a
# missing key looks into the map that lacks it, so the map's size may matter.
BIG_VARIABLES: dict[str, Any] = {
    **VARIABLES,
    "outputs": {**VARIABLES["outputs"], **{f"step_{i:02d}": {"value": i} for i in range(47)}},
}

# (name, Lanner template, equivalent Jinja2 template, variables)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("simple lookup",
     "{{ outputs.task.value }}",
     "{{ outputs.task.value }}", VARIABLES),
    ("filter chain",
     "{{ inputs.name | trim | upper | replace({'A': 'a'}) }}",
     "{{ inputs.name | trim | upper | replace('A', 'a') }}", VARIABLES),
    ("for loop",
     "{% for x in items %}{{ loop.index }}:{{ x }},{% endfor %}",
     "{% for x in items %}{{ loop.index0 }}:{{ x }},{% endfor %}", VARIABLES),
    ("?? and ternary",
     "{{ (inputs.retries ?? 3) > 2 ? 'many' : 'few' }}",
     "{{ 'many' if (inputs.retries | default(3)) > 2 else 'few' }}", VARIABLES),
    ("?? on 50 outputs",
     "{{ (outputs.skipped.code ?? 1) == 0 ? 'ok' : 'failed' }}",
     "{{ 'ok' if (outputs.skipped | default({})).code | default(1) == 0 else 'failed' }}", BIG_VARIABLES),
    ("concatenation",
     "{{ flow.namespace ~ '.' ~ flow.id ~ '-' ~ execution.id }}",
     "{{ flow.namespace ~ '.' ~ flow.id ~ '-' ~ execution.id }}", VARIABLES),
    ("text with prints",
     "Run {{ execution.id }} of {{ flow.namespace }}.{{ flow.id }} wrote {{ outputs.extract.rows }} rows",
     "Run {{ execution.id }} of {{ flow.namespace }}.{{ flow.id }} wrote {{ outputs.extract.rows }} rows",
     VARIABLES),
]

# (name, Lanner template, variables, expected output): cases without a Jinja2 twin.
LANNER_ONLY: list[tuple[str, str, dict[str, Any], str]] = [
    ("jq",
     "{{ outputs.extract | jq('.rows') | first }}", VARIABLES, "1250"),
    ("regex replace",
     "{{ inputs.name | replace({'\\\\s+': ' ', '^ | $': ''}, regexp=true) }}", VARIABLES, "Ada Lovelace, ADMIN"),
    ("render()",
     "{{ render(vars.greeting) }}", {**VARIABLES, "vars": {"greeting": "hello {{ flow.id }}"}},
     "hello nightly-load"),
    ("loop arithmetic",
     "{% set t = 0 %}{% for x in items %}{% set t = t + loop.index * 3 - 1 %}{% endfor %}{{ t }}", VARIABLES, "125"),
]


def rate(render: Callable[[], object], rounds: int, seconds: float) -> float:
    """Best renders/second over `rounds` timed rounds of about `seconds` each, after a warm-up."""
    for _ in range(200):
        render()
    n, elapsed = 1, 0.0
    while elapsed < seconds / 4:  # calibrate the round size
        n *= 2
        start = time.perf_counter()
        for _ in range(n):
            render()
        elapsed = time.perf_counter() - start
    n = max(1, int(n * seconds / elapsed))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            render()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.2, help="length of one timed round")
    args = ap.parse_args()

    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    render = expr.render
    print(f"{'template':<18} {'Lanner/s':>11} {'Jinja2/s':>11} {'ratio':>6}  (ratio = Lanner time / Jinja2 time,"
          f" target <= {RATIO_TARGET})")
    results: dict[str, float] = {}
    worst = 0.0
    for name, lanner_text, jinja_text, variables in CASES:
        compiled = jinja.from_string(jinja_text)
        ours, theirs = render(lanner_text, variables), compiled.render(variables)
        if ours != theirs:
            raise SystemExit(f"{name}: the templates disagree: Lanner {ours!r}, Jinja2 {theirs!r}")
        lanner_rate = rate(functools.partial(render, lanner_text, variables), args.rounds, args.seconds)
        jinja_rate = rate(functools.partial(compiled.render, variables), args.rounds, args.seconds)
        ratio = jinja_rate / lanner_rate
        worst = max(worst, ratio)
        results[name] = lanner_rate
        flag = "" if ratio <= RATIO_TARGET else "  <- slower than the target"
        print(f"{name:<18} {lanner_rate:>11,.0f} {jinja_rate:>11,.0f} {ratio:>6.2f}{flag}")
    lookup = results["simple lookup"]
    print(f"\nsimple lookup: {lookup:,.0f} renders/s (target >= {LOOKUP_TARGET:,}):"
          f" {'met' if lookup >= LOOKUP_TARGET else 'MISSED'}")
    print(f"worst ratio: {worst:.2f} (target <= {RATIO_TARGET}): {'met' if worst <= RATIO_TARGET else 'MISSED'}")
    print(f"\n{'Lanner only':<18} {'Lanner/s':>11}")
    for name, text, variables, expected in LANNER_ONLY:
        got = render(text, variables)
        if got != expected:
            raise SystemExit(f"{name}: expected {expected!r}, got {got!r}")
        print(f"{name:<18} {rate(functools.partial(render, text, variables), args.rounds, args.seconds):>11,.0f}")


if __name__ == "__main__":
    main()
