"""Linux process groups as a task's unit of work: start one that dies with us, tell if it is gone.

A host command runs in its own session, so its whole tree shares one process group id (the
leader's pid) and can be signalled at once. Two things make "gone" subtle, and are why this
module reads /proc instead of trusting `kill(0)`:

- a process that died but was not reaped is a zombie: it is no longer running anything;
- a pid is reused after its process is reaped, so a record written before a crash says which
  process it meant by its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot)
  and the machine's boot id (start times restart at every boot).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from lanner import process_identity

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PROC = Path("/proc")
_prctl: Callable[..., int] | None = None


Arming = Callable[[int, int], bool]


def pdeathsig_arming() -> Arming | None:
    """A function for a forked child: `arm(sig, parent)` asks for `sig` when the parent thread ends.

    PDEATHSIG is tied to the forking *thread*, not the process. Lanner starts commands from its
    worker pool threads, which live as long as the process (they leave only at shutdown, after
    their current attempt, and the attempt waits for its command), so in practice the child is
    signalled when the process that runs it dies — including on SIGKILL, which no handler sees.
    The parent may already be gone by the time the child arms: `arm` returns False when
    getppid() is no longer `parent` (no signal will come), for the child to act on. Returns None
    where prctl is unavailable. `arm` runs between fork and exec, so it only calls a ctypes
    function loaded here.
    """
    global _prctl
    if _prctl is None:
        import ctypes  # here, not at the top: `lanner run` of a flow without commands never needs it

        try:
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):  # not Linux (no prctl in libc): nothing to arm
            return None
    prctl = _prctl

    def arm(sig: int, parent: int) -> bool:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        return os.getppid() == parent

    return arm


boot_id = process_identity.boot_id
start_time = process_identity.start_ticks
_stat_fields = process_identity.stat_fields


def members(group: int) -> list[int]:
    """The live (non-zombie) processes of process group `group`."""
    if not _PROC.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(group, 0)
            return [group]
        except (ProcessLookupError, PermissionError):
            return []
    out: list[int] = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and len(fields) > 2 and fields[0] not in ("Z", "X") and fields[2] == str(group):
            out.append(int(entry.name))
    return out


def alive(group: int) -> bool:
    """Is any live process left in the group? (One syscall when the group is empty.)"""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's processes: look closer
        pass
    return bool(members(group))


def signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_gone(group: int, seconds: float, reap: Callable[[], object] | None = None) -> bool:
    """Poll until no live process is left in the group; True if that happened within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if reap is not None:
            reap()
        if not alive(group):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def terminate(group: int, grace: float, reap: Callable[[], object] | None = None,
              kill_wait: float = 10.0) -> tuple[bool, bool]:
    """SIGTERM the group, SIGKILL what is left after `grace`, wait until it is gone.

    Returns (needed SIGKILL, gone). `reap` is called while waiting so that our own child, the
    leader, does not stay a zombie.
    """
    signal_group(group, signal.SIGTERM)
    if wait_gone(group, grace, reap):
        return False, True
    signal_group(group, signal.SIGKILL)
    return True, wait_gone(group, kill_wait, reap)
