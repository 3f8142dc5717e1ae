"""jq, evaluated where running out of memory or time cannot take Lanner down.

libjq aborts its process when an allocation fails (`jq('def f: [f]; f')` does that in a second),
and a long program holds the thread that runs it; in `lanner server local` that process is the
server, the scheduler and every worker. So jq runs in small long-lived helper processes
(`jq_worker.py`) with a capped address space (LANNER_JQ_MEMORY_MB) and a time limit per call
(LANNER_JQ_TIMEOUT): a helper that dies or overruns is killed and replaced, and only the task
that asked fails.

Why long-lived helpers rather than one process per call: starting Python and importing jq costs
tens of milliseconds, while a request over a pipe costs tens of microseconds, and a helper keeps
compiled programs (compiling is what made in-process jq slow). Idle helpers are kept in a small
pool; a thread that finds none idle starts its own, so parallel tasks do not queue.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from lanner.expr.env import JQ_MEMORY_MB, JQ_TIMEOUT, MAX_ITEMS, MAX_OUTPUT
from lanner.expr.errors import ExpressionError

_WORKER = str(Path(__file__).with_name("jq_worker.py"))
_MAX_IDLE = 4


class _Died(Exception):
    """The helper ended (or was killed) before answering."""


class _Helper:
    def __init__(self) -> None:
        # A session of its own: Ctrl-C in a terminal reaches Lanner, which decides, not the helper.
        self.proc = subprocess.Popen([sys.executable, "-u", _WORKER, str(JQ_MEMORY_MB)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                                     close_fds=True)
        self.buffer = b""

    def ask(self, request: bytes, timeout: float) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Died() from None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Died()
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def kill(self) -> int | None:
        """End the helper at once; its exit status (negative: the signal), if it had one."""
        code = self.proc.poll()
        if code is None:
            self.proc.kill()
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:  # a pipe already broken by the helper's death
                pass
        return code


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Helper] = []
        self.pid = os.getpid()

    def take(self) -> _Helper:
        with self.lock:
            if self.pid != os.getpid():  # forked: the helpers' pipes belong to the parent
                self.idle, self.pid = [], os.getpid()
            if self.idle:
                return self.idle.pop()
        return _Helper()

    def give(self, helper: _Helper) -> None:
        with self.lock:
            if len(self.idle) < _MAX_IDLE and self.pid == os.getpid():
                self.idle.append(helper)
                return
        helper.kill()


    def close(self) -> None:
        """End the idle helpers (at exit: they would end on their own when stdin closes, but later)."""
        with self.lock:
            idle, self.idle = self.idle, []
        for helper in idle:
            helper.kill()


_pool = _Pool()
atexit.register(_pool.close)


def run(program: str, data_text: str) -> list[Any]:
    """The results of `program` on the JSON text `data_text`, or an ExpressionError saying why not."""
    request = json.dumps([program, data_text, MAX_ITEMS, MAX_OUTPUT], ensure_ascii=False).encode("utf-8") + b"\n"
    helper = _pool.take()
    try:
        kind, payload = helper.ask(request, JQ_TIMEOUT)
    except TimeoutError:
        helper.kill()
        raise ExpressionError(f"jq: the program '{program}' ran longer than {JQ_TIMEOUT:g}s",
                              hint="simplify it or give it less data (LANNER_JQ_TIMEOUT sets the limit)") from None
    except _Died:
        code = helper.kill()
        raise _death(program, code) from None
    except BaseException:
        helper.kill()  # an answer half read (e.g. a KeyboardInterrupt): this helper's pipe is unusable
        raise
    _pool.give(helper)
    if kind == "ok":
        results: list[Any] = payload
        return results
    if kind == "syntax":
        raise ExpressionError(f"jq: invalid jq expression '{program}': {payload}",
                              hint="check the jq syntax, e.g. '.items[0].name' or '.[] | select(.ok)'")
    if kind == "items":
        raise ExpressionError(f"jq: this would make more than {MAX_ITEMS} items",
                              hint="select fewer results (LANNER_TEMPLATE_MAX_ITEMS sets the limit)")
    if kind == "output":
        raise ExpressionError(f"jq: {payload}", hint="select less data (LANNER_TEMPLATE_MAX_OUTPUT sets the limit)")
    if kind == "memory":
        raise _death(program, -signal.SIGABRT)
    raise ExpressionError(f"jq: the jq expression '{program}' failed on this value: {payload}",
                          hint="check the jq program against the data it receives")


def _death(program: str, code: int | None) -> ExpressionError:
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
        return ExpressionError(f"jq: the program '{program}' needed more than {JQ_MEMORY_MB} MiB of memory "
                               "(or recursed without end)",
                               hint="check it for recursion without an end, or give it less data "
                                    "(LANNER_JQ_MEMORY_MB sets the limit)")
    return ExpressionError(f"jq: the helper process ended unexpectedly (exit status {code}) running '{program}'",
                           hint="check the jq program; if it is simple, please report this")
