"""Kestra's `…core.storage.*` tasks on files of internal storage (`kestra://` URIs): Write,
Concat, Size, Delete, PurgeCurrentExecutionFiles; Split and Reverse (line by line) are in
`storage_lines.py`, LocalFiles in `local_files.py`.

Each new file is stored under the task run (`RunContext.put_file`), named after the task with
the extension Kestra would give it (`.tmp` when none is said), so a flow reading `uri` gets the
same kind of URI as in Kestra.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import ValidationInfo, field_validator

from lanner.model.property import Bool
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.core.refusals import refuse_when_set
from lanner.plugins.core.storage_service import storage_of
from lanner.plugins.properties import render_bool, render_list, render_str


def file_name(task_id: str, extension: str | None, suffix: str = "") -> str:
    """`<task id><suffix><extension>`, the extension with its dot whether or not it was written with one."""
    ext = extension or ".tmp"
    if not ext.startswith("."):
        ext = "." + ext
    return f"{task_id}{suffix}{ext}"


def extension_of(uri: str) -> str:
    """The extension of a stored file, as Kestra takes it for files it derives (`.tmp` without one)."""
    name = uri.rsplit("/", 1)[-1]
    return name[name.rindex("."):] if "." in name else ".tmp"


def render_uri(ctx: RunContext, value: str, name: str) -> str:
    uri = (render_str(ctx, value) or "").strip()
    if not uri.startswith("kestra://"):
        raise TaskFailure(f"`{name}` must be a kestra:// URI of internal storage, got `{uri[:120]}`")
    return uri


class Write(RunnableTask):
    """Store `content` as a new file of internal storage."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the written file"),
    )

    acts_outside: ClassVar[bool] = False  # writes Lanner's own storage only (see RunnableTask)

    content: str
    extension: str | None = None

    def run(self, ctx: RunContext) -> Output:
        content = render_str(ctx, self.content) or ""
        name = file_name(self.id, render_str(ctx, self.extension))
        return Output({"uri": ctx.put_file(name, content.encode("utf-8"))})


class Concat(RunnableTask):
    """Join files of internal storage, in order, into one (`separator` after each file, as Kestra)."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the joined file"),
    )

    acts_outside: ClassVar[bool] = False  # reads and writes Lanner's own storage only

    files: list[str] | str
    separator: str | None = None
    extension: str = ".tmp"

    def run(self, ctx: RunContext) -> Output:
        uris = self._uris(ctx)
        separator = render_str(ctx, self.separator)
        parts: list[bytes] = []
        for uri in uris:
            parts.append(ctx.read_file(render_uri(ctx, uri, "files[]")))
            if separator is not None:
                parts.append(separator.encode("utf-8"))
        name = file_name(self.id, render_str(ctx, self.extension))
        return Output({"uri": ctx.put_file(name, b"".join(parts))})

    def _uris(self, ctx: RunContext) -> list[str]:
        if isinstance(self.files, list):
            return render_list(ctx, self.files, "files")
        rendered = ctx.render_typed(self.files)
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered)
            except json.JSONDecodeError:
                raise TaskFailure("`files` must be a list of kestra:// URIs or the JSON text of one, "
                                  f"got `{rendered[:120]}`") from None
        if not isinstance(rendered, list):
            raise TaskFailure(f"`files` must be a list of kestra:// URIs, got a {type(rendered).__name__}")
        return [str(u) for u in rendered]


class Size(RunnableTask):
    """The size in bytes of a file of internal storage."""

    outputs_doc = output_docs(
        size=("integer", "The size of the file in bytes"),
    )

    acts_outside: ClassVar[bool] = False  # reads Lanner's own storage only

    uri: str

    def run(self, ctx: RunContext) -> Output:
        return Output({"size": storage_of(ctx).size(render_uri(ctx, self.uri, "uri"))})


class Delete(RunnableTask):
    """Delete a file of internal storage; a missing one fails the task only with `errorOnMissing`."""

    outputs_doc = output_docs(
        uri=("string", "The URI that was deleted"),
        deleted=("boolean", "Whether the file existed and was deleted"),
    )

    acts_outside: ClassVar[bool] = False  # changes Lanner's own storage only

    uri: str
    errorOnMissing: Bool = False

    def run(self, ctx: RunContext) -> Output:
        uri = render_uri(ctx, self.uri, "uri")
        deleted = storage_of(ctx).delete(uri)
        if not deleted and render_bool(ctx, self.errorOnMissing, "errorOnMissing"):
            raise TaskFailure(f"Unable to find file '{uri}'", outputs={"uri": uri, "deleted": False})
        return Output({"uri": uri, "deleted": deleted})


class PurgeCurrentExecutionFiles(RunnableTask):
    """Delete every file of this execution from internal storage (inputs' and tasks'), typically in
    `finally`. Its later tasks (and the API) can no longer read them; its state files stay.
    """

    outputs_doc = output_docs(
        uris=("array", "The `kestra://` URIs of the deleted files"),
    )

    acts_outside: ClassVar[bool] = False  # changes Lanner's own storage only

    includeChildExecutions: Any = False
    includeStates: Any = False

    # Kestra (1.x) documents both but its task reads them and does nothing with them; Lanner
    # refuses what it would otherwise ignore (false, the default, is what it does).
    refused: ClassVar[dict[str, str]] = dict.fromkeys(
        ("includeChildExecutions", "includeStates"),
        "is not supported by Lanner: only this execution's own files are purged; purge a child's files with a "
        "PurgeCurrentExecutionFiles in the child flow, a state with …state.Delete")

    @field_validator("includeChildExecutions", "includeStates")
    @classmethod
    def _only_false(cls, value: Any, info: ValidationInfo) -> Any:
        if value in (False, "false"):
            return value
        return refuse_when_set(cls.refused, value, info)

    def run(self, ctx: RunContext) -> Output:
        return Output({"uris": storage_of(ctx).purge_execution()})
