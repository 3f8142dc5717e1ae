"""This host's clock, id source and environment: the surroundings the runtimes give the executor.

The engine reads none of these itself (`engine/surroundings.py` says why); the runtimes hand
every executor `HOST` (through `runtime/core.py`), so the one place that decides which clock, ids,
`ENV_*` and `SECRET_*` variables an execution sees is here. It lives in `runtime/`, the room that
touches the host, and uses the model's clock (`state.now`), ids (`execution.new_id`) and `envs`
variables (`variables.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from lanner import secrets
from lanner.model import execution, state, variables


class Host:
    """The surroundings of a real process: wall clock (UTC), random ids, its environment."""

    __slots__ = ()

    def now(self) -> dt.datetime:
        return state.now()

    def new_id(self) -> str:
        return execution.new_id()

    @property
    def envs(self) -> Mapping[str, str]:
        return variables.process_envs()

    def secret(self, name: str) -> str:
        return secrets.secret(name)


HOST = Host()
