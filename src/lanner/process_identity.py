"""Telling a live process from a dead one, and from a new process that reuses its pid.

The one place that reads this from the kernel: execution owners (storage/owners.py), cluster
workers (runtime/queues/jobs.py) and task process groups (worker/process_groups.py) use it. It
depends on nothing of Lanner's, so every room may import it.

A heartbeat that stopped says only that a process is silent: it may be dead, or stopped
(SIGSTOP, Ctrl-Z, a debugger), or busy. Handing its work to someone else while it lives makes
two owners of one attempt. On the machine where a process runs we can know better: the kernel's
boot id and pid namespace name the machine (`host_key`), and the pid's start time (clock ticks
since boot, `/proc/<pid>/stat`) tells the registered process apart from a later one with the
same pid. Elsewhere (another machine, or a system without /proc) only the heartbeat can be used.
"""

from __future__ import annotations

import functools
import os


@functools.cache
def boot_id() -> str:
    """This boot of this machine ("" where /proc cannot say): pids and start times only mean
    something within one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


@functools.cache
def host_key() -> str | None:
    """This machine's kernel boot and pid namespace, or None when /proc cannot say."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}:{namespace}"


def stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (the state letter) on, or None when there is no such process.
    The one parser of that file: the command name in brackets may hold spaces and parentheses."""
    try:  # a bare descriptor: read once per started task, where `open()` costs five more system calls
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        stat = b""
        while chunk := os.read(fd, 4096):
            stat += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    if b")" not in stat:  # gone between the open and the read
        return None
    return stat[stat.rindex(b")") + 2:].decode("ascii", "replace").split()


def state(pid: int) -> str | None:
    """The state letter of process `pid` (`T` when stopped, `Z` a zombie), or None."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot); None when it does not exist or is a zombie."""
    fields = stat_fields(pid)
    if not fields or len(fields) < 20 or fields[0] in ("Z", "X"):  # exited, waiting to be reaped: gone
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3


def is_running(host: str | None, pid: int, ticks: int | None) -> bool | None:
    """Whether the process registered as (host, pid, start ticks) still runs.

    True or False when this machine can tell; None when it cannot (another machine, or no /proc):
    the caller then goes by the heartbeat alone.
    """
    mine = host_key()
    if mine is None or host is None or host != mine or ticks is None:
        return None
    return start_ticks(pid) == ticks
