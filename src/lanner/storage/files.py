"""Internal storage: files of executions under LANNER_HOME/storage, addressed as `kestra://` URIs.

Every path into the storage is built by `inside()` alone: each part is checked as the identifier
it is (namespace, flow id, execution id, task id, run id), the file name is reduced to safe
characters, and the resolved result must lie under the storage root. Writers never join paths
themselves, so a `../` in a form-field name or a URL cannot reach the rest of the disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lanner.errors import LannerError
from lanner.model import ids

if TYPE_CHECKING:
    from lanner.storage.kv import KVStore
    from lanner.storage.namespace_files import NamespaceTree

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_CHUNK = 1024 * 1024


def safe_name(name: str) -> str:
    """A file name reduced to `[A-Za-z0-9._-]`, never empty, `.` or `..`."""
    base = _SAFE.sub("_", Path(name.replace("\\", "/")).name)[:200]
    return base if base.strip(".") else "file"


def inside(root: Path, *parts: str) -> Path:
    """`root/part/part…` resolved, refused unless it stays under `root` (symbolic links followed)."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise LannerError(f"`{'/'.join(parts)}` points outside internal storage",
                          hint="use the URI or the identifiers a task produced")
    return target


def write_atomically(target: Path, source: Any) -> None:
    """Copy `source` (anything with `read(n)`) to `target` in chunks, never whole in memory, through
    a temporary `.upload-*` file beside it renamed at the end: a failed copy leaves nothing."""
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
        os.replace(tmp, target)
    except BaseException:  # any failure, cancellation included: the partial copy must not stay
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class LocalFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def kv(self) -> KVStore:
        """The namespace KV store kept in this storage (`storage/kv.py`)."""
        from lanner.storage.kv import KVStore

        return KVStore(self.root)

    def target(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str,
               name: str) -> Path:
        """Where a file of a task run (or of an execution's inputs: task `inputs`, run = input id) goes."""
        ids.check("namespace", namespace)
        ids.check("flow id", flow_id)
        ids.check("execution id", execution_id)
        ids.check("task id", task_id)
        ids.check("input id" if task_id == "inputs" else "task run id", run_id)
        folders = [p for p in namespace.split(".") if p]
        return inside(self.root, *folders, flow_id, "executions", execution_id, "tasks", task_id, run_id,
                      safe_name(name))

    def namespace(self, namespace: str) -> NamespaceTree:
        """The namespace files of `namespace` (`<namespace folders>/_files/` under this root)."""
        from lanner.storage.namespace_files import NamespaceTree

        return NamespaceTree(self.root, namespace)

    def uri(self, target: Path) -> str:
        return "kestra:///" + target.relative_to(self.root.resolve()).as_posix()

    def put(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str, name: str,
            data: bytes) -> str:
        target = self.target(namespace, flow_id, execution_id, task_id, run_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return self.uri(target)

    def put_stream(self, namespace: str, flow_id: str, execution_id: str, task_id: str, run_id: str, name: str,
                   source: BinaryIO) -> str:
        """Copy an upload in chunks (never whole in memory) through a temporary file renamed at the
        end, so a failed copy leaves nothing behind."""
        target = self.target(namespace, flow_id, execution_id, task_id, run_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, source)
        return self.uri(target)

    def write(self, uri: str, data: bytes) -> None:
        """Store `data` at a URI named beforehand (`Surroundings.file_uri`: a file the executor
        decided to keep), replacing what a decision taken again before a crash wrote there."""
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, data)

    def remove(self, uri: str) -> bool:
        """Delete a stored file and the folders it leaves empty (up to the storage root).

        Returns whether there was a file to delete (the `Delete` task reports it)."""
        target = self.path(uri)
        existed = target.is_file()
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        self._prune(target.parent)
        return existed

    def _prune(self, parent: Path) -> None:
        """Remove `parent` and its ancestors while they are empty, stopping at the storage root."""
        base = self.root.resolve()
        while parent != base and parent.is_relative_to(base):
            try:
                parent.rmdir()
            except OSError:  # not empty (other files of the execution) or already gone: stop here
                break
            parent = parent.parent

    def path(self, uri: str) -> Path:
        if not uri.startswith("kestra://"):
            raise LannerError(f"`{uri}` is not an internal-storage URI",
                              hint="use a kestra:///… URI from a task output")
        rel = uri[len("kestra://"):].lstrip("/")
        try:
            return inside(self.root, rel)
        except LannerError:
            raise LannerError(f"`{uri}` points outside internal storage", hint="use a URI produced by a task") from None

    def get(self, uri: str) -> bytes:
        target = self.path(uri)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise LannerError(f"no file at `{uri}`", hint="check the task output that produced it") from None

    def size(self, uri: str) -> int:
        target = self.path(uri)
        if not target.is_file():
            raise LannerError(f"no file at `{uri}`", hint="check the task output that produced it")
        return target.stat().st_size

    def purge_execution(self, namespace: str, flow_id: str, execution_id: str) -> list[str]:
        """Delete every file of an execution (its inputs' and its tasks'); returns their URIs."""
        ids.check("namespace", namespace)
        ids.check("flow id", flow_id)
        ids.check("execution id", execution_id)
        folder = inside(self.root, *[p for p in namespace.split(".") if p], flow_id, "executions", execution_id)
        if not folder.is_dir():
            return []
        uris = [self.uri(path) for path in sorted(folder.rglob("*")) if path.is_file()]
        shutil.rmtree(folder, ignore_errors=True)
        self._prune(folder.parent)
        return uris

    # -- task states (`…state.Set|Get|Delete`) ------------------------------------------------
    # Kept apart from executions' files, under `_states/` (no namespace starts with `_`), per
    # namespace and flow, or per namespace alone (`_namespace`: no flow id starts with `_`), so
    # purging an execution's files never takes a state with it.

    def state_target(self, namespace: str, flow_id: str | None, name: str, value_key: str) -> Path:
        ids.check("namespace", namespace)
        if flow_id is not None:
            ids.check("flow id", flow_id)
        return inside(self.root, "_states", namespace, flow_id or "_namespace", _state_folder(name),
                      safe_name(value_key) + ".json")

    def put_state(self, target: Path, data: bytes) -> str:
        _replace(target, data)
        return self.uri(target)

    # -- WorkingDirectory caches --------------------------------------------------------------
    # One archive per namespace, flow, task and loop value, under `_caches/` (no namespace starts
    # with `_`): apart from executions' files, so purging executions keeps it, as in Kestra.

    def cache_target(self, namespace: str, flow_id: str, task_id: str, value: str | None) -> Path:
        ids.check("namespace", namespace)
        ids.check("flow id", flow_id)
        key = "_" if value is None else _digest(value, 32)
        return inside(self.root, "_caches", namespace, flow_id, safe_name(task_id), key + ".zip")

    def put_cache(self, target: Path, data: bytes) -> None:
        _replace(target, data)

    def remove_cache(self, target: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        self._prune(target.parent)

    def remove_state(self, target: Path) -> bool:
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        self._prune(target.parent)
        return True


def _replace(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file renamed over it: a reader sees the old
    content or the new, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _state_folder(name: str) -> str:
    """A state name as one folder: its safe form, with a digest when that form lost characters
    (so `a b` and `a_b` stay two states)."""
    safe = safe_name(name)
    if safe == name:
        return safe
    return f"{safe}-{_digest(name, 16)}"


def _digest(text: str, length: int) -> str:
    """The first `length` hex digits of `text`'s SHA-256. hashlib is imported here: loading OpenSSL
    is ~2 ms of every `lanner run`'s start-up, and few runs name a cache or an odd state."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:length]
