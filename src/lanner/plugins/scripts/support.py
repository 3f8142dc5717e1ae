"""What every command-running task shares: Kestra's stdout protocol, files in and out, rendering.

Scripts and containers talk back to the orchestrator only through their output lines, so the
same rules apply whether a line came from a host process or a container: a whole line
`::{"outputs": {...}}::` merges into the task's `vars`, `::{"logs": [...]}::` becomes log lines,
`::{"metrics": [...]}::` is acknowledged (Lanner keeps no metrics yet), and any other line is a
log line — INFO from stdout, WARN from stderr, as Kestra's default log consumer does.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from lanner.errors import LannerError
from lanner.model.property import Bool
from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.properties import render_bool, render_list, render_str

_PROTOCOL = re.compile(r"^::(\{.*\})::$")
_LEVELS = {"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "WARN": "warn", "WARNING": "warn", "ERROR": "error"}
MAX_LINE = 1 << 20  # a line longer than this (no newline in 1 MiB) is logged in pieces


class LineSink:
    """Receives the output lines of one command; thread-safe (stdout and stderr arrive concurrently)."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self.vars: dict[str, Any] = {}
        self.stdout_lines = 0
        self.stderr_lines = 0

    def line(self, text: str, stderr: bool) -> None:
        text = text.rstrip("\r")
        if not text.strip():
            return  # Kestra's line splitter drops empty lines too
        match = _PROTOCOL.match(text.strip())
        if match and self._protocol(match.group(1)):
            return
        log = self._ctx.logger
        with self._lock:
            if stderr:
                self.stderr_lines += 1
            else:
                self.stdout_lines += 1
        log.warn(text) if stderr else log.info(text)

    def _protocol(self, payload: str) -> bool:
        """Apply one `::{...}::` line; False when it is not valid JSON (then it is logged as is)."""
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            self._ctx.logger.warn(f"Invalid outputs line, not JSON ({exc.msg}); logged as is")
            return False
        if not isinstance(data, dict):
            return False
        outputs = data.get("outputs")
        if isinstance(outputs, Mapping):
            with self._lock:
                self.vars.update(outputs)
        metrics = data.get("metrics")
        if isinstance(metrics, list) and metrics:
            names = ", ".join(str(m.get("name")) for m in metrics if isinstance(m, Mapping))
            self._ctx.logger.debug(f"Metrics received and not kept: {names}")
        for entry in data.get("logs") or []:
            if isinstance(entry, Mapping):
                level = _LEVELS.get(str(entry.get("level", "INFO")).upper(), "info")
                getattr(self._ctx.logger, level)(str(entry.get("message", "")))
        return True


