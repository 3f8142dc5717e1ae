"""What an attempt started outside this process, written down so that nobody loses track of it.

A command's keeper (`lanner.worker.keeper`) kills the command's whole group when the thread
that started it dies, but a keeper can die too (the OOM killer, a `kill -9` of the group's
leader): then only the command gets SIGKILL, and `sh -c '(sleep 30; echo x >> f) &'` leaves a
grandchild that would finish long after a SIGKILLed `lanner run`, beside the new attempt that
recovery starts. Containers do not die with us at all. So each started process group and container is
recorded with its attempt, in one small JSON file per resource under
`<home>/run/attempts/<task run id>/`, written right after it starts and removed once it is gone.
Before attempt N > 1 of a task run starts, `terminate_leftovers` ends what earlier attempts
left and waits until it is gone: a new attempt never overlaps its predecessor.

The files are not fsynced on purpose: they must survive the death of this process (the page
cache does), not of the machine (which takes the processes with it; the boot id tells).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import signal
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from lanner.worker import attempt_notes, process_groups
from lanner.worker.attempt_notes import Note

TERM_GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL of a left-behind group
ENGINE_TIMEOUT_SECONDS = 5  # a configured Docker engine that does not answer is reported, not waited for

Kind = Literal["process", "container"]


@dataclasses.dataclass(slots=True)
class Record:
    """One process group or container started by one attempt of one task run."""

    kind: Kind
    host: str
    boot_id: str
    execution_id: str
    task_run_id: str
    attempt: int
    pgid: int | None = None  # process: the group, = the leader's pid (it runs in its own session)
    pid: int | None = None
    start_time: int | None = None  # process: the leader's start, to tell a reused pid apart
    container_id: str | None = None
    engine: str | None = None  # container: the Docker engine's URL; None = DOCKER_HOST / the default socket

    def describe(self) -> str:
        if self.kind == "process":
            return f"attempt {self.attempt}'s process group {self.pgid}"
        return f"attempt {self.attempt}'s container {(self.container_id or '')[:12]}"


@functools.cache
def hostname() -> str:
    import socket

    return socket.gethostname()


def records_root(files: Any) -> Path | None:
    """Where a worker using internal storage `files` keeps its records (beside `storage/`)."""
    root = getattr(files, "root", None)
    return Path(root).parent / "run" / "attempts" if root is not None else None


def record(root: Path, rec: Record) -> Path:
    """Write `rec` (atomically: a reader never sees half a record); returns its file.

    One is written per started process, so with plain file descriptors (open, write, close) and
    without asking for its folder first: the attempt's command files are usually there already
    (`WorkerContext.command_files`), and the folder is made only when the first write finds none.
    """
    folder = root / rec.task_run_id
    ident = rec.pgid if rec.kind == "process" else (rec.container_id or "")[:12]
    name = f"{rec.attempt}-{rec.kind}-{ident}"
    path = folder / f"{name}.json"
    tmp = folder / f"{name}.tmp{os.getpid()}"
    data = json.dumps({field: getattr(rec, field) for field in _RECORD_FIELDS}).encode()
    try:
        fd = os.open(tmp, _NEW_FILE, 0o666)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, _NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(Record))
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def forget(path: Path) -> None:
    """Remove a record whose resource is gone (and its task run's folder once empty)."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:  # other records are still in it, or another thread removed it first
        pass


def terminate_leftovers(root: Path | None, execution_id: str, task_run_id: str) -> list[str]:
    """End what earlier attempts of `task_run_id` left running on this host; say what was done.

    A process group is terminated (SIGTERM, then SIGKILL) when its leader is still the recorded
    process or the group still has members, and waited for until it is gone; a container is
    killed and removed. Records of another host (a shared storage folder) are reported, not
    touched. Cheap when there is nothing: one directory check. Sentences about a resource that
    was ended finish with "it", so the caller may add when ("… terminated it before attempt 2").
    """
    if root is None:
        return []
    folder = root / task_run_id
    if not folder.is_dir():
        return []
    host, boot = hostname(), process_groups.boot_id()
    said: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            rec = Record(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):  # a torn or foreign file: nothing to act on
            forget(path)
            continue
        if rec.execution_id != execution_id:
            continue
        if rec.host != host:
            said.append(f"{rec.describe()} was started on host {rec.host}; it is not touched from here "
                        f"(stop it there if it still runs)")
            continue
        if rec.kind == "process":
            if rec.boot_id != boot:  # the machine restarted since: that group died with it
                forget(path)
                continue
            sentence = _end_group(rec)
        else:
            sentence = _end_container(rec)
        if sentence is None or not sentence.startswith("could not"):
            forget(path)
        if sentence:
            said.append(sentence)
    return said


def terminate_execution_leftovers(root: Path | None, execution_id: str, task_run_ids: Iterable[str]) -> list[str]:
    """`terminate_leftovers` for every task run of an execution that has records (one directory listing)."""
    if root is None or not root.is_dir():
        return []
    recorded = {entry.name for entry in root.iterdir()}
    said: list[str] = []
    for task_run_id in task_run_ids:
        if task_run_id in recorded:
            said.extend(terminate_leftovers(root, execution_id, task_run_id))
    return said


def _end_group(rec: Record) -> str | None:
    """Terminate a recorded group if it is still the one we started; None if it was gone."""
    assert rec.pgid is not None
    leader_start = process_groups.start_time(rec.pgid)
    if leader_start is not None and leader_start != rec.start_time:
        # The pid was reused by a new process. Linux never hands out a pid that is still some
        # group's id, so the recorded group must have been empty already.
        return None
    if leader_start is None and not process_groups.alive(rec.pgid):
        return None
    killed, gone = process_groups.terminate(rec.pgid, TERM_GRACE_SECONDS)
    if not gone:
        return f"could not end {rec.describe()}: it is still running after SIGKILL (a process in D state?)"
    if killed:
        return f"{rec.describe()} was still running and ignored SIGTERM; killed it"
    return f"{rec.describe()} was still running; terminated it"


def finished_container(folder: Path, execution_id: str, attempts: Iterable[int]) -> Note | None:
    """The latest of `attempts` whose recorded container exited on its own, as a note to adopt.

    Nothing kills a container when Lanner dies, so one that has exited since ran its command to
    the end; its output (per stream) is copied beside the records, where a host command's would
    be. Call before `terminate_leftovers`, which removes it. A running container, an unknown one
    or an engine that does not answer gives nothing: that attempt was cut off.
    """
    records = []
    for path in folder.glob("*-container-*.json"):
        try:
            rec = Record(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if rec.execution_id == execution_id and rec.attempt in set(attempts) and rec.host == hostname():
            records.append(rec)
    for rec in sorted(records, key=lambda r: r.attempt, reverse=True):
        ended = _container_end(rec)
        if ended is None:
            continue
        code, out, err, workdir = ended
        where = attempt_notes.paths(folder, rec.attempt)
        where.stdout.write_bytes(out)
        where.stderr.write_bytes(err)
        return Note(rec.attempt, Path(workdir), code, where.stdout, where.stderr, rec.container_id)
    return None


def _engine(docker: Any, rec: Record) -> Any:
    """A client of the engine that ran the recorded container (it answers within a few seconds or fails)."""
    if rec.engine:
        return docker.DockerClient(base_url=rec.engine, timeout=ENGINE_TIMEOUT_SECONDS)
    return docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)


def _container_end(rec: Record) -> tuple[int, bytes, bytes, str] | None:
    """(exit code, stdout, stderr, working dir) of a recorded container that has exited; else None."""
    docker = _docker_sdk()
    if docker is None:
        return None
    try:
        with contextlib.closing(_engine(docker, rec)) as client:
            container = client.containers.get(rec.container_id)
            if container.status != "exited":
                return None
            state, config = container.attrs.get("State", {}), container.attrs.get("Config", {})
            return (int(state.get("ExitCode", 0)), container.logs(stdout=True, stderr=False),
                    container.logs(stdout=False, stderr=True), config.get("WorkingDir", ""))
    except (docker.errors.DockerException, OSError):  # gone, or no engine: the attempt counts as cut off
        return None


def _docker_sdk() -> Any:
    """The docker SDK, or None when it is not installed (then nothing here could have started a container)."""
    try:
        import docker
    except ImportError:
        return None
    return docker


def _end_container(rec: Record) -> str | None:
    """Kill and remove the recorded container and any other container labelled with its task run."""
    docker = _docker_sdk()
    if docker is None:
        return None
    try:
        client = _engine(docker, rec)
        try:
            found = {c.id: c for c in client.containers.list(
                all=True, filters={"label": f"lanner.taskrun={rec.task_run_id}"})}
            if rec.container_id and rec.container_id not in found:
                try:
                    found[rec.container_id] = client.containers.get(rec.container_id)
                except docker.errors.NotFound:
                    pass
            ended: list[str] = []
            for container in found.values():
                running = container.status in ("running", "restarting", "paused", "created")
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:  # it went away meanwhile: nothing left to remove
                    continue
                if running:
                    ended.append(container.short_id)
        finally:
            client.close()
    except (docker.errors.DockerException, OSError) as exc:  # OSError: requests' connection errors
        where = rec.engine or os.environ.get("DOCKER_HOST") or "the default socket"
        return (f"could not remove {rec.describe()}: the Docker engine at {where} did not answer "
                f"({str(exc)[:120]}); remove it with `docker rm -f {rec.container_id}`")
    if not ended:
        return None
    return f"attempt {rec.attempt}'s container {', '.join(ended)} was still there; killed and removed it"


# -- the records of this process's own live resources ----------------------------------------


class Tracker:
    """The process groups and containers a worker's attempts have running right now.

    Each runner registers what it started (and a record is written); `terminate_all` is the
    hard stop: everything still registered is SIGKILLed / removed before the process exits.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._live: dict[int, tuple[Record, Path | None]] = {}
        self._lock = threading.Lock()
        self._next = 0
        _TRACKERS.add(self)

    def started(self, rec: Record) -> int:
        """Register (and record) a started resource; returns the handle to pass to `ended`."""
        path: Path | None = None
        if self.root is not None:
            try:
                path = record(self.root, rec)
            except OSError:  # an unwritable home must not fail the task: the keeper still ends the group with us
                path = None
        with self._lock:
            self._next += 1
            self._live[self._next] = (rec, path)
            return self._next

    def ended(self, handle: int) -> None:
        """The attempt is done with the resource: drop it, and its record once it is gone.

        A command that exited may have left processes in the background: their group keeps its
        record, so that a later attempt of the task run (a retry) or a hard stop ends them.
        """
        with self._lock:
            entry = self._live.pop(handle, None)
        if entry is None:
            return
        rec, path = entry
        if path is None:
            return
        if rec.kind == "process" and rec.pgid and process_groups.alive(rec.pgid):
            return
        forget(path)

    def process(self, execution_id: str, task_run_id: str, attempt: int, pid: int) -> Record:
        return Record("process", hostname(), process_groups.boot_id(), execution_id, task_run_id, attempt,
                      pgid=pid, pid=pid, start_time=process_groups.start_time(pid))

    def container(self, execution_id: str, task_run_id: str, attempt: int, container_id: str,
                  engine: str | None) -> Record:
        return Record("container", hostname(), process_groups.boot_id(), execution_id, task_run_id, attempt,
                      container_id=container_id, engine=engine)

    def terminate_all(self) -> list[str]:
        """SIGKILL every live group and remove every live container; wait until the groups are gone."""
        with self._lock:
            entries = list(self._live.items())
        said: list[str] = []
        groups = [(h, rec, path) for h, (rec, path) in entries if rec.kind == "process" and rec.pgid]
        for _, rec, _ in groups:
            process_groups.signal_group(rec.pgid or 0, signal.SIGKILL)
        for handle, rec, _ in groups:
            if process_groups.wait_gone(rec.pgid or 0, 10.0):
                said.append(f"killed process group {rec.pgid} (task run {rec.task_run_id}, attempt {rec.attempt})")
                self.ended(handle)
            else:
                said.append(f"process group {rec.pgid} is still running after SIGKILL")
        for handle, (rec, _) in entries:
            if rec.kind == "container":
                sentence = _end_container(rec)
                if sentence is None or not sentence.startswith("could not"):
                    self.ended(handle)
                said.append(sentence or f"container {(rec.container_id or '')[:12]} was already gone")
        return said


_TRACKERS: weakref.WeakSet[Tracker] = weakref.WeakSet()


def terminate_all() -> list[str]:
    """The hard stop for this whole process (every worker's tracker): see `Tracker.terminate_all`."""
    said: list[str] = []
    for tracker in list(_TRACKERS):
        said.extend(tracker.terminate_all())
    return said
