"""The namespace key-value store (Kestra's KV store), kept in internal storage as plain files.

One file per key, `<storage>/_kv/<namespace>/<key>`, holding the typed value and its metadata
(type, description, creation, update and expiry times) as one JSON document. Keeping value and
metadata in one file is what makes a write atomic without a database: a Set writes a temporary
file beside the target and renames it over, so a reader sees the old document or the new one,
never half of either, and of two concurrent Sets of one key the last rename wins. Embedded runs,
servers and cluster workers that share the storage folder share the store; nothing here touches
the database, so the KV store needs no schema.

`_kv` cannot be mistaken for a namespace folder of execution files: namespaces start with a
letter or digit. Key files are named by the key itself (Kestra's key pattern admits no `/`, and
no leading `.`), temporary files start with `.` so they are never listed as keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lanner.errors import LannerError
from lanner.model import ids

FOLDER = "_kv"
TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
MAX_VALUE_BYTES = 16 * 1024 * 1024  # one value, serialized; larger data belongs in a file output

# Kestra's own wording, so a message searched for in its documentation is found.
KEY_RULE = ("Key must start with an alphanumeric character (uppercase or lowercase) and can contain "
            "alphanumeric characters (uppercase or lowercase), dots (.), underscores (_), and hyphens (-) only.")


class KVError(LannerError):
    """A refused KV operation (bad key, missing or existing key, bad value); shown to users as is."""


class KVExpired(KVError):
    """The key exists but its TTL has passed: it reads as missing, with this reason."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """Kestra's instant format: UTC, milliseconds, `Z`."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise KVError("Key cannot be null or empty", hint="give the key as text, e.g. key: my_key")
    if ids.problem("kv key", key) is not None:
        shown = key if len(key) <= 60 else key[:57] + "…"
        raise KVError(f"invalid KV key `{shown}`: {KEY_RULE}",
                      hint=f"use at most {ids.DEFAULT_MAX} of the characters A-Z a-z 0-9 . _ -, starting with a "
                           "letter or digit")
    return key


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One key's document: the value as stored (JSON-ready) and its metadata."""

    key: str
    type: str
    value: Any
    description: str | None
    created: str
    updated: str
    expires: str | None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires is not None and dt.datetime.fromisoformat(self.expires) <= now

    def listing(self) -> dict[str, Any]:
        """Kestra's KVEntry JSON (the API's list)."""
        return {"key": self.key, "description": self.description, "creationDate": self.created,
                "updateDate": self.updated, "expirationDate": self.expires}


class KVStore:
    """The KV store under one storage root; `clock` is injectable so TTLs are testable."""

    def __init__(self, storage_root: Path, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.root = storage_root / FOLDER
        self.clock = clock

    # -- paths -----------------------------------------------------------------------------------

    def _folder(self, namespace: str) -> Path:
        ids.check("namespace", namespace)
        return self.root / namespace

    def _file(self, namespace: str, key: str) -> Path:
        return self._folder(namespace) / check_key(key)

    # -- reading ---------------------------------------------------------------------------------

    def _load(self, path: Path) -> Entry | None:
        try:
            doc = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise KVError(f"the KV file `{path}` cannot be read: {exc}",
                          hint="delete the key and set it again") from None
        return Entry(path.name, doc["type"], doc["value"], doc.get("description"), doc["created"],
                     doc["updated"], doc.get("expires"))

    def entry(self, namespace: str, key: str) -> Entry | None:
        """The key's document, expired or not (None when there is none)."""
        return self._load(self._file(namespace, key))

    def get(self, namespace: str, key: str) -> Entry | None:
        """The live entry; None when missing; `KVExpired` when its TTL has passed."""
        found = self.entry(namespace, key)
        if found is not None and found.expired(self.clock()):
            raise KVExpired(f"the key '{key}' in namespace '{namespace}' has expired (at {found.expires})",
                            hint="set it again, with a longer ttl or none")
        return found

    def lookup(self, flow_namespace: str, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        """What `kv()` gives: the value in `namespace`, or without one in the flow's namespace and
        then its parents, nearest first. An expired key stops the search (it was found, and has
        expired); missing or expired is an error only when `error_on_missing`."""
        chain = [namespace] if namespace is not None else _parents(flow_namespace)
        for candidate in chain:
            try:
                found = self.get(candidate, key)
            except KVExpired:
                if error_on_missing:
                    raise
                return None
            if found is not None:
                return found.value
        if error_on_missing:
            raise KVError(f"The key '{key}' does not exist in the namespace '{chain[0]}'"
                          + (" or its parents." if len(chain) > 1 else "."),
                          hint="set it with the Set task or the API, or pass errorOnMissing=false to get null")
        return None

    def entries(self, namespace: str, *, include_expired: bool = False) -> list[Entry]:
        """The namespace's entries sorted by key (expired ones left out unless asked for)."""
        folder = self._folder(namespace)
        now = self.clock()
        out = []
        for path in sorted(_key_files(folder)):
            found = self._load(path)
            if found is not None and (include_expired or not found.expired(now)):
                out.append(found)
        return out

    def namespaces(self) -> list[str]:
        """Every namespace that has a KV folder, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and ids.problem("namespace", p.name) is None)

    # -- writing ---------------------------------------------------------------------------------

    def put(self, namespace: str, key: str, kv_type: str, value: Any, *, ttl: dt.timedelta | None = None,
            description: str | None = None, overwrite: bool = True) -> Entry:
        """Store `value` (already of `kv_type`, JSON-ready) atomically; the creation time of an
        existing key is kept. With `overwrite=False` an existing live key is refused."""
        if kv_type not in TYPES:
            raise KVError(f"unknown KV type `{kv_type}`", hint="use one of " + ", ".join(TYPES))
        path = self._file(namespace, key)
        now = self.clock()
        try:
            previous = self.get(namespace, key)
        except KVExpired:
            previous = None
        if previous is not None and not overwrite:
            raise KVError(f"Cannot set value for key '{key}'. Key already exists and `overwrite` is set to `false`.",
                          hint="set overwrite: true, or Delete the key first")
        if ttl is not None and ttl <= dt.timedelta(0):
            raise KVError(f"the ttl must be positive, got {ttl}", hint="give an ISO-8601 duration such as PT1H or P1D")
        entry = Entry(key, kv_type, value, description, previous.created if previous else iso(now), iso(now),
                      iso(now + ttl) if ttl is not None else None)
        data = json.dumps({"type": entry.type, "value": entry.value, "description": entry.description,
                           "created": entry.created, "updated": entry.updated, "expires": entry.expires},
                          ensure_ascii=False).encode("utf-8")
        if len(data) > MAX_VALUE_BYTES:
            raise KVError(f"the value of '{key}' is {len(data)} bytes once stored, more than the "
                          f"{MAX_VALUE_BYTES // (1024 * 1024)} MiB a KV value may hold",
                          hint="store large data as a file (a task output) and keep its URI in the KV store")
        _write_atomically(path, data)
        return entry

    def delete(self, namespace: str, key: str) -> bool:
        """Remove the key; True when there was one (an expired key counts: it was still stored)."""
        path = self._file(namespace, key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def purge(self, namespace: str, keys: list[str]) -> int:
        return sum(1 for key in keys if self.delete(namespace, key))


def _parents(namespace: str) -> list[str]:
    """`a.b.c` → `[a.b.c, a.b, a]`."""
    parts = namespace.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _key_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if not path.name.startswith(".") and path.is_file():
            yield path


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".set-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:  # the half-written temporary file must never stay behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
