"""How the `lanner` command ends: as the interpreter would, minus the teardown of every object.

With the model, the template language, typer and rich loaded, CPython's own finalization (every
module dict cleared, every object freed, the collector run) costs ~36 ms here: more than ten
Python tasks of a `lanner run`. Nothing Lanner needs happens in it. So the command does, in the
interpreter's order, what a user or a test can see of an exit, then leaves with `os._exit`:

1. non-daemon threads are waited for (the workers' last clean-ups: working folders, notes);
2. atexit functions run (they include logging's flush and `weakref.finalize` callbacks);
3. the SQLite connections are closed (the write-ahead log is checkpointed and removed, as when
   the teardown dropped them);
4. stdout and stderr are flushed; a flush that fails makes the code 120, as the interpreter does.

An exception that escapes (a traceback) takes the interpreter's normal way out instead.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_code(code: object) -> int:
    """What the interpreter makes of `SystemExit(code)`: None is 0, an int itself, anything else
    printed on stderr and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def end(code: int) -> NoReturn:
    """Leave the process with `code` after steps 1-4 of the module's docstring."""
    threading._shutdown()  # type: ignore[attr-defined]  # step 1 of Py_FinalizeEx; no public name
    atexit._run_exitfuncs()
    from lanner.storage.sql import close_connections

    close_connections()  # a connection that cannot close keeps its log; the next open replays it
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # noqa: BLE001 - e.g. a closed pipe: the interpreter exits 120 then
            code = code or 120
    os._exit(code & 0xFF)