class LineBuffer:
    """Cuts a byte stream into lines, keeping an unfinished line (and a split UTF-8 character) for later."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> list[str]:
        text = self._pending + self._decoder.decode(data)
        *lines, self._pending = text.split("\n")
        if len(self._pending) > MAX_LINE:
            lines.append(self._pending)
            self._pending = ""
        return lines

    def flush(self) -> list[str]:
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return [rest] if rest else []


def replay(stdout: Path, stderr: Path, on_line: Callable[[str, bool], None]) -> None:
    """Feed a finished command's recorded output to `on_line`, stdout first, as if it were running.

    Used when an attempt adopts an earlier one whose command had finished (`lanner.worker.
    attempt_notes`): its `::{"outputs":…}::` lines then set `vars` as they did the first time.
    Each stream keeps its line order; how they interleaved is not recorded.
    """
    for path, is_stderr in ((stdout, False), (stderr, True)):
        buffer = LineBuffer()
        try:
            data = path.read_bytes()
        except OSError:  # the command wrote nothing there
            continue
        for line in buffer.feed(data) + buffer.flush():
            on_line(line, is_stderr)


# -- rendering typed properties -------------------------------------------------------------


def _scalars_as_text(value: Any) -> Any:
    """YAML reads `- true` or `- 1` in a command list as a boolean or a number; Kestra (Jackson)
    takes them as the text written, so a command list accepts them as that text too."""
    if isinstance(value, list):
        return [str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, (int, float)) else v
                for v in value]
    return value


# A `Property<List<String>>` of commands or arguments: a YAML list, or a template rendering to one.
StringList = Annotated[list[str] | str, BeforeValidator(_scalars_as_text)]


def render_env(ctx: RunContext, value: Mapping[str, Any] | str | None) -> dict[str, str]:
    if value is None:
        return {}
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(dict(value))
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError:
            raise TaskFailure("`env` must be a map of names to values") from None
    if not isinstance(rendered, Mapping):
        raise TaskFailure("`env` must be a map of names to values")
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in rendered.items()}


def add_variables(ctx: RunContext, extra: Mapping[str, Any]) -> None:
    """Expose `{{ workingDir }}` / `{{ outputDir }}` to the task's own rendering, as Kestra does.

    The RunContext protocol renders with `ctx.variables` and has no way to pass extra names, so
    this task's context (one per attempt) gets a copy of its variables with them added.
    """
    try:
        ctx.variables = {**ctx.variables, **extra}
    except (AttributeError, TypeError):  # pragma: no cover - a read-only context: templates just lack them
        ctx.logger.debug("this run context does not accept extra variables; {{ workingDir }} is not available")


# -- files ----------------------------------------------------------------------------------


def _relative(name: str, what: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or name.startswith("./"):
        raise TaskFailure(f"Invalid {what} `{name}`: only a relative path inside the working directory is allowed")
    return path


def write_input_files(ctx: RunContext, workdir: Path, input_files: Any) -> list[str]:
    """Create `inputFiles` in the working directory: text content, or a `kestra://` file copied out of storage."""
    if input_files is None:
        return []
    files = ctx.render_typed(input_files) if isinstance(input_files, str) else input_files
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except json.JSONDecodeError:
            raise TaskFailure("`inputFiles` must be a map of file names to contents or kestra:// URIs") from None
    if not isinstance(files, Mapping):
        raise TaskFailure("`inputFiles` must be a map of file names to contents or kestra:// URIs")
    written: list[str] = []
    for raw_name, raw_content in files.items():
        if raw_content is None:
            continue
        name = str(ctx.render(str(raw_name)))
        rel = _relative(name, "input file name")
        content = ctx.render(raw_content) if isinstance(raw_content, str) else json.dumps(raw_content)
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("kestra://"):
            target.write_bytes(ctx.read_file(content.strip()))
        else:
            target.write_text(content, encoding="utf-8")
        written.append(str(rel))
    return written


# Kestra's pattern for an internal-storage URI inside a command line.
_STORAGE_URI = re.compile(r"kestra://[-a-zA-Z0-9%._+~#=/]*")


def names_storage_uri(lines: list[str]) -> bool:
    """Whether a command line names a `kestra://` file (then it needs a working directory)."""
    return any(_STORAGE_URI.search(line) for line in lines)


def storage_uris_as_files(ctx: RunContext, workdir: Path, lines: list[str], in_docker: bool) -> list[str]:
    """Command lines with each `kestra://` URI they name replaced by a local copy of that file,
    as Kestra's script tasks do: `cat {{ outputs.x.uri }}` reads the file, not a URI no program
    understands. The copy is made in the working directory, and named by its absolute path on
    the host, by its path relative to the working directory in a container (where that folder is
    the working directory too). The same URI named twice is copied once."""
    copies: dict[str, str] = {}

    def local(match: re.Match[str]) -> str:
        uri = match.group(0)
        if uri not in copies:
            name = PurePosixPath(uri).name or "file"
            target = workdir / f"storage-{len(copies) + 1}-{name}"
            try:
                target.write_bytes(ctx.read_file(uri))
            except TaskFailure:
                raise
            except Exception as exc:  # noqa: BLE001 - a URI that names no stored file fails the task, said plainly
                raise TaskFailure(f"`{uri}` in the commands could not be read from internal storage: {exc}") from None
            copies[uri] = target.name if in_docker else str(target)
        return copies[uri]

    return [_STORAGE_URI.sub(local, line) for line in lines]


def collect_output_files(ctx: RunContext, workdir: Path, patterns: list[str],
                         output_dir: Path | None) -> dict[str, str]:
    """Store every file matching an `outputFiles` glob (and everything in the output dir); name → kestra:// URI."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        _relative(pattern, "outputFiles pattern")
        # A trailing `**` means every file below (as in Kestra); pathlib's matches only folders.
        for path in sorted(workdir.glob(pattern + "/*" if pattern.endswith("**") else pattern)):
            if path.is_file():
                found.setdefault(path.relative_to(workdir).as_posix(), path)
    if output_dir is not None and _holds_anything(output_dir):
        for path in sorted(output_dir.rglob("*")):
            if path.is_file():
                found.setdefault(path.relative_to(output_dir).as_posix(), path)
    # Storage keeps only a file's base name: flatten sub-folders so `a/x.txt` and `b/x.txt` stay apart.
    return {name: ctx.put_file(name.replace("/", "__"), path.read_bytes()) for name, path in found.items()}


def _holds_anything(folder: Path) -> bool:
    """Is `folder` a folder with something in it? One look, where walking an empty output folder
    (what most tasks leave) reads it twice."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


# -- namespace files --------------------------------------------------------------------------


class NamespaceFilesOptions(BaseModel):
    """Kestra's `namespaceFiles` block of script tasks (all six properties of its open-source edition)."""

    model_config = ConfigDict(extra="forbid")

    enabled: Bool = True  # Kestra's default: giving only include/exclude is enough
    include: list[str] | str | None = None
    exclude: list[str] | str | None = None
    namespaces: list[str] | str | None = None  # default: the flow's namespace; a later one wins a clash
    ifExists: str = "OVERWRITE"  # OVERWRITE, FAIL, WARN (keep the file there, say so), IGNORE (keep it, silently)
    folderPerNamespace: Bool = False

    @field_validator("ifExists")
    @classmethod
    def _known_behaviour(cls, value: str) -> str:
        """Refused at validate unless a template decides it at run time."""
        if value not in _IF_EXISTS and "{{" not in value:
            raise ValueError(f"must be one of {', '.join(_IF_EXISTS)}, got `{value}`")
        return value


