"""Namespace files: each namespace's own tree of files, kept in internal storage at
`<namespace as folders>/_files/…` (where Kestra keeps them, so `kestra:///company/team/_files/x.py`
names the same file in both).

Every path a user gives (API query, CLI, template, task property) goes through `clean()` before
it touches the disk: no NUL or control characters, no backslash, no `..` part, no part longer
than a file system allows, nothing under `_flows` (Kestra's folder for flow sources). The tree is
then walked part by part from the namespace's folder, refusing any symbolic link, so a link
planted inside the tree cannot lead a read or a write elsewhere. Writes go through a temporary
file renamed at the end, so a failed upload leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from lanner.errors import LannerError
from lanner.model import ids
from lanner.storage.files import write_atomically

FOLDER = "_files"
FLOWS_FOLDER = "_flows"
MAX_NAME_BYTES = 255  # one file or folder name (ext4, APFS, NTFS)
MAX_PATH_CHARS = 1024
MAX_DEPTH = 32
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_BYTES = 512 * 1024 * 1024  # unpacked, all entries together: a zip bomb stops here
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BadPath(LannerError):
    """A namespace file path that is refused as written (the API answers 400)."""


class NoSuchFile(LannerError):
    """The path is well formed but nothing is there (the API answers 404)."""


def clean(path: str) -> PurePosixPath:
    """The relative path a user's `path` names inside a namespace's tree (`""` is the root).

    A leading `/` is the namespace's root, as in Kestra's API (`?path=/scripts/a.py`).
    """
    hint = "write a path inside the namespace, such as /scripts/main.py"
    if not isinstance(path, str):
        raise BadPath("a namespace file path must be text", hint=hint)
    if len(path) > MAX_PATH_CHARS:
        raise BadPath(f"the path is {len(path)} characters long; at most {MAX_PATH_CHARS} are allowed", hint=hint)
    if _CONTROL.search(path):
        raise BadPath("the path contains a NUL or control character", hint=hint)
    if "\\" in path:
        raise BadPath(f"`{path}` contains a backslash; namespace paths use `/`", hint=hint)
    parts = [p for p in path.split("/") if p and p != "."]  # `./a` is `a`, as a file system reads it
    for part in parts:
        if part == "..":
            raise BadPath(f"`{path}` contains `{part}`; namespace paths cannot climb out of the namespace", hint=hint)
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise BadPath(f"a file or folder name in the path is longer than {MAX_NAME_BYTES} bytes", hint=hint)
    if len(parts) > MAX_DEPTH:
        raise BadPath(f"the path is {len(parts)} folders deep; at most {MAX_DEPTH} are allowed", hint=hint)
    if parts and parts[0] == FLOWS_FOLDER:
        raise BadPath(f"`/{FLOWS_FOLDER}` is reserved for flow sources",
                      hint="deploy flows through the flows API or `lanner validate` + the UI editor")
    return PurePosixPath(*parts) if parts else PurePosixPath("")


def folder_of(storage_root: Path, namespace: str) -> Path:
    """Where a namespace's files live, below the internal storage root."""
    ids.check("namespace", namespace)
    return storage_root.joinpath(*namespace.split("."), FOLDER)


_EXECUTION_ID = re.compile(r"^[A-Za-z0-9]{22}$")


def namespaces_with_files(storage_root: Path) -> list[str]:
    """Every namespace that has a `_files` folder below the storage root, sorted.

    Namespace folders are walked down from the root without following links. Execution files
    live at `<namespace folders>/<flow id>/executions/<execution id>/…`: the folders of a flow's
    executions (an `executions` folder's children named like execution ids) are not entered, so
    the walk costs one listing per namespace and flow folder, not one per execution.
    """
    found: list[str] = []
    stack: list[tuple[Path, tuple[str, ...]]] = [(storage_root, ())]
    while stack:
        folder, parts = stack.pop()
        try:
            children = list(os.scandir(folder))
        except OSError:  # gone meanwhile, or not readable: nothing to list there
            continue
        for child in children:
            if not child.is_dir(follow_symlinks=False):
                continue
            name = child.name
            if name == FOLDER and parts:
                found.append(".".join(parts))
            elif (ids.problem("namespace", name) is None and "." not in name and len(parts) < MAX_DEPTH
                  and not (folder.name == "executions" and _EXECUTION_ID.match(name))):
                stack.append((Path(child.path), (*parts, name)))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder, as Kestra's FileAttributes describes it."""

    path: str  # from the namespace root, with a leading `/`
    name: str
    is_dir: bool
    size: int
    modified_ms: int
    created_ms: int

    def as_json(self) -> dict[str, object]:
        return {"fileName": self.name, "lastModifiedTime": self.modified_ms, "creationTime": self.created_ms,
                "type": "Directory" if self.is_dir else "File", "size": self.size, "metadata": {}}


