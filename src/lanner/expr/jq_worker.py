"""The jq helper process: reads one request per line on stdin, answers one line on stdout.

Run by `lanner.expr.jq_helper` as a script (it imports nothing of Lanner), with its address
space capped (RLIMIT_AS): libjq aborts the whole process when an allocation fails, and recursion
such as `def f: [f]; f` allocates until it does. Here that abort ends this helper only; the
parent sees the pipe close and fails the one task that asked.

Request: `[program, json_text, max_items, max_output]`. Answer: `["ok", [results…]]`, or
`[kind, message]` with kind `syntax` (the program does not compile), `error` (it failed on this
input), `items` (too many results) or `output` (the results' JSON is too long).
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


def _answer(program: Any, data_text: str, max_items: int) -> list[Any]:
    results: list[Any] = []
    for item in program.input_text(data_text):
        results.append(item)
        if len(results) > max_items:
            return ["items", f"more than {max_items} results"]
    return ["ok", results]


def main() -> None:
    limit = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import jq

    compiled: dict[str, Any] = {}
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        program_text, data_text, max_items, max_output = json.loads(line)
        program = compiled.get(program_text)
        answer: list[Any]
        if program is None:
            try:
                program = jq.compile(program_text)
            except Exception as exc:  # noqa: BLE001 - any compile failure is the template's syntax error
                answer = ["syntax", str(exc).splitlines()[0] if str(exc) else type(exc).__name__]
                program = None
            else:
                if len(compiled) >= 256:
                    compiled.clear()
                compiled[program_text] = program
        if program is not None:
            try:
                answer = _answer(program, data_text, max_items)
            except MemoryError:
                answer = ["memory", "out of memory"]
            except Exception as exc:  # noqa: BLE001 - jq's runtime errors are the program's, reported as text
                answer = ["error", str(exc) or type(exc).__name__]
        try:
            text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:  # a value JSON cannot carry (should not happen with jq)
            text = json.dumps(["error", str(exc)])
        if len(text) > max_output:
            text = json.dumps(["output", f"the results are longer than {max_output} characters"])
        out.write(text.encode("utf-8") + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