_IF_EXISTS = ("OVERWRITE", "FAIL", "WARN", "IGNORE")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Java NIO glob (`**`, `*`, `?`, `[…]`, `{a,b}`) as a regex over `/`-separated paths.

    `**/` also matches no folder at all, so `**/*.py` finds `main.py` at the root too.
    """
    out, i, braces = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append("(?!/)[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "{" and not braces:
            out.append("(?:")
            braces = True
        elif c == "}" and braces:
            out.append(")")
            braces = False
        elif c == "," and braces:
            out.append("|")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + ("" if not braces else ")"))
    except re.error as exc:
        raise TaskFailure(f"Invalid namespaceFiles pattern `{pattern}`: {exc.msg}") from None


def path_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Whether a namespace file (its path from the root, no leading `/`) matches one of `patterns`.

    As in Kestra: `regex:` and `glob:` prefixes choose the syntax (glob by default); a pattern
    that starts with a letter, digit or `_` matches at any depth (`main.py` is `**/main.py`);
    paths are matched as `/dir/file`. Lanner also tries `dir/file`, so `*.py` finds the files at
    the root (in Kestra it matches nothing, a common surprise).
    """
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if pattern.startswith("regex:"):
            try:
                compiled.append(re.compile(pattern[len("regex:"):]))
            except re.error as exc:
                raise TaskFailure(f"Invalid namespaceFiles pattern `{pattern}`: {exc.msg}") from None
        else:
            glob = pattern[len("glob:"):] if pattern.startswith("glob:") else pattern
            if re.match(r"\w", glob) and not pattern.startswith("glob:"):
                glob = "**/" + glob
            compiled.append(glob_regex(glob))
    return lambda rel: any(c.fullmatch("/" + rel) or c.fullmatch(rel) for c in compiled)


def load_namespace_files(ctx: RunContext, workdir: Path, options: NamespaceFilesOptions | None) -> list[str]:
    """Copy the matching namespace files into the working directory before the command runs.

    Returns their paths in the working directory. Namespaces are read in the given order; when
    two hold the same path, the later one's file is the one copied (Kestra's rule).
    """
    if options is None or not render_bool(ctx, options.enabled, "namespaceFiles.enabled"):
        return []
    tree_of = getattr(ctx, "namespace_files", None)
    if tree_of is None:
        raise TaskFailure("namespaceFiles need a worker with internal storage; this run context has none")
    include = render_list(ctx, options.include, "namespaceFiles.include")
    exclude = render_list(ctx, options.exclude, "namespaceFiles.exclude")
    flow = ctx.variables.get("flow")
    own = str(flow.get("namespace")) if isinstance(flow, Mapping) else ""
    namespaces = render_list(ctx, options.namespaces, "namespaceFiles.namespaces") or [own]
    if_exists = (render_str(ctx, options.ifExists) or "").strip().upper()
    if if_exists not in _IF_EXISTS:
        raise TaskFailure(f"`namespaceFiles.ifExists` must be one of {', '.join(_IF_EXISTS)}, got `{if_exists}`")
    per_namespace = render_bool(ctx, options.folderPerNamespace, "namespaceFiles.folderPerNamespace")
    wanted = path_matcher(include) if include else (lambda _rel: True)
    unwanted = path_matcher(exclude) if exclude else (lambda _rel: False)
    chosen: dict[str, Path] = {}
    for namespace in namespaces:
        try:
            found = list(tree_of(namespace).walk())
        except LannerError as exc:
            raise TaskFailure(f"namespaceFiles: {exc.message}") from None
        for rel, source in found:
            if wanted(rel) and not unwanted(rel):
                chosen[f"{namespace}/{rel}" if per_namespace else rel] = source
    for rel, source in chosen.items():
        target = workdir / rel
        if target.exists() or target.is_symlink():
            if if_exists == "FAIL":
                raise TaskFailure(f"namespaceFiles: `{rel}` already exists in the working directory "
                                  "(ifExists: FAIL)")
            if if_exists == "WARN":
                ctx.logger.warn(f"namespaceFiles: `{rel}` already exists in the working directory; kept as it is")
            if if_exists != "OVERWRITE":
                continue
            if target.is_dir() and not target.is_symlink():
                raise TaskFailure(f"namespaceFiles: `{rel}` is a directory in the working directory; "
                                  "a file cannot replace it")
            target.unlink()  # a link left there must not carry the copy elsewhere
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    ctx.logger.info(f"Loaded {len(chosen)} namespace files from '{', '.join(namespaces)}'")
    return list(chosen)
