"""`WorkingDirectory` `cache`: files kept between executions of the flow, as in Kestra.

When the folder is made, the task's archive (one per namespace, flow, task id and loop value, in
internal storage under `_caches/`, `storage/files.py`) is unpacked into it, unless it is older
than `ttl`, in which case it is deleted. When the WorkingDirectory run ends well (SUCCESS or
WARNING), the files matching `patterns` (globs relative to the folder, `**` crossing folders)
are archived again, but only if one of them changed since the archive was made: unpacked files
keep the time they were archived with, so a file newer than the archive is one a task wrote.
A run that ended badly leaves the archive as it was (a half-done install is not kept).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

from lanner.model.execution import TaskRun
from lanner.model.state import StateType
from lanner.storage.files import LocalFiles

KEEPS = (StateType.SUCCESS, StateType.WARNING)


def _target(files: LocalFiles, namespace: str, flow_id: str, run: TaskRun) -> Path:
    return files.cache_target(namespace, flow_id, run.task_id, run.value)


def restore(files: LocalFiles, namespace: str, flow_id: str, run: TaskRun, cache: Any, folder: Path) -> str | None:
    """Unpack the task's archive into `folder`; a sentence for the log, or None when there is none."""
    target = _target(files, namespace, flow_id, run)
    if not target.is_file():
        return None
    age = dt.timedelta(seconds=max(time.time() - target.stat().st_mtime, 0))
    ttl: dt.timedelta | None = cache.ttl
    if ttl is not None and age > ttl:
        files.remove_cache(target)
        return f"Cache older than its ttl ({ttl}): deleted, the folder starts without it"
    base = folder.resolve()
    count = 0
    with zipfile.ZipFile(target) as archive:
        for entry in archive.infolist():
            path = (base / entry.filename).resolve()
            if entry.is_dir() or not path.is_relative_to(base) or path == base:
                continue  # an entry that would land outside the folder is never written
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(entry))
            stamp = time.mktime((*entry.date_time, 0, 0, -1))
            os.utime(path, (stamp, stamp))
            count += 1
    return f"Cache restored: {count} file(s)"


def save(files: LocalFiles, namespace: str, flow_id: str, run: TaskRun, cache: Any, folder: Path) -> str | None:
    """Archive the files matching the patterns, when one changed; a sentence for the log."""
    from lanner.plugins.scripts.support import glob_regex

    if run.current not in KEEPS:
        return None
    target = _target(files, namespace, flow_id, run)
    made = target.stat().st_mtime if target.is_file() else None
    patterns = [glob_regex(p) for p in cache.patterns]
    matched = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                     and any(r.fullmatch(p.relative_to(folder).as_posix()) for r in patterns))
    if not matched:
        return "Cache: no file matches its patterns; nothing kept"
    if made is not None and all(p.stat().st_mtime <= made for p in matched):
        return "Cache unchanged: the kept archive stays"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in matched:
            archive.write(path, path.relative_to(folder).as_posix())
    files.put_cache(target, buffer.getvalue())
    return f"Cache saved: {len(matched)} file(s)"