def _entry(rel: PurePosixPath, info: os.stat_result) -> Entry:
    is_dir = stat.S_ISDIR(info.st_mode)
    created = getattr(info, "st_birthtime", None) or info.st_ctime
    return Entry("/" + rel.as_posix() if rel.parts else "/", rel.name or "/", is_dir, 0 if is_dir else info.st_size,
                 int(info.st_mtime * 1000), int(created * 1000))


class NamespaceTree:
    """The files of one namespace. Paths are user text; see `clean()`."""

    def __init__(self, storage_root: Path, namespace: str) -> None:
        self.namespace = namespace
        self.base = folder_of(storage_root, namespace)
        self._storage_root = storage_root

    # -- locating -----------------------------------------------------------------------------

    def locate(self, path: str | PurePosixPath) -> tuple[PurePosixPath, Path]:
        """The cleaned relative path and where it is on disk; refused if any existing part is a link."""
        rel = path if isinstance(path, PurePosixPath) else clean(path)
        current = self.base
        for part in ("", *rel.parts):
            current = current / part if part else current
            try:
                info = current.lstat()
            except FileNotFoundError:
                break
            except OSError as exc:  # ENAMETOOLONG and the like: the name cannot exist
                raise BadPath(f"`/{rel.as_posix()}` cannot be a file here ({exc.strerror})") from None
            if stat.S_ISLNK(info.st_mode):
                raise BadPath(f"`/{rel.as_posix()}` goes through a symbolic link, which namespace files never follow",
                              hint="remove the link from the storage folder")
        return rel, self.base.joinpath(*rel.parts)

    def uri(self, path: str) -> str:
        """The `kestra://` URI of a namespace file, as Kestra writes it."""
        rel, _ = self.locate(path)
        folders = "/".join(self.namespace.split("."))
        return f"kestra:///{folders}/{FOLDER}/{rel.as_posix()}"

    def _missing(self, rel: PurePosixPath) -> NoSuchFile:
        return NoSuchFile(f"no namespace file `/{rel.as_posix()}` in namespace `{self.namespace}`")

    # -- reading ------------------------------------------------------------------------------

    def stats(self, path: str) -> Entry:
        rel, target = self.locate(path)
        if not rel.parts and not target.exists():
            self.base.mkdir(parents=True, exist_ok=True)  # the root of a namespace always exists, empty at first
        try:
            return _entry(rel, target.lstat())
        except FileNotFoundError:
            raise self._missing(rel) from None

    def children(self, path: str = "/") -> list[Entry]:
        """A folder's children, folders first then files, each by name."""
        rel, target = self.locate(path)
        if not rel.parts:
            self.base.mkdir(parents=True, exist_ok=True)
        if not target.is_dir():
            raise (BadPath(f"`/{rel.as_posix()}` is a file, not a directory") if target.exists()
                   else NoSuchFile(f"no directory `/{rel.as_posix()}` in namespace `{self.namespace}`"))
        out = []
        for child in target.iterdir():
            info = child.lstat()
            if stat.S_ISLNK(info.st_mode) or child.name.startswith(".upload-"):
                continue  # links are never followed; unfinished uploads are not files yet
            out.append(_entry(rel / child.name, info))
        return sorted(out, key=lambda e: (not e.is_dir, e.name))

    def read(self, path: str) -> bytes:
        rel, target = self.locate(path)
        if target.is_dir():
            raise BadPath(f"`/{rel.as_posix()}` is a directory, not a file",
                          hint="list it with the files/directory route instead")
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise self._missing(rel) from None

    def open(self, path: str) -> BinaryIO:
        """A file's content as a stream (for large files: the API never loads them whole)."""
        rel, target = self.locate(path)
        if target.is_dir():
            raise BadPath(f"`/{rel.as_posix()}` is a directory, not a file")
        try:
            return target.open("rb")
        except FileNotFoundError:
            raise self._missing(rel) from None

    def files(self) -> list[str]:
        """Every file of the namespace, as a path from its root without the leading `/`, sorted."""
        if not self.base.is_dir() or self.base.is_symlink():
            return []
        out = []
        for folder, dirs, names in os.walk(self.base, followlinks=False):
            here = Path(folder)
            dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
            for name in names:
                full = here / name
                if not full.is_symlink() and not name.startswith(".upload-"):
                    out.append(full.relative_to(self.base).as_posix())
        return sorted(out)

    def search(self, text: str) -> list[str]:
        """Paths (with a leading `/`) that contain `text`."""
        return ["/" + p for p in self.files() if text in "/" + p]

    # -- writing ------------------------------------------------------------------------------

    def _parent_for(self, rel: PurePosixPath) -> Path:
        if not rel.parts:
            raise BadPath("the namespace root is a directory; give a file path", hint="write e.g. /scripts/main.py")
        parent = self.base.joinpath(*rel.parts[:-1])
        existing = self.base
        for part in rel.parts[:-1]:  # a file where a folder should be cannot hold the new file
            existing = existing / part
            if existing.exists() and not existing.is_dir():
                raise BadPath(f"`/{PurePosixPath(*existing.relative_to(self.base).parts).as_posix()}` is a file, "
                              "so it cannot hold other files")
        parent.mkdir(parents=True, exist_ok=True)
        return parent

    def write(self, path: str, source: Readable) -> Entry:
        """Store a file, replacing one already there; copied in chunks, renamed into place at the end."""
        rel, target = self.locate(path)
        if target.is_dir():
            raise BadPath(f"`/{rel.as_posix()}` is a directory; a file cannot replace it")
        self._parent_for(rel)
        self.locate(rel)  # the folders just made are ours; check again that none is a link (a race)
        write_atomically(target, source)
        return _entry(rel, target.lstat())

    def write_bytes(self, path: str, data: bytes) -> Entry:
        return self.write(path, io.BytesIO(data))

    def make_directory(self, path: str) -> None:
        rel, target = self.locate(path)
        if target.exists() and not target.is_dir():
            raise BadPath(f"`/{rel.as_posix()}` is a file; a directory cannot replace it")
        if rel.parts:
            self._parent_for(rel)
        target.mkdir(parents=True, exist_ok=True)

    def move(self, source: str, destination: str) -> None:
        """Move or rename a file or a directory; refused when the destination exists (nothing overwritten)."""
        src_rel, src = self.locate(source)
        dst_rel, dst = self.locate(destination)
        if not src_rel.parts or not dst_rel.parts:
            raise BadPath("the namespace root cannot be moved, nor replaced")
        if not src.exists():
            raise self._missing(src_rel)
        if dst.exists():
            raise BadPath(f"`/{dst_rel.as_posix()}` already exists", hint="delete it first, or choose another name")
        if dst_rel.is_relative_to(src_rel):
            raise BadPath(f"`/{src_rel.as_posix()}` cannot be moved inside itself")
        self._parent_for(dst_rel)
        os.replace(src, dst)

    def delete(self, path: str) -> None:
        """Delete a file or a whole directory; the namespace root is emptied, not removed."""
        rel, target = self.locate(path)
        if not target.exists():
            raise self._missing(rel)
        if target.is_dir():
            if rel.parts:
                shutil.rmtree(target)
            else:
                for child in list(target.iterdir()):
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        else:
            target.unlink()

    # -- archives -----------------------------------------------------------------------------

    def unpack(self, archive: BinaryIO, into: str = "/") -> list[str]:
        """Store every file of a zip below `into`; each entry's name is checked as a path.

        The whole archive is checked before anything is written (names, entry count, unpacked
        size), so a refused archive leaves the namespace unchanged.
        """
        base = clean(into)
        try:
            zf = zipfile.ZipFile(archive)
        except zipfile.BadZipFile:
            raise BadPath("the upload ends in .zip but is not a zip archive") from None
        with zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > ZIP_MAX_ENTRIES:
                raise BadPath(f"the archive has {len(members)} files; at most {ZIP_MAX_ENTRIES} are unpacked")
            if sum(m.file_size for m in members) > ZIP_MAX_BYTES:
                raise BadPath(f"the archive unpacks to more than {ZIP_MAX_BYTES} bytes")
            targets = [(m, clean((base / clean(m.filename)).as_posix())) for m in members]
            for _member, rel in targets:
                self.locate(rel)
            written = []
            for member, rel in targets:
                with zf.open(member) as data:
                    self.write(rel.as_posix(), _Capped(data, member.file_size))
                written.append("/" + rel.as_posix())
        return written

    def export(self, out: BinaryIO) -> None:
        """Every file of the namespace into a zip written to `out`, paths from the root."""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in self.files():
                rel_path, target = self.locate(rel)
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile: not exported
                    zf.write(target, rel_path.as_posix())

    def walk(self) -> Iterator[tuple[str, Path]]:
        """Each file's path from the root and where it is (read while it is copied elsewhere)."""
        for rel in self.files():
            yield rel, self.base.joinpath(*PurePosixPath(rel).parts)


class _Capped:
    """A zip member's stream, cut at the size its header declares (a lying header stops there)."""

    def __init__(self, source: Readable, limit: int) -> None:
        self._source = source
        self._left = limit

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size < 0 else min(size, self._left)
        data = self._source.read(want)
        self._left -= len(data)
        return data
