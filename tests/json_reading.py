"""JSON read as a browser or jq reads it: `NaN`, `Infinity` and `-Infinity` are not JSON, though
Python's reader takes them."""

from __future__ import annotations

import json
from typing import Any


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)
