"""Default factories for pydantic fields on the start-up path of `lanner run`.

`Field(default_factory=list)` looks harmless, but pydantic asks `inspect.signature(list)` for each
such field (to learn whether the factory takes the validated data), and a builtin's signature is
parsed from its text with `tokenize`, whose first use compiles a large regular expression: ~3 ms
of every `lanner run` for the flow model's eleven list fields (issue 15). A Python function's
signature is read from its code object instead, so these cost nothing. Same behaviour: a new empty
list per instance. (`dict` has no text signature: `default_factory=dict` is cheap.)
"""

from __future__ import annotations

from typing import Any


def empty_list() -> list[Any]:
    return []
