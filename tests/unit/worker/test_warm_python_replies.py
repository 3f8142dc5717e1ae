"""The server's words about a task are read one line at a time, whatever arrives together."""

from __future__ import annotations

import signal
import socket

from lanner.worker.warm_python import Warm, reply


def test_a_task_that_ended_before_its_pid_was_read_still_reports_its_exit_code() -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(b"P4242\nX3\n")  # a quick script: both lines are there at the first read
    line, rest = reply(ours)
    task = Warm(int(line[1:]), ours, _pending=rest)
    assert task.pid == 4242
    assert task.poll() == 3
    theirs.close()


def test_a_server_gone_without_a_word_reports_the_task_killed() -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(b"P7\n")
    line, rest = reply(ours)
    task = Warm(int(line[1:]), ours, _pending=rest)
    assert task.poll() is None
    theirs.sendall(b"X")  # half a line: still running as far as we know
    assert task.poll() is None
    theirs.close()
    assert task.poll() == -signal.SIGKILL
