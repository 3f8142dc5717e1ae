"""Which Python task commands may run in the warm interpreter (`lanner.worker.warm_python`).

Only those whose fresh run would be exactly `python[3] <file.py> [args]` started by the shell with
Lanner's own interpreter: a fork of the warm server then does what that process would do. Anything
else — `beforeCommands`, several commands, shell syntax (pipes, variables, redirections, quoting
that does not round-trip), interpreter options (`-m`, `-c`, `-u`), another Python (a
`dependencies` environment, a different version, a virtualenv's `python` that shares our binary
but not our site-packages), a container — keeps the fresh process, where the shell and the chosen
interpreter apply as written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
from pathlib import PurePath

from lanner.worker import warm_python

_SHELLS = {"sh", "bash", "dash"}
# Words `shlex.quote` leaves as they are, one space apart: a line of them is its own `shlex.join`.
_PLAIN_WORDS = re.compile(r"[\w@%+=:,./-]+(?: [\w@%+=:,./-]+)*", re.ASCII)
# What Lanner adds to every Python task's environment (before the task's own `env`): the fork
# server's start-up variables must be these for a prewarmed server to be the one tasks use.
PYTHON_TASK_ENV = {"PYTHONUNBUFFERED": "true"}
# The families of task types that run Python on the host (current names and Kestra's old ones).
_PYTHON_TYPE_MARKS = ("io.kestra.plugin.scripts.python.", "io.kestra.core.tasks.scripts.Python")
_PYTHONS = {"python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"}


def python_argv(interpreter: list[str], before: list[str], own: list[str], path: str | None) -> list[str] | None:
    """`[python, script, *args]` when the command may run warm, else None.

    `interpreter` is the task's (`/bin/sh -c` by default), `before` what runs before its own lines
    (`beforeCommands`, installs), `own` its own lines (after `set -e` if any), `path` the PATH the
    command sees.
    """
    if before or len(interpreter) != 2 or interpreter[1] != "-c" or PurePath(interpreter[0]).name not in _SHELLS:
        return None
    lines = [line for line in own if line.strip() and line.strip() != "set -e"]
    if len(lines) != 1:
        return None
    line = lines[0].strip()
    if _PLAIN_WORDS.fullmatch(line):  # what `shlex` would split and join back unchanged, without it
        tokens = line.split(" ")
    else:
        try:
            tokens = shlex.split(line)
        except ValueError:
            return None
        if shlex.join(tokens) != line:  # any shell syntax beyond plain words
            return None
    if len(tokens) < 2:
        return None
    python, script = tokens[0], tokens[1]
    if PurePath(python).name not in _PYTHONS or script.startswith("-") or not script.endswith(".py"):
        return None
    return tokens if _is_our_python(python, path) else None


def prewarm_for(flow_text: str) -> bool:
    """Start the warm interpreter now if the flow's text names a Python script task type.

    Called by `lanner run` before it loads the flow, so that the server's start overlaps the
    loading instead of delaying the first Python task. The text is only searched, not parsed: a
    wrong guess costs an idle process (the type is named but no task runs warm) or nothing (the
    first task starts the server as it always did).
    """
    if not any(mark in flow_text for mark in _PYTHON_TYPE_MARKS):
        return False
    return warm_python.prewarm({**os.environ, **PYTHON_TASK_ENV})


def _is_our_python(name: str, path: str | None) -> bool:
    """Does `name` (as the shell would find it on `path`) start this very interpreter, same prefix included?

    The answer is kept for a second: finding it walks PATH and resolves links (~40 file-system
    calls), and a flow of many Python tasks asks it for each with the same PATH. A second is how
    long a newly installed interpreter may go unnoticed, at worst.
    """
    now = time.monotonic()
    key = (name, path)
    known = _OURS.get(key)
    if known is not None and now - known[1] < _OURS_SECONDS:
        return known[0]
    answer = _find_our_python(name, path)
    if len(_OURS) > 64:
        _OURS.clear()
    _OURS[key] = (answer, now)
    return answer


_OURS: dict[tuple[str, str | None], tuple[bool, float]] = {}
_OURS_SECONDS = 1.0


def _find_our_python(name: str, path: str | None) -> bool:
    found = name if os.sep in name else shutil.which(name, path=path if path is not None else os.defpath)
    if found is None:
        return False
    found = os.path.abspath(found)
    ours = sys.executable
    return (os.path.dirname(found) == os.path.dirname(ours)
            and os.path.realpath(found) == os.path.realpath(ours))
